#include "app/config.hpp"

#include <chrono>
#include <filesystem>

namespace facilityd {

namespace {

template <class Duration>
Duration as(caf::timespan x) {
  return std::chrono::duration_cast<Duration>(x);
}

// What a value of an option's type looks like in the INI file.
std::string expected_form(caf::string_view type) {
  if (type == "timespan") return "a duration such as 5s or 250ms";
  if (type == "string") return "a string in double quotes";
  if (type == "boolean") return "true or false";
  if (type == "atom") return "a word in single quotes";
  // CAF names integer types by their width: uint16 (the ports), uint64, ...
  if (type == "uint16") return "a whole number from 0 to 65535";
  if (type.find("uint") == 0) return "a whole number from 0 up";
  if (type.find("int") != caf::string_view::npos) return "a whole number";
  return std::string{type.begin(), type.end()};
}

}  // namespace

facilityd_config::facilityd_config() {
  opt_group{custom_options_, "db"}
      .add(dsn, "dsn",
           "libpq connection string; empty: PGHOST, PGPORT, ... as usual")
      .add(pool_size, "pool-size", "database connections (worker threads)")
      .add(queue_limit, "queue-limit",
           "requests waiting for a connection before scans get 'busy'")
      .add(connect_timeout, "connect-timeout", "time limit to connect")
      .add(statement_timeout, "statement-timeout",
           "PostgreSQL cancels a statement running longer than this")
      .add(request_timeout, "request-timeout",
           "a facility waits this long for one database request")
      .add(startup_wait, "startup-wait",
           "how long start-up waits for the database to become reachable");
  opt_group{custom_options_, "admin"}
      .add(admin_host, "host", "address of the admin endpoint (facilityctl)")
      .add(admin_port, "port", "TCP port of the admin endpoint")
      .add(admin_token_file, "token-file",
           "file holding the admin token; created (mode 0600) if missing");
  opt_group{custom_options_, "metrics"}
      .add(metrics_host, "host",
           "address of the HTTP endpoint for /metrics and /health (IPv4)")
      .add(metrics_port, "port", "its TCP port; 0 turns it off");
  opt_group{custom_options_, "facility"}.add(
      facility_queue_limit, "queue-limit",
      "scans waiting for one facility; more get 'busy' at once");
  opt_group{custom_options_, "log"}.add(log_level_name, "level",
                                        "debug, info, warning or error");
  opt_group{custom_options_, "gateway"}
      .add(gateway_host, "host", "address to accept gateway connections on")
      .add(gateway_port, "port", "TCP port for gateway connections")
      .add(io_threads, "io-threads", "threads running the network side")
      .add(max_connections, "max-connections", "connections open at once")
      .add(max_inflight, "max-inflight",
           "unanswered scans per connection; more get 'busy'")
      .add(max_malformed, "max-malformed",
           "malformed lines in a row before a connection is closed")
      .add(max_write_queue, "max-write-queue",
           "bytes of answers queued for a gateway that does not read them")
      .add(max_login_failures, "max-login-failures",
           "failed logins from one address in a minute before its logins "
           "are refused for the rest of it")
      .add(hello_timeout, "hello-timeout", "time a connection has to log in")
      .add(idle_timeout, "idle-timeout", "silence after which it is closed")
      .add(scan_timeout, "scan-timeout",
           "how long a connection waits for one scan's answer")
      .add(tls, "tls", "speak TLS only (plain TCP when false)")
      .add(tls_cert_file, "tls-cert-file",
           "PEM certificate, chain after it, for gateway TLS")
      .add(tls_key_file, "tls-key-file",
           "PEM private key (unencrypted) of that certificate");
  opt_group{custom_options_, "server"}
      .add(server_name, "name", "the name this server gives itself")
      .add(shutdown_grace, "shutdown-grace",
           "on SIGTERM/SIGINT, time to finish scans in flight")
      .add(seed_demo, "seed-demo",
           "create a small demo world when the database has no facilities");
}

std::string facilityd_config::validate() const {
  log_level ignored;
  if (!parse_log_level(log_level_name, ignored))
    return "log.level must be debug, info, warning or error, not '" +
           log_level_name + "'";
  if (pool_size < 1 || pool_size > 256)
    return "db.pool-size must be between 1 and 256";
  if (queue_limit < 1) return "db.queue-limit must be at least 1";
  if (facility_queue_limit < 1)
    return "facility.queue-limit must be at least 1";
  if (as<std::chrono::seconds>(connect_timeout).count() < 1)
    return "db.connect-timeout must be at least 1s";
  if (statement_timeout <= caf::timespan{0})
    return "db.statement-timeout must be positive";
  // A request that times out in the actor must not outlive the statement in
  // PostgreSQL by much, or the actor gives up while the commit is pending.
  if (request_timeout <= statement_timeout)
    return "db.request-timeout must be longer than db.statement-timeout";
  if (server_name.empty() || server_name.size() > 64 ||
      server_name.find_first_of(" \t\r\n") != std::string::npos)
    return "server.name must be one word of at most 64 characters";
  if (io_threads < 1 || io_threads > 64)
    return "gateway.io-threads must be between 1 and 64";
  if (max_connections < 1) return "gateway.max-connections must be >= 1";
  if (max_inflight < 1) return "gateway.max-inflight must be >= 1";
  if (max_login_failures < 1) return "gateway.max-login-failures must be >= 1";
  if (max_write_queue < 1024)
    return "gateway.max-write-queue must be at least 1024 bytes";
  if (hello_timeout <= caf::timespan{0} || idle_timeout <= caf::timespan{0} ||
      scan_timeout <= caf::timespan{0})
    return "gateway timeouts must be positive";
  // A scan must not be abandoned by its connection while the facility
  // still waits for the database.
  if (scan_timeout <= request_timeout)
    return "gateway.scan-timeout must be longer than db.request-timeout";
  if (tls && (tls_cert_file.empty() || tls_key_file.empty()))
    return "gateway.tls needs gateway.tls-cert-file and gateway.tls-key-file";
  return {};
}

std::string facilityd_config::check_file(const std::string& path) const {
  if (path.empty() || !std::filesystem::exists(path)) return {};
  auto content = parse_config_file(path.c_str());
  // A file CAF cannot read or parse has already been refused by parse().
  if (!content) return {};
  for (const auto& [section, entries] : *content) {
    const auto* keys = caf::get_if<caf::config_value::dictionary>(&entries);
    if (keys == nullptr) continue;
    for (const auto& [key, value] : *keys) {
      auto where = path + ": [" + section + "] " + key;
      const auto* opt = custom_options_.qualified_name_lookup(section, key);
      if (opt == nullptr)
        return where + " is not an option (facilityd --help lists them)";
      if (opt->check(value))
        return where + " must be " + expected_form(opt->type_name()) +
               ", not " + caf::to_string(value);
    }
  }
  return {};
}

pg_store_options facilityd_config::store_options() const {
  pg_store_options out;
  out.dsn = dsn;
  out.connect_timeout_s =
      static_cast<int>(as<std::chrono::seconds>(connect_timeout).count());
  out.statement_timeout = as<std::chrono::milliseconds>(statement_timeout);
  return out;
}

server_options facilityd_config::actor_options() const {
  server_options out;
  out.pool.workers = pool_size;
  out.pool.queue_limit = queue_limit;
  out.facility.db_timeout = request_timeout;
  out.facility.queue_limit = facility_queue_limit;
  return out;
}

gateway_options facilityd_config::gateway() const {
  gateway_options out;
  out.host = gateway_host;
  out.port = gateway_port;
  out.server_name = server_name;
  out.max_connections = max_connections;
  out.max_inflight = max_inflight;
  out.max_malformed = max_malformed;
  out.max_login_failures = max_login_failures;
  out.max_write_queue = max_write_queue;
  out.hello_timeout = as<std::chrono::milliseconds>(hello_timeout);
  out.idle_timeout = as<std::chrono::milliseconds>(idle_timeout);
  out.scan_timeout = as<std::chrono::milliseconds>(scan_timeout);
  return out;
}

http_endpoint_options facilityd_config::metrics_endpoint() const {
  return http_endpoint_options{metrics_host, metrics_port};
}

log_level facilityd_config::level() const {
  log_level out = log_level::info;
  parse_log_level(log_level_name, out);
  return out;
}

}  // namespace facilityd
