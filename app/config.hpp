#pragma once

#include <cstddef>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include "actors/registry.hpp"
#include "metrics/http_endpoint.hpp"
#include "net/gateway_server.hpp"
#include "persistence/store.hpp"
#include "util/log.hpp"

namespace facilityd {

/// facilityd's settings: CAF's own configuration mechanism, so each one can
/// come from the INI file (under its [section]) or the command line
/// (--section.key=value), the command line winning. --help lists them.
class facilityd_config : public caf::actor_system_config {
 public:
  facilityd_config();

  /// Checks what CAF's parser cannot: ranges and relations between values.
  /// Returns an empty string when everything is fine, else the problem.
  std::string validate() const;

  /// Checks the INI file at `path` for what CAF's parser lets pass without
  /// a word: keys that are no option and values of the wrong type, which it
  /// ignores. Empty when the file is fine or does not exist, else the
  /// problem, naming the file, the section and the key.
  std::string check_file(const std::string& path) const;

  pg_store_options store_options() const;
  gateway_options gateway() const;
  server_options actor_options() const;
  log_level level() const;
  /// The metrics endpoint's address; port 0 here means "off".
  http_endpoint_options metrics_endpoint() const;

  // [db]
  std::string dsn;
  size_t pool_size = 4;
  size_t queue_limit = 4096;
  caf::timespan connect_timeout = std::chrono::seconds{5};
  caf::timespan statement_timeout = std::chrono::seconds{5};
  caf::timespan request_timeout = std::chrono::seconds{10};
  caf::timespan startup_wait = std::chrono::seconds{30};

  // [admin]
  std::string admin_host = "127.0.0.1";
  uint16_t admin_port = 7401;
  std::string admin_token_file = "admin-token";

  // [metrics]
  std::string metrics_host = "127.0.0.1";
  uint16_t metrics_port = 7402;

  // [facility]
  size_t facility_queue_limit = 1000;

  // [log]
  std::string log_level_name = "info";

  // [gateway]
  std::string gateway_host = "0.0.0.0";
  uint16_t gateway_port = 7400;
  size_t io_threads = 2;
  size_t max_connections = 1024;
  size_t max_inflight = 64;
  size_t max_malformed = 10;
  size_t max_login_failures = 20;
  size_t max_write_queue = 256 * 1024;
  caf::timespan hello_timeout = std::chrono::seconds{10};
  caf::timespan idle_timeout = std::chrono::seconds{60};
  caf::timespan scan_timeout = std::chrono::seconds{60};
  bool tls = false;
  std::string tls_cert_file;
  std::string tls_key_file;

  // [server]
  std::string server_name = "facilityd";
  caf::timespan shutdown_grace = std::chrono::seconds{10};
  bool seed_demo = false;
};

}  // namespace facilityd
