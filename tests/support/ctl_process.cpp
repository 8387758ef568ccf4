#include "tests/support/ctl_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace facilityd::test {

namespace {

using namespace std::chrono;

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child: replaces the process with facilityctl. Never returns.
[[noreturn]] void exec_ctl(const ctl_env& env,
                           const std::vector<std::string>& args) {
  std::vector<std::string> argv{FACILITYCTL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto envp = env.variables();
  auto a = pointers(argv);
  auto e = pointers(envp);
  // The console's home is its working folder too, so that defaults such
  // as var/admin-token never find a file of the developer's.
  if (::chdir(env.home().c_str()) != 0) ::_exit(126);
  ::execve(a[0], a.data(), e.data());
  ::_exit(127);
}

int exit_status(int raw) {
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

// Reads what is there on `fd` into `into`; false at the end of input.
bool drain(int fd, std::string& into) {
  char buf[4096];
  auto n = ::read(fd, buf, sizeof(buf));
  if (n > 0) into.append(buf, static_cast<size_t>(n));
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
}

}  // namespace

ctl_env::ctl_env() {
  char tmpl[] = "/tmp/facilityctl-home-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("cannot create a HOME");
  home_ = tmpl;
}

ctl_env::~ctl_env() {
  std::error_code ec;
  std::filesystem::remove_all(home_, ec);
}

std::vector<std::string> ctl_env::variables() const {
  std::vector<std::string> out{"HOME=" + home_, "TZ=UTC", "TERM=xterm",
                               "USER=tester", "LANG=C.UTF-8"};
  // PATH, and the sanitizers' settings when the tests run under them
  // (scripts/test-sanitizers.sh), come from the test's own environment.
  for (const char* name :
       {"PATH", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name))
      out.push_back(std::string{name} + "=" + value);
  }
  // A variable in `extra` replaces one set above.
  for (const auto& e : extra) {
    auto name = e.substr(0, e.find('=') + 1);
    std::erase_if(out,
                  [&](const std::string& v) { return v.rfind(name, 0) == 0; });
    out.push_back(e);
  }
  return out;
}

std::vector<std::string> ctl_options(const server_process& server) {
  return {"--port=" + std::to_string(server.admin_port()),
          "--token-file=" + server.admin_token_file(), "--user=tester"};
}

ctl_result run_ctl_raw(const ctl_env& env, const std::vector<std::string>& args,
                       const std::string& input, milliseconds timeout) {
  // A child that exits before reading its input must not take the test
  // down with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
      ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  int pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    exec_ctl(env, args);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (!input.empty()) {
    auto n = ::write(in[1], input.data(), input.size());
    (void)n;  // a child that exits early leaves input unread: fine
  }
  ::close(in[1]);

  ctl_result r;
  auto deadline = steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && steady_clock::now() < deadline) {
    pollfd p[2] = {{out_open ? out[0] : -1, POLLIN, 0},
                   {err_open ? err[0] : -1, POLLIN, 0}};
    if (::poll(p, 2, 100) <= 0) continue;
    if (p[0].revents) out_open = drain(out[0], r.out);
    if (p[1].revents) err_open = drain(err[0], r.err);
  }
  ::close(out[0]);
  ::close(err[0]);
  if (out_open || err_open) ::kill(pid, SIGKILL);
  int raw = 0;
  ::waitpid(pid, &raw, 0);
  r.status = exit_status(raw);
  return r;
}

ctl_result run_ctl(const ctl_env& env, const server_process& server,
                   const std::vector<std::string>& args) {
  auto all = ctl_options(server);
  all.insert(all.end(), args.begin(), args.end());
  return run_ctl_raw(env, all);
}

// -- ctl_terminal
// ----------------------------------------------------------------

ctl_terminal::ctl_terminal(const ctl_env& env,
                           const std::vector<std::string>& args) {
  winsize size{40, 100, 0, 0};
  pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
  if (pid_ < 0) throw std::runtime_error("forkpty failed");
  if (pid_ == 0) exec_ctl(env, args);
  ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
}

ctl_terminal::~ctl_terminal() {
  if (pid_ > 0) wait_exit(milliseconds{0});
  // Still running: it had its chance.
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int raw = 0;
    ::waitpid(pid_, &raw, 0);
  }
  if (master_ >= 0) ::close(master_);
}

void ctl_terminal::type(const std::string& keys) {
  // One key at a time, as fingers do: a line editor may read a burst of
  // keys differently from single ones.
  for (char c : keys) {
    if (::write(master_, &c, 1) != 1)
      throw std::runtime_error("the terminal is gone");
    std::this_thread::sleep_for(milliseconds{5});
  }
}

void ctl_terminal::read_for(milliseconds timeout) {
  pollfd p{master_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
  char buf[4096];
  auto n = ::read(master_, buf, sizeof(buf));
  if (n > 0) output_.append(buf, static_cast<size_t>(n));
}

bool ctl_terminal::wait_for(const std::string& text, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (output_.find(text) == std::string::npos) {
    if (steady_clock::now() >= deadline) return false;
    read_for(milliseconds{50});
  }
  return true;
}

size_t ctl_terminal::count(const std::string& text, milliseconds settle) {
  auto deadline = steady_clock::now() + settle;
  while (steady_clock::now() < deadline)
    read_for(milliseconds{20});
  size_t n = 0;
  for (auto at = output_.find(text); at != std::string::npos;
       at = output_.find(text, at + text.size()))
    ++n;
  return n;
}

std::optional<int> ctl_terminal::wait_exit(milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    read_for(milliseconds{0});
    int raw = 0;
    if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
      pid_ = -1;
      return exit_status(raw);
    }
    if (steady_clock::now() >= deadline) return std::nullopt;
    read_for(milliseconds{20});
  }
}

}  // namespace facilityd::test
