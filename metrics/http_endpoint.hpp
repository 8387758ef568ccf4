#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "metrics/metrics.hpp"
#include "persistence/db_health.hpp"

class CivetServer;

namespace facilityd {

struct http_endpoint_options {
  /// An IPv4 address; the endpoint tells anyone who reaches it how busy
  /// the server is, so keep it on the loopback address or behind a
  /// firewall.
  std::string host = "127.0.0.1";
  /// 0 lets the system pick a port (tests); port() tells which.
  uint16_t port = 7402;
};

/// The HTTP endpoint for monitoring, on threads of its own (civetweb's):
///
///  - GET /metrics: every metric of `metrics` in Prometheus' text format.
///  - GET /health: 200 and {"status":"ok","database":"reachable",...}
///    when `health` reaches PostgreSQL, else 503 and
///    {"status":"unavailable","database":"unreachable","error":"..."}.
///  - anything else: 404.
///
/// Both run the health check (cached for a moment by `health`), so that
/// facilityd_db_up is current in every scrape. Two threads serve requests;
/// a client that does not finish its request within a few seconds is
/// dropped, so slow clients cannot hold the endpoint.
class http_endpoint {
 public:
  using health_check = std::function<health_report()>;

  http_endpoint(http_endpoint_options opts,
                std::shared_ptr<server_metrics> metrics, health_check health);
  ~http_endpoint();
  http_endpoint(const http_endpoint&) = delete;
  http_endpoint& operator=(const http_endpoint&) = delete;

  /// Binds and starts serving. Throws std::runtime_error, saying why,
  /// when the address cannot be bound.
  void start();

  /// The port it listens on, once started.
  uint16_t port() const { return port_; }

  /// Stops serving; waits for requests in progress. Idempotent.
  void stop();

 private:
  class metrics_handler;
  class health_handler;

  http_endpoint_options opts_;
  std::shared_ptr<server_metrics> metrics_;
  health_check health_;
  std::unique_ptr<metrics_handler> metrics_handler_;
  std::unique_ptr<health_handler> health_handler_;
  std::unique_ptr<CivetServer> server_;
  uint16_t port_ = 0;
};

/// The JSON body /health answers with for `r`.
std::string health_json(const health_report& r);

}  // namespace facilityd
