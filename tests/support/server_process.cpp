#include "tests/support/server_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace facilityd::test {

namespace {

using namespace std::chrono;

std::string temp_log_path() {
  char tmpl[] = "/tmp/facilityd-test-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("cannot create a log file");
  ::close(fd);
  return tmpl;
}

// The value of "--name=value" in `args`, if it is there.
std::optional<std::string> arg_value(const std::vector<std::string>& args,
                                     const std::string& name) {
  for (const auto& a : args)
    if (a.rfind(name + "=", 0) == 0) return a.substr(name.size() + 1);
  return std::nullopt;
}

// The port that `component` logged it listens on, or 0.
uint16_t logged_port(const std::string& log, const std::string& component) {
  // "listening on 127.0.0.1:7400", perhaps followed by " (TLS only)".
  std::smatch m;
  if (!std::regex_search(
          log, m,
          std::regex{component + ": listening on 127\\.0\\.0\\.1:(\\d+)"}))
    return 0;
  return static_cast<uint16_t>(std::stoi(m[1]));
}

}  // namespace

server_process::server_process(const test_db& db,
                               std::vector<std::string> extra_args) {
  log_path_ = temp_log_path();
  std::vector<std::string> args{
      FACILITYD_BINARY, "--gateway.host=127.0.0.1", "--gateway.port=0",
      "--server.name=facilityd-test", "--db.startup-wait=10s"};
  if (!arg_value(extra_args, "--db.dsn"))
    args.push_back("--db.dsn=" + db.dsn());
  if (has_admin_endpoint()) {
    // A port of its own, so that servers of parallel tests never meet on
    // the default one.
    if (!arg_value(extra_args, "--admin.port"))
      args.push_back("--admin.port=0");
    if (auto file = arg_value(extra_args, "--admin.token-file")) {
      admin_token_file_ = *file;
    } else {
      char tmpl[] = "/tmp/facilityd-admin-XXXXXX";
      if (!::mkdtemp(tmpl))
        throw std::runtime_error("cannot create a token folder");
      admin_dir_ = tmpl;
      admin_token_file_ = admin_dir_ + "/admin-token";
      args.push_back("--admin.token-file=" + admin_token_file_);
    }
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  try {
    start(args, extra_args);
  } catch (...) {
    // No destructor runs for a constructor that throws.
    if (running()) kill9();
    ::unlink(log_path_.c_str());
    if (!admin_dir_.empty()) {
      ::unlink(admin_token_file_.c_str());
      ::rmdir(admin_dir_.c_str());
    }
    throw;
  }
}

void server_process::start(const std::vector<std::string>& args,
                           const std::vector<std::string>& extra_args) {
  if (auto given = arg_value(extra_args, "--metrics.port")) {
    metrics_port_ = static_cast<uint16_t>(std::stoi(*given));
    if (!launch(args, false))
      throw std::runtime_error("facilityd did not start:\n" + log());
    return;
  }
  for (int attempt = 0;; ++attempt) {
    metrics_port_ = free_port();
    auto with_port = args;
    with_port.push_back("--metrics.port=" + std::to_string(metrics_port_));
    if (launch(with_port, true)) return;
    if (attempt == 4)
      throw std::runtime_error("no free port for the metrics endpoint:\n" +
                               log());
  }
}

bool server_process::launch(const std::vector<std::string>& launch_args,
                            bool picked_metrics_port) {
  auto args = launch_args;
  if (::truncate(log_path_.c_str(), 0) != 0)
    throw std::runtime_error("cannot reset the log file");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = ::open(log_path_.c_str(), O_WRONLY | O_APPEND);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (!wait_for_log("gateway: listening on", seconds{20}))
    throw std::runtime_error("facilityd did not start:\n" + log());
  port_ = logged_port(log(), "gateway");
  if (port_ == 0) throw std::runtime_error("no port in the log:\n" + log());
  if (has_admin_endpoint()) {
    if (!wait_for_log("admin: listening on", seconds{20}))
      throw std::runtime_error("no admin endpoint in the log:\n" + log());
    admin_port_ = logged_port(log(), "admin");
  }
  if (metrics_port_ == 0) return true;
  if (wait_for_log("metrics: listening on", seconds{20})) return true;
  if (picked_metrics_port && !running() &&
      log().find("(metrics)") != std::string::npos)
    return false;
  throw std::runtime_error("no metrics endpoint in the log:\n" + log());
}

server_process::~server_process() {
  if (pid_ > 0 && running() && !stop(SIGTERM, seconds{20})) kill9();
  ::unlink(log_path_.c_str());
  if (!admin_dir_.empty()) {
    ::unlink(admin_token_file_.c_str());
    ::rmdir(admin_dir_.c_str());
  }
}

bool server_process::has_admin_endpoint() {
  static const bool has = [] {
    std::string cmd = std::string{FACILITYD_BINARY} + " --help 2>&1";
    FILE* out = ::popen(cmd.c_str(), "r");
    if (!out) return false;
    std::string text;
    char buf[4096];
    while (auto n = ::fread(buf, 1, sizeof(buf), out))
      text.append(buf, n);
    ::pclose(out);
    return text.find("admin.port") != std::string::npos;
  }();
  return has;
}

std::string server_process::admin_token() const {
  std::ifstream in{admin_token_file_};
  std::string token;
  in >> token;
  return token;
}

std::optional<int> server_process::stop(int sig, milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, sig);
  auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(milliseconds{20});
  }
  return std::nullopt;
}

void server_process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool server_process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string server_process::log() const {
  std::ifstream in{log_path_};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool server_process::wait_for_log(const std::string& text,
                                  milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (log().find(text) != std::string::npos) return true;
    if (!running()) return log().find(text) != std::string::npos;
    std::this_thread::sleep_for(milliseconds{20});
  }
  return false;
}

run_result run_facilityd(const std::vector<std::string>& args) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("no pipe");
  std::vector<std::string> argv_text{FACILITYD_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  int pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : argv_text)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  run_result r;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof(buf))) > 0;)
    r.output.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// -- gateway_client
// -------------------------------------------------------------

namespace {

// Waits for `events` on `fd` until `deadline`; false when the time ran out.
bool wait_for(int fd, short events, steady_clock::time_point deadline) {
  auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
}

// OpenSSL's reason for the last failure, and the verification result when
// that is what failed.
std::string tls_failure(ssl_st* tls) {
  std::string out;
  if (auto code = ::ERR_get_error()) {
    char text[256];
    ::ERR_error_string_n(code, text, sizeof text);
    out = text;
  }
  ::ERR_clear_error();
  auto verdict = ::SSL_get_verify_result(tls);
  if (verdict != X509_V_OK)
    out += std::string{" ("} + ::X509_verify_cert_error_string(verdict) + ")";
  return out.empty() ? "connection closed" : out;
}

}  // namespace

gateway_client::gateway_client(uint16_t port) {
  connect_to(port);
}

gateway_client::gateway_client(uint16_t port, const tls_client_options& tls,
                               milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  connect_to(port);
  try {
    handshake(tls, deadline);
  } catch (...) {
    close();
    throw;
  }
}

void gateway_client::handshake(const tls_client_options& tls,
                               steady_clock::time_point deadline) {
  tls_ctx_ = ::SSL_CTX_new(::TLS_client_method());
  if (!tls_ctx_) throw std::runtime_error("SSL_CTX_new failed");
  ::SSL_CTX_set_verify(tls_ctx_, SSL_VERIFY_PEER, nullptr);
  if (::SSL_CTX_load_verify_locations(tls_ctx_, tls.ca_file.c_str(), nullptr) !=
      1)
    throw std::runtime_error("cannot load CA file " + tls.ca_file);
  tls_ = ::SSL_new(tls_ctx_);
  ::SSL_set_fd(tls_, fd_);
  ::SSL_set_tlsext_host_name(tls_, tls.server_name.c_str());
  ::SSL_set1_host(tls_, tls.server_name.c_str());
  ::SSL_set_mode(tls_, SSL_MODE_ENABLE_PARTIAL_WRITE);
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  for (;;) {
    int rc = ::SSL_connect(tls_);
    if (rc == 1) return;
    auto e = ::SSL_get_error(tls_, rc);
    short events = e == SSL_ERROR_WANT_READ    ? POLLIN
                   : e == SSL_ERROR_WANT_WRITE ? POLLOUT
                                               : 0;
    if (events == 0)
      throw std::runtime_error("TLS handshake failed: " + tls_failure(tls_));
    if (!wait_for(fd_, events, deadline))
      throw std::runtime_error("TLS handshake timed out");
  }
}

void gateway_client::connect_to(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw std::runtime_error("socket: " + std::string{strerror(errno)});
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    throw std::runtime_error("connect: " + std::string{strerror(errno)});
}

gateway_client::~gateway_client() {
  close();
}

void gateway_client::close() {
  if (tls_) ::SSL_free(tls_);
  if (tls_ctx_) ::SSL_CTX_free(tls_ctx_);
  tls_ = nullptr;
  tls_ctx_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void gateway_client::abort() {
  if (fd_ < 0) return;
  linger reset{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close();
}

void gateway_client::finish_sending() {
  if (tls_)
    ::SSL_shutdown(tls_);
  else if (fd_ >= 0)
    ::shutdown(fd_, SHUT_WR);
}

void gateway_client::send(const std::string& bytes) {
  if (tls_) {
    send_tls(bytes, steady_clock::now() + seconds{30});
    return;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    auto n =
        ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server closed; reads will tell
    done += static_cast<size_t>(n);
  }
}

bool gateway_client::send_within(const std::string& bytes,
                                 milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  if (tls_) return send_tls(bytes, deadline);
  size_t done = 0;
  while (done < bytes.size()) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (fd_ < 0 || left.count() <= 0) return false;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    auto n = ::send(fd_, bytes.data() + done, bytes.size() - done,
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool gateway_client::send_tls(const std::string& bytes,
                              steady_clock::time_point deadline) {
  size_t done = 0;
  while (done < bytes.size()) {
    if (!tls_) return false;
    int n = ::SSL_write(tls_, bytes.data() + done,
                        static_cast<int>(bytes.size() - done));
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    auto e = ::SSL_get_error(tls_, n);
    short events = e == SSL_ERROR_WANT_READ    ? POLLIN
                   : e == SSL_ERROR_WANT_WRITE ? POLLOUT
                                               : 0;
    ::ERR_clear_error();
    if (events == 0 || !wait_for(fd_, events, deadline)) return false;
  }
  return true;
}

// Reads what arrives within `timeout` into pending_; sets eof_ when the
// server closed the connection.
void gateway_client::receive(milliseconds timeout) {
  if (tls_) {
    receive_tls(timeout);
    return;
  }
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
  char buf[4096];
  auto n = ::recv(fd_, buf, sizeof(buf), 0);
  if (n <= 0)
    eof_ = true;
  else
    pending_.append(buf, static_cast<size_t>(n));
}

// A close without close_notify counts as a close too: the tests look at
// what the server said, not at how it hung up.
void gateway_client::receive_tls(milliseconds timeout) {
  if (::SSL_pending(tls_) == 0 &&
      !wait_for(fd_, POLLIN, steady_clock::now() + timeout))
    return;
  char buf[4096];
  int n = ::SSL_read(tls_, buf, sizeof(buf));
  if (n > 0) {
    pending_.append(buf, static_cast<size_t>(n));
    return;
  }
  auto e = ::SSL_get_error(tls_, n);
  ::ERR_clear_error();
  if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) eof_ = true;
}

std::optional<std::string> gateway_client::line(milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    auto nl = pending_.find('\n');
    if (nl != std::string::npos) {
      auto out = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return out;
    }
    if (eof_ || fd_ < 0) return std::nullopt;
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    receive(left);
  }
}

long gateway_client::receive(std::string& out, milliseconds timeout) {
  if (!pending_.empty()) {
    out += std::exchange(pending_, {});
    return static_cast<long>(out.size());
  }
  if (eof_ || fd_ < 0) return 0;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
  char buf[4096];
  auto n = ::recv(fd_, buf, sizeof(buf), 0);
  if (n <= 0) {
    eof_ = true;
    return 0;
  }
  out.append(buf, static_cast<size_t>(n));
  return n;
}

bool gateway_client::closed_by_server(milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (!eof_) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return false;
    if (!line(left)) {
      if (!eof_) return false;
    }
  }
  return true;
}

std::string gateway_client::login(const std::string& gateway,
                                  const std::string& token) {
  send("HELLO " + gateway + " " + token + "\n");
  auto welcome = line();
  if (!welcome || welcome->rfind("WELCOME 1 ", 0) != 0)
    throw std::runtime_error("login failed: " + welcome.value_or("(nothing)"));
  return *welcome;
}

// -- HTTP
// -----------------------------------------------------------------------

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error("socket: " + std::string{strerror(errno)});
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port: " + std::string{strerror(errno)});
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

http_response http_raw(uint16_t port, const std::string& request,
                       milliseconds timeout) {
  http_response out;
  auto deadline = steady_clock::now() + timeout;
  gateway_client conn{port};
  if (!conn.send_within(request, timeout)) return out;
  std::string raw;
  for (;;) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return out;
    auto n = conn.receive(raw, left);
    if (n < 0) return out;
    if (n == 0) break;
  }
  auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return out;
  out.status = std::stoi(raw.substr(9, 3));
  out.headers = raw.substr(0, end);
  out.body = raw.substr(end + 4);
  return out;
}

http_response http_get(uint16_t port, const std::string& path) {
  return http_raw(port, "GET " + path +
                            " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Connection: close\r\n\r\n");
}

std::optional<double> metric(const std::string& text, const std::string& key) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ' ')
      return std::stod(line.substr(key.size() + 1));
  return std::nullopt;
}

// -- expectations
// ---------------------------------------------------------------

std::string ack_in_db(test_db& db, const std::string& gateway, uint64_t seq) {
  return db.scalar(
      "SELECT 'ACK ' || s.gateway_seq || ' ' || s.outcome"
      " || coalesce(' visit=' || s.visit_id, '')"
      " || CASE WHEN s.outcome = 'checked_out_closed'"
      "    THEN ' closed=' || s.closed_count ELSE '' END"
      " || CASE WHEN s.outcome = 'denied_unknown_reader' THEN ''"
      "    ELSE coalesce(' name=' || replace(p.name, ' ', '%20'), '') END"
      " FROM scans s LEFT JOIN participants p ON p.id = s.participant_id"
      " WHERE s.gateway_id = '" +
      gateway + "' AND s.gateway_seq = " + std::to_string(seq));
}

}  // namespace facilityd::test
