#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/actor_system.hpp>

#include "actors/messages.hpp"
#include "metrics/metrics.hpp"
#include "net/asio.hpp"
#include "util/scan_stats.hpp"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace facilityd {

struct gateway_options {
  std::string host = "0.0.0.0";
  uint16_t port = 7400;
  std::string server_name = "facilityd";
  /// Connections open at once, authenticated or not; more are refused.
  size_t max_connections = 1024;
  /// Scans of one connection awaiting their answer; more get "busy".
  size_t max_inflight = 64;
  /// Malformed lines in a row after which the connection is closed.
  size_t max_malformed = 10;
  /// Failed logins from one address within a minute after which its
  /// logins are refused until the minute is over.
  size_t max_login_failures = 20;
  /// Bytes of answers queued for a client that does not read them; past
  /// this the connection is closed.
  size_t max_write_queue = 256 * 1024;
  /// Set: the listener speaks TLS only, with this context (see
  /// net/tls.hpp); the handshake counts against hello_timeout. Null:
  /// plain TCP.
  std::shared_ptr<boost::asio::ssl::context> tls;
  /// Covers the TLS handshake too, when there is one.
  std::chrono::milliseconds hello_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  /// How long a connection waits for the actors to answer one scan.
  std::chrono::milliseconds scan_timeout{30'000};
};

/// Who may connect: gateway id to the hash of its token (net/token.hpp).
/// Thread-safe; replace() swaps in a new table at once.
class gateway_credentials {
 public:
  using table = std::unordered_map<std::string, std::string>;

  explicit gateway_credentials(table t = {});

  /// Whether `token` is the token of gateway `id`. Takes about the same
  /// time for unknown ids as for known ones.
  bool check(const std::string& id, std::string_view token) const;

  bool knows(const std::string& id) const;

  void replace(table t);

 private:
  mutable std::mutex mtx_;
  std::shared_ptr<const table> table_;
};

class gateway_session;

/// The TCP front for badge-reader gateways: accepts connections, speaks
/// protocol v1 (docs/protocol.md) on each, and hands scans to the registry
/// actor. Each connection runs on a strand of `io`; nothing here blocks on
/// an actor, and the actors never touch a socket: a small actor per
/// connection sends each scan and posts the answer back to the strand.
class gateway_server {
 public:
  /// `metrics`, if given, hears of every connection and every scan's
  /// answer.
  gateway_server(boost::asio::io_context& io, caf::actor_system& sys,
                 registry_actor registry,
                 std::shared_ptr<gateway_credentials> credentials,
                 gateway_options opts,
                 std::shared_ptr<server_metrics> metrics = nullptr);
  ~gateway_server();

  /// Binds and starts accepting. Throws boost::system::system_error when
  /// the address cannot be bound.
  void start();

  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// Stops accepting. Open connections answer new scans with
  /// "shutting_down", send the answers of the scans in flight and close;
  /// those still open after `grace` are closed anyway. Calls `done` (on an
  /// io thread) once no connection is left.
  void shutdown(std::chrono::milliseconds grace, std::function<void()> done);

  size_t connections() const { return sessions_.load(); }

  // -- for sessions ----------------------------------------------------------

  /// Makes `s` the connection of gateway `id`, closing the one it replaces.
  void claim(const std::string& id, const std::shared_ptr<gateway_session>& s);
  void release(const std::string& id, const gateway_session* s);
  void session_closed();

  const gateway_options& options() const { return opts_; }
  const gateway_credentials& credentials() const { return *credentials_; }
  caf::actor_system& system() { return sys_; }
  const registry_actor& registry() const { return registry_; }
  bool stopping() const { return stopping_.load(); }
  const std::shared_ptr<scan_stats>& stats() const { return stats_; }
  /// Null when the server runs without metrics.
  server_metrics* metrics() const { return metrics_.get(); }

  /// Whether logins from `address` are refused for now; thread-safe.
  bool login_blocked(const std::string& address);
  /// Counts a failed login from `address`; thread-safe.
  void login_failed(const std::string& address);

  /// Closes the connection of gateway `id`, if it has one. Thread-safe.
  void disconnect(const std::string& id);

 private:
  void accept();
  void refuse_one_without_descriptors();
  void close_all();

  boost::asio::io_context& io_;
  caf::actor_system& sys_;
  registry_actor registry_;
  std::shared_ptr<gateway_credentials> credentials_;
  gateway_options opts_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_timer_;
  boost::asio::steady_timer grace_timer_;
  std::atomic<size_t> sessions_{0};
  std::shared_ptr<scan_stats> stats_ = std::make_shared<scan_stats>();
  std::shared_ptr<server_metrics> metrics_;
  // Held open so that, when the process runs out of file descriptors, one
  // can be freed to accept a waiting connection and tell it so.
  int spare_fd_ = -1;
  std::atomic<bool> stopping_{false};

  std::mutex mtx_;  // guards what follows
  std::unordered_map<std::string, std::weak_ptr<gateway_session>> by_gateway_;
  std::vector<std::weak_ptr<gateway_session>> all_;
  std::function<void()> on_drained_;
  struct login_failures {
    std::chrono::steady_clock::time_point since;
    size_t count = 0;
  };
  std::unordered_map<std::string, login_failures> failed_logins_;
};

}  // namespace facilityd
