#include "harness/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace facility_sim {

namespace {

int status_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(std::vector<char*>& argv, const char* output,
                             const char* dir) {
  int out = ::open(output, O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (out >= 0) {
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
  }
  int in = ::open("/dev/null", O_RDONLY);
  if (in >= 0) ::dup2(in, STDIN_FILENO);
  if (::chdir(dir) != 0) ::_exit(126);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

}  // namespace

child_process::~child_process() {
  kill9();
}

void child_process::spawn(const std::vector<std::string>& argv,
                          const std::string& output_path,
                          const std::string& dir) {
  std::vector<std::string> copy = argv;
  std::vector<char*> raw;
  for (auto& a : copy)
    raw.push_back(a.data());
  raw.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) exec_child(raw, output_path.c_str(), dir.c_str());
}

std::optional<int> child_process::poll() {
  if (pid_ <= 0) return {};
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) != pid_) return {};
  pid_ = -1;
  return status_code(status);
}

void child_process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> child_process::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    if (auto status = poll()) return status;
    if (std::chrono::steady_clock::now() >= deadline) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return {};
}

std::optional<int> child_process::kill9() {
  if (pid_ <= 0) return {};
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status_code(status);
}

std::string file_tail(const std::string& path, size_t lines) {
  std::ifstream in{path};
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::ostringstream out;
  for (auto& l : last)
    out << "  | " << l << "\n";
  return out.str();
}

}  // namespace facility_sim
