#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace facilityd::test {

/// A TCP relay on 127.0.0.1 in front of another port (PostgreSQL's, in the
/// tests), which a test can break the way a database or its network
/// breaks, without touching the database that other tests share:
///
/// - cut(): every relayed connection is reset and new ones are refused, as
///   when PostgreSQL stops or its host goes away;
/// - stall(): connections stay open but nothing passes in either direction,
///   as when the database hangs or the network drops packets;
/// - swallow_replies(): what the client sends still reaches the server,
///   but the server's answers are thrown away, as when a connection dies
///   after PostgreSQL received a request and before its reply got back;
/// - reset_connections(): every relayed connection is reset and relaying
///   goes on for new ones, as when a network path drops its connections;
/// - restore(): back to relaying. Connections reset by cut() stay gone;
///   those stalled carry on.
///
/// One thread relays every connection. All members are thread-safe.
class tcp_proxy {
 public:
  /// Starts relaying from a port the system picks to 127.0.0.1:`target`.
  explicit tcp_proxy(uint16_t target);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  uint16_t port() const { return port_; }

  void cut();
  void stall();
  void swallow_replies();
  void reset_connections();
  void restore();

  /// Connections accepted since the start, cut ones included.
  size_t accepted() const { return accepted_.load(); }

 private:
  enum class mode { relay, swallowing, stalled, cut };
  struct pair {
    int client = -1;
    int server = -1;
  };

  void run();
  void listen_on(uint16_t port);
  void accept_one();
  void close_all();
  /// Moves what is readable on `from` to `to`; false when either closed.
  /// With `to` of -1, reads and drops what is readable.
  static bool pump(int from, int to);
  void set_mode(mode m);
  void wake();

  uint16_t target_;
  uint16_t port_ = 0;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<size_t> accepted_{0};
  std::atomic<bool> stop_{false};
  std::mutex mtx_;  // guards mode_ and pending_
  std::condition_variable seen_;
  mode mode_ = mode::relay;
  bool pending_ = false;     // a mode change the relay thread has not seen
  bool reset_ = false;       // with pending_: reset every connection first
  std::vector<pair> pairs_;  // the relay thread's alone
  std::thread thread_;
};

}  // namespace facilityd::test
