#include "metrics/http_endpoint.hpp"

#include <CivetServer.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/log.hpp"

namespace facilityd {

namespace {

// civetweb says why it could not start only through its log callback,
// on the thread that starts it; the first thing it says is the reason.
thread_local std::string start_error;

int on_civetweb_log(const mg_connection*, const char* message) {
  if (start_error.empty()) start_error = message;
  LOG_DEBUG("metrics", "civetweb: " << message);
  return 1;  // handled: civetweb writes nothing to stderr
}

void respond(mg_connection* conn, int status, const char* reason,
             const char* type, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\n"
            "Content-Type: %s\r\n"
            "Content-Length: %zu\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n\r\n",
            status, reason, type, body.size());
  mg_write(conn, body.data(), body.size());
}

}  // namespace

std::string health_json(const health_report& r) {
  auto ms = static_cast<double>(r.round_trip.count()) / 1000.0;
  nlohmann::json out;
  if (r.reachable) {
    out = {{"status", "ok"}, {"database", "reachable"}, {"round_trip_ms", ms}};
  } else {
    out = {{"status", "unavailable"},
           {"database", "unreachable"},
           {"error", r.error}};
  }
  return out.dump();
}

// Serves GET on exactly one path. civetweb hands a handler every path
// that starts with its own ("/metricsfoo", "/metrics/x"): those are not
// ours. Other methods are refused.
class path_handler : public CivetHandler {
 public:
  explicit path_handler(const char* path) : path_(path) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    const auto* info = mg_get_request_info(conn);
    if (info->local_uri == nullptr || std::strcmp(info->local_uri, path_) != 0)
      respond(conn, 404, "Not Found", "text/plain", "not found\n");
    else
      serve(conn);
    return true;
  }
  bool handlePost(CivetServer*, mg_connection* conn) override {
    return refuse(conn);
  }
  bool handlePut(CivetServer*, mg_connection* conn) override {
    return refuse(conn);
  }
  bool handleDelete(CivetServer*, mg_connection* conn) override {
    return refuse(conn);
  }
  bool handlePatch(CivetServer*, mg_connection* conn) override {
    return refuse(conn);
  }

 protected:
  virtual void serve(mg_connection* conn) = 0;

 private:
  static bool refuse(mg_connection* conn) {
    respond(conn, 405, "Method Not Allowed", "text/plain", "GET only\n");
    return true;
  }

  const char* path_;
};

class http_endpoint::metrics_handler : public path_handler {
 public:
  metrics_handler(server_metrics& m, health_check& h)
      : path_handler("/metrics"), metrics_(m), health_(h) {}

 private:
  void serve(mg_connection* conn) override {
    // Brings facilityd_db_up up to date (the check is cached).
    if (health_) health_();
    respond(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
            metrics_.text());
  }

  server_metrics& metrics_;
  health_check& health_;
};

class http_endpoint::health_handler : public path_handler {
 public:
  explicit health_handler(health_check& h)
      : path_handler("/health"), health_(h) {}

 private:
  void serve(mg_connection* conn) override {
    health_report r;
    if (health_) r = health_();
    auto body = health_json(r) + "\n";
    if (r.reachable)
      respond(conn, 200, "OK", "application/json", body);
    else
      respond(conn, 503, "Service Unavailable", "application/json", body);
  }

  health_check& health_;
};

http_endpoint::http_endpoint(http_endpoint_options opts,
                             std::shared_ptr<server_metrics> metrics,
                             health_check health)
    : opts_(std::move(opts)),
      metrics_(std::move(metrics)),
      health_(std::move(health)) {}

http_endpoint::~http_endpoint() {
  stop();
}

void http_endpoint::start() {
  auto where = opts_.host + ":" + std::to_string(opts_.port);
  std::vector<std::string> options{
      "listening_ports", where,
      // Two threads are plenty for a scraper and a health probe; they are
      // not the scan path's.
      "num_threads", "2",
      // Connections accepted while both threads are busy wait here.
      "connection_queue", "16",
      // A client gets this long to send its request and take the answer;
      // one that trickles bytes is dropped, not waited for.
      "request_timeout_ms", "5000", "enable_keep_alive", "no",
      // Larger requests are refused (413) before any handler runs.
      "max_request_size", "8192"};
  CivetCallbacks callbacks{};
  callbacks.log_message = on_civetweb_log;
  start_error.clear();
  try {
    server_ = std::make_unique<CivetServer>(options, &callbacks);
  } catch (const CivetException& e) {
    throw std::runtime_error(start_error.empty() ? e.what() : start_error);
  }
  metrics_handler_ = std::make_unique<metrics_handler>(*metrics_, health_);
  health_handler_ = std::make_unique<health_handler>(health_);
  server_->addHandler("/metrics", *metrics_handler_);
  server_->addHandler("/health", *health_handler_);
  auto ports = server_->getListeningPorts();
  port_ = ports.empty() ? opts_.port : static_cast<uint16_t>(ports.front());
  LOG_INFO("metrics", "listening on " << opts_.host << ":" << port_);
}

void http_endpoint::stop() {
  if (!server_) return;
  server_->close();
  server_.reset();
  LOG_INFO("metrics", "stopped");
}

}  // namespace facilityd
