#include "tests/support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <string>

namespace facilityd::test {

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Closes with a reset rather than an orderly close, as a crashed peer's
// kernel would.
void reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
}

}  // namespace

tcp_proxy::tcp_proxy(uint16_t target) : target_(target) {
  if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0)
    throw std::runtime_error("tcp_proxy: no pipe");
  listen_on(0);
  thread_ = std::thread{[this] { run(); }};
}

tcp_proxy::~tcp_proxy() {
  stop_ = true;
  wake();
  thread_.join();
  for (auto& p : pairs_) {
    ::close(p.client);
    ::close(p.server);
  }
  if (listener_ >= 0) ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void tcp_proxy::listen_on(uint16_t port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto a = loopback(port);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::listen(listener_, 64) != 0)
    throw std::runtime_error("tcp_proxy: cannot listen on port " +
                             std::to_string(port));
  socklen_t len = sizeof(a);
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
}

void tcp_proxy::cut() {
  set_mode(mode::cut);
}
void tcp_proxy::stall() {
  set_mode(mode::stalled);
}
void tcp_proxy::swallow_replies() {
  set_mode(mode::swallowing);
}
void tcp_proxy::reset_connections() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    reset_ = true;
  }
  set_mode(mode::relay);
}
void tcp_proxy::restore() {
  set_mode(mode::relay);
}

// Returns once the relay thread acts on the new mode.
void tcp_proxy::set_mode(mode m) {
  std::unique_lock<std::mutex> guard{mtx_};
  mode_ = m;
  pending_ = true;
  wake();
  seen_.wait(guard, [this] { return !pending_; });
}

void tcp_proxy::wake() {
  char b = 1;
  (void)!::write(wake_[1], &b, 1);
}

void tcp_proxy::accept_one() {
  int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return;
  ++accepted_;
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = loopback(target_);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(s);
    reset(c);
    return;
  }
  pairs_.push_back({c, s});
}

void tcp_proxy::close_all() {
  for (auto& p : pairs_) {
    reset(p.client);
    reset(p.server);
  }
  pairs_.clear();
}

bool tcp_proxy::pump(int from, int to) {
  std::array<char, 16384> buf{};
  auto n = ::read(from, buf.data(), buf.size());
  if (n <= 0) return false;
  if (to < 0) return true;
  for (ssize_t done = 0; done < n;) {
    auto w = ::write(to, buf.data() + done, static_cast<size_t>(n - done));
    if (w <= 0) return false;
    done += w;
  }
  return true;
}

void tcp_proxy::run() {
  mode current = mode::relay;
  while (!stop_) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
    bool relaying = current == mode::relay || current == mode::swallowing;
    if (relaying) {
      fds.push_back({listener_, POLLIN, 0});
      for (auto& p : pairs_) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.server, POLLIN, 0});
      }
    }
    ::poll(fds.data(), fds.size(), 1000);

    if (fds[0].revents & POLLIN) {
      char drain[64];
      while (::read(wake_[0], drain, sizeof(drain)) > 0) {
      }
      std::lock_guard<std::mutex> guard{mtx_};
      if (reset_) {
        close_all();
        reset_ = false;
      }
      if (mode_ == mode::cut && current != mode::cut) {
        close_all();
        ::close(listener_);  // new connections are refused
        listener_ = -1;
      } else if (mode_ != mode::cut && current == mode::cut) {
        listen_on(port_);
      }
      current = mode_;
      pending_ = false;
      seen_.notify_all();
      continue;
    }
    if (!relaying) continue;

    auto polled = pairs_.size();
    if (fds[1].revents & POLLIN) accept_one();
    std::vector<pair> alive;
    for (size_t i = 0; i < polled; ++i) {
      auto& p = pairs_[i];
      auto from_client = fds[2 + 2 * i].revents;
      auto from_server = fds[3 + 2 * i].revents;
      bool ok = (!from_client || pump(p.client, p.server)) &&
                (!from_server ||
                 pump(p.server, current == mode::swallowing ? -1 : p.client));
      if (ok) {
        alive.push_back(p);
      } else {
        ::close(p.client);
        ::close(p.server);
      }
    }
    // A pair accepted just now was not polled yet.
    for (size_t i = polled; i < pairs_.size(); ++i)
      alive.push_back(pairs_[i]);
    pairs_ = std::move(alive);
  }
}

}  // namespace facilityd::test
