// facilityd's HTTP endpoint for monitoring, against a real server: what
// /metrics counts after known scans, what /health says with the database
// up and down, and that odd requests neither crash nor hang it.

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/ctl_process.hpp"
#include "tests/support/private_pg.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using W = small_world;
using steady = std::chrono::steady_clock;
constexpr const char* token = "test-token-1";

struct fixture {
  test_db db;
  W w{db};
  bool gateway_added = (db.add_gateway("gw-1", token), true);
};

std::string metrics_of(server_process& server) {
  auto r = http_get(server.metrics_port(), "/metrics");
  REQUIRE(r.status == 200);
  return r.body;
}

double value(server_process& server, const std::string& key) {
  auto v = metric(metrics_of(server), key);
  INFO(key);
  REQUIRE(v);
  return *v;
}

// Polls until `key` has `want`; for figures that follow an event on
// another thread (a connection's close).
bool becomes(server_process& server, const std::string& key, double want,
             std::chrono::milliseconds timeout = 5s) {
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    if (metric(metrics_of(server), key) == want) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

bool eventually(const std::function<bool()>& ok,
                std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return ok();
}

std::string scans(const char* outcome) {
  return std::string{"facilityd_scans_total{outcome=\""} + outcome + "\"}";
}

std::string errors(const char* code) {
  return std::string{"facilityd_scan_errors_total{code=\""} + code + "\"}";
}

std::string facility_series(const std::string& family, const std::string& name,
                            facility_id id) {
  return family + "{facility=\"" + name + "\",facility_id=\"" +
         std::to_string(id) + "\"}";
}

bool starts_with(const std::optional<std::string>& line,
                 const std::string& prefix) {
  return line && line->rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("metrics count the scans answered, by outcome, and who is inside") {
  fixture f;
  server_process server{f.db};
  REQUIRE(server.metrics_port() != 0);
  CHECK(value(server, "facilityd_gateways_connected") == 0);
  CHECK(value(server,
              facility_series("facilityd_open_visits", "lab", f.w.lab)) == 0);

  {
    gateway_client gw{server.port()};
    gw.login("gw-1", token);
    CHECK(value(server, "facilityd_gateways_connected") == 1);
    CHECK(value(server, "facilityd_connections_open") == 1);

    struct step {
      const char* line;
      const char* ack;
    };
    std::vector<step> steps{
        {"SCAN 1 lab-door badge-k1", "ACK 1 checked_in"},
        {"SCAN 2 lab-door badge-m1", "ACK 2 checked_in"},
        {"SCAN 3 lab-door badge-m2", "ACK 3 checked_in"},
        {"SCAN 4 lab-door badge-m3", "ACK 4 denied_full"},
        {"SCAN 5 shop-door badge-m1", "ACK 5 denied_closed"},
        {"SCAN 6 lab-door badge-m2", "ACK 6 checked_out"},
        {"SCAN 7 lab-door no-such-badge", "ACK 7 denied_unknown_badge"},
        // A resend of scan 2: answered with what was recorded.
        {"SCAN 2 lab-door badge-m1", "ACK 2 checked_in"},
    };
    for (const auto& s : steps) {
      gw.send(std::string{s.line} + "\n");
      auto ack = gw.line();
      INFO(s.line);
      CHECK(starts_with(ack, s.ack));
    }

    auto text = metrics_of(server);
    CHECK(metric(text, scans("checked_in")) == 4);
    CHECK(metric(text, scans("denied_full")) == 1);
    CHECK(metric(text, scans("denied_closed")) == 1);
    CHECK(metric(text, scans("checked_out")) == 1);
    CHECK(metric(text, scans("denied_unknown_badge")) == 1);
    CHECK(metric(text, scans("checked_out_closed")) == 0);
    CHECK(metric(text, "facilityd_scans_replayed_total") == 1);
    CHECK(metric(text, "facilityd_scan_ack_seconds_count") == 8);
    CHECK(metric(text, "facilityd_scan_ack_seconds_bucket{le=\"+Inf\"}") == 8);
    CHECK(metric(text,
                 "facilityd_db_transaction_seconds_count{kind="
                 "\"record_scan\"}") == 8);
    CHECK(metric(text, errors("busy")) == 0);
    // Kim and Max are inside the lab, nobody in the closed shop.
    CHECK(metric(text, facility_series("facilityd_open_visits", "lab",
                                       f.w.lab)) == 2);
    CHECK(metric(text, facility_series("facilityd_open_visits", "shop",
                                       f.w.shop)) == 0);
    CHECK(metric(text, facility_series("facilityd_facility_queue_depth", "lab",
                                       f.w.lab)) == 0);
    CHECK(metric(text, "facilityd_db_connections") == 4);
    CHECK(metric(text, "facilityd_db_connections_busy") == 0);
    CHECK(metric(text, "facilityd_db_queue_depth") == 0);
    CHECK(metric(text, "facilityd_db_up") == 1);
    CHECK(f.db.count("SELECT count(*) FROM visits WHERE checked_out_at IS NULL"
                     " AND facility_id = " +
                     std::to_string(f.w.lab)) == 2);
    gw.send("QUIT\n");
    CHECK(gw.line() == "BYE");
  }
  CHECK(becomes(server, "facilityd_gateways_connected", 0));
  CHECK(becomes(server, "facilityd_connections_open", 0));
}

TEST_CASE("metrics count refused scans under their error code") {
  fixture f;
  server_process server{f.db, {"--gateway.max-inflight=1"}};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  {
    // With the scans table locked, scan 1 stays in flight and scan 2 is
    // one too many for the connection.
    f.db.exec("BEGIN");
    f.db.exec("LOCK TABLE scans IN ACCESS EXCLUSIVE MODE");
    gw.send("SCAN 1 lab-door badge-k1\nSCAN 2 lab-door badge-m1\n");
    CHECK(starts_with(gw.line(), "ERR 2 busy"));
    f.db.exec("COMMIT");
    CHECK(starts_with(gw.line(), "ACK 1 checked_in"));
  }
  auto text = metrics_of(server);
  CHECK(metric(text, errors("busy")) == 1);
  CHECK(metric(text, errors("unavailable")) == 0);
  CHECK(metric(text, scans("checked_in")) == 1);
  // Only the scan that reached the actors has a latency.
  CHECK(metric(text, "facilityd_scan_ack_seconds_count") == 1);
}

TEST_CASE("health says ok in JSON and other paths are not found") {
  fixture f;
  server_process server{f.db};
  auto port = server.metrics_port();

  auto health = http_get(port, "/health");
  CHECK(health.status == 200);
  auto body = json::parse(health.body);
  CHECK(body["status"] == "ok");
  CHECK(body["database"] == "reachable");
  CHECK(body["round_trip_ms"].is_number());
  CHECK(health.headers.find("Content-Type: application/json") !=
        std::string::npos);

  auto m = http_get(port, "/metrics");
  CHECK(m.status == 200);
  CHECK(m.headers.find("Content-Type: text/plain; version=0.0.4") !=
        std::string::npos);
  CHECK(m.body.find("# TYPE facilityd_scans_total counter") !=
        std::string::npos);

  CHECK(http_get(port, "/").status == 404);
  CHECK(http_get(port, "/nope").status == 404);
  CHECK(http_get(port, "/metricsx").status == 404);
  CHECK(http_get(port, "/metrics/x").status == 404);
  CHECK(http_get(port, "/health/../metrics").status != 500);
  CHECK(http_raw(port,
                 "POST /metrics HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 0\r\nConnection: close\r\n\r\n")
            .status == 405);
}

TEST_CASE("odd HTTP requests and slow clients neither crash nor hang it") {
  fixture f;
  server_process server{f.db};
  auto port = server.metrics_port();

  // Headers far beyond the limit, garbage, a request cut short.
  auto huge = http_raw(port, "GET /metrics HTTP/1.1\r\nX-Big: " +
                                 std::string(64 * 1024, 'a') + "\r\n\r\n");
  CHECK((huge.status == 0 || huge.status >= 400));
  http_raw(port, "\x01\x02garbage\r\n\r\n", 3s);
  http_raw(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n", 1s);
  http_raw(port, "GET " + std::string(10000, '/') + " HTTP/1.1\r\n\r\n", 3s);

  // Clients that connect and say nothing hold both threads; they are
  // dropped after the request timeout, and the endpoint answers again.
  std::vector<std::unique_ptr<gateway_client>> idle;
  for (int i = 0; i < 3; ++i)
    idle.push_back(std::make_unique<gateway_client>(port));
  auto started = steady::now();
  auto health = http_raw(port,
                         "GET /health HTTP/1.1\r\nHost: x\r\n"
                         "Connection: close\r\n\r\n",
                         20s);
  CHECK(health.status == 200);
  CHECK(steady::now() - started < 15s);

  CHECK(server.running());
  CHECK(http_get(port, "/metrics").status == 200);
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  gw.send("PING x\n");
  CHECK(gw.line() == "PONG x");
}

TEST_CASE("a metrics port in use stops the start with a clear error") {
  fixture f;
  server_process first{f.db};
  auto taken = std::to_string(first.metrics_port());
  test_db other;
  std::string why;
  try {
    server_process second{other, {"--metrics.port=" + taken}};
  } catch (const std::exception& e) {
    why = e.what();
  }
  CHECK(why.find("cannot listen on 127.0.0.1:" + taken + " (metrics)") !=
        std::string::npos);
  CHECK(first.running());
}

TEST_CASE("with the database down, health is 503 and scans are unavailable") {
  private_pg pg;
  test_db db{pg.dsn()};
  W w{db};
  db.add_gateway("gw-1", token);
  server_process server{db};
  ctl_env env;
  auto port = server.metrics_port();
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  gw.send("SCAN 1 lab-door badge-k1\n");
  CHECK(starts_with(gw.line(), "ACK 1 checked_in"));
  CHECK(http_get(port, "/health").status == 200);
  CHECK(run_ctl(env, server, {"health"}).status == 0);

  pg.stop();
  // The last answer is cached for a second.
  CHECK(
      eventually([&] { return http_get(port, "/health").status == 503; }, 10s));
  auto down = http_get(port, "/health");
  CHECK(down.status == 503);
  auto body = json::parse(down.body);
  CHECK(body["status"] == "unavailable");
  CHECK(body["database"] == "unreachable");
  CHECK(body["error"].get<std::string>().size() > 0);
  CHECK(value(server, "facilityd_db_up") == 0);

  auto ctl = run_ctl(env, server, {"health"});
  CHECK(ctl.status == 1);
  CHECK(ctl.out.find("unreachable") != std::string::npos);
  auto status = run_ctl(env, server, {"status", "--json"});
  CHECK(status.status == 0);
  CHECK(json::parse(status.out)["database"] == "unreachable");

  gw.send("SCAN 2 lab-door badge-m1\n");
  CHECK(starts_with(gw.line(30s), "ERR 2 unavailable"));
  CHECK(value(server, errors("unavailable")) == 1);
  CHECK(value(server, scans("checked_in")) == 1);

  pg.start();
  CHECK(
      eventually([&] { return http_get(port, "/health").status == 200; }, 15s));
  CHECK(value(server, "facilityd_db_up") == 1);
  CHECK(run_ctl(env, server, {"health"}).status == 0);
  // The scan pool reconnects on its own schedule.
  bool scanned = false;
  for (uint64_t seq = 3; seq < 40 && !scanned; ++seq) {
    gw.send("SCAN " + std::to_string(seq) + " lab-door badge-m1\n");
    scanned = starts_with(gw.line(30s), "ACK");
    if (!scanned) std::this_thread::sleep_for(500ms);
  }
  CHECK(scanned);
}
