#include "ctl/admin_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ctl/settings.hpp"

namespace facilityd::ctl {

namespace {

using namespace std::chrono;
using nlohmann::json;

// The protocol allows 1 MiB per line; a little more leaves room for a
// server that counts differently, and still stops a runaway stream.
constexpr size_t max_line = 2 * 1024 * 1024;

std::string reason_for(int err) {
  switch (err) {
    case ECONNREFUSED:
      return "connection refused";
    case ETIMEDOUT:
      return "timed out";
    default: {
      std::string text = std::strerror(err);
      if (!text.empty()) text[0] = static_cast<char>(std::tolower(text[0]));
      return text;
    }
  }
}

std::string unreachable(const std::string& endpoint, const std::string& why) {
  return "cannot reach facilityd at " + endpoint + " (" + why +
         "). Is it running? Start it with scripts/run.sh";
}

int milliseconds_left(steady_clock::time_point deadline) {
  auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Connects one socket to `ai` before `deadline`; returns the socket, or -1
// with the reason in `err`.
int connect_one(const addrinfo& ai, steady_clock::time_point deadline,
                int& err) {
  int fd =
      ::socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0 && errno != EINPROGRESS) {
    err = errno;
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int ready = 0;
  do {
    ready = ::poll(&p, 1, milliseconds_left(deadline));
  } while (ready < 0 && errno == EINTR);
  socklen_t len = sizeof(err);
  err = 0;
  if (ready == 0)
    err = ETIMEDOUT;
  else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, flags);
  return fd;
}

}  // namespace

admin_client::admin_client(const std::string& host, uint16_t port,
                           milliseconds timeout) {
  endpoint_ = host.find(':') != std::string::npos
                  ? "[" + host + "]:" + std::to_string(port)
                  : host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      rc != 0)
    throw connection_error("cannot reach facilityd at " + endpoint_ +
                           ": cannot resolve '" + host +
                           "': " + ::gai_strerror(rc));

  // Tries each address the name has until one answers.
  auto deadline = steady_clock::now() + timeout;
  int err = ECONNREFUSED;
  for (auto* ai = found; ai && fd_ < 0; ai = ai->ai_next)
    fd_ = connect_one(*ai, deadline, err);
  ::freeaddrinfo(found);
  if (fd_ < 0) throw connection_error(unreachable(endpoint_, reason_for(err)));
}

admin_client::~admin_client() {
  if (fd_ >= 0) ::close(fd_);
}

json admin_client::login(const std::string& token, const std::string& user) {
  json id = next_id_++;
  send_line(json{{"id", id}, {"cmd", "auth"}, {"token", token}, {"user", user}}
                .dump());
  auto reply = read_answer(id);
  if (reply.value("ok", false)) return reply.value("result", json::object());

  auto error = reply.value("error", json::object());
  auto code = error.value("code", std::string{"auth_failed"});
  auto message = error.value("message", std::string{});
  throw connection_error("facilityd at " + endpoint_ +
                         " refused the admin token (" + code +
                         (message.empty() ? "" : ": " + message) +
                         "). The token file must match the server's"
                         " admin.token-file");
}

answer admin_client::call(const std::string& cmd, const json& args) {
  json id = next_id_++;
  send_line(json{{"id", id}, {"cmd", cmd}, {"args", args}}.dump());
  auto reply = read_answer(id);

  answer a;
  a.ok = reply.value("ok", false);
  if (a.ok) {
    a.result = reply.value("result", json::object());
    return a;
  }
  a.error = reply.value("error", json::object());
  if (!a.error.is_object()) a.error = json::object();
  a.code = a.error.value("code", std::string{"internal"});
  a.message = a.error.value("message", std::string{});
  return a;
}

admin_client::wait_status admin_client::next_message(
    json& out, milliseconds timeout, const sigset_t* wait_mask) {
  std::string line;
  auto status = read_line(line, timeout, wait_mask);
  if (status != wait_status::line) return status;
  out = json::parse(line, nullptr, false);
  if (out.is_discarded() || !out.is_object())
    throw connection_error("facilityd at " + endpoint_ +
                           " sent a line that is not a JSON object");
  return status;
}

bool admin_client::alive() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return true;
  if (p.revents & (POLLERR | POLLHUP)) return false;
  // Readable with nothing asked: either the end of the stream or bytes
  // that a later read will judge.
  char c;
  return ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

void admin_client::send_line(const std::string& line) {
  auto bytes = line + "\n";
  size_t done = 0;
  while (done < bytes.size()) {
    auto n =
        ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw connection_error("lost the connection to facilityd at " +
                             endpoint_ + " (" + reason_for(errno) + ")");
    done += static_cast<size_t>(n);
  }
}

admin_client::wait_status admin_client::read_line(std::string& line,
                                                  milliseconds timeout,
                                                  const sigset_t* wait_mask) {
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return wait_status::line;
    }
    if (pending_.size() > max_line)
      throw connection_error("facilityd at " + endpoint_ +
                             " sent a line longer than the protocol allows");

    auto left = milliseconds_left(deadline);
    if (left == 0) return wait_status::timeout;
    pollfd p{fd_, POLLIN, 0};
    timespec ts{left / 1000, (left % 1000) * 1000000L};
    int ready = ::ppoll(&p, 1, &ts, wait_mask);
    if (ready < 0 && errno == EINTR) {
      if (wait_mask) return wait_status::interrupted;
      continue;
    }
    if (ready <= 0) continue;

    char buf[16384];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return wait_status::closed;
    pending_.append(buf, static_cast<size_t>(n));
  }
}

json admin_client::read_answer(const json& id) {
  json reply;
  auto status = next_message(reply, answer_timeout_);
  if (status == wait_status::timeout)
    throw connection_error(
        "facilityd at " + endpoint_ + " did not answer within " +
        std::to_string(answer_timeout_.count() / 1000) + " s");
  if (status != wait_status::line)
    throw connection_error("facilityd at " + endpoint_ +
                           " closed the connection without answering");
  if (reply.value("id", json{}) != id)
    throw connection_error("facilityd at " + endpoint_ +
                           " answered a request this console did not send");
  return reply;
}

}  // namespace facilityd::ctl
