// facilityd as a process while its database goes away, hangs and comes
// back. The server reaches PostgreSQL through a tcp_proxy that each test
// breaks on its own, so the database that other tests share stays up.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <thread>

#include "tests/support/server_process.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;
using namespace std::chrono_literals;

namespace {

using W = small_world;
using steady = std::chrono::steady_clock;
constexpr const char* token = "test-token-1";

struct fixture {
  test_db db;
  small_world w{db};
  tcp_proxy proxy{test_db::server_port()};
  fixture() { db.add_gateway(W::gateway, token); }

  std::vector<std::string> args(std::vector<std::string> more = {}) const {
    more.push_back("--db.dsn=" + db.dsn_via(proxy.port()));
    return more;
  }
};

std::string scan_line(uint64_t seq, const std::string& badge,
                      const std::string& reader = W::lab_door) {
  return "SCAN " + std::to_string(seq) + " " + reader + " " + badge + "\n";
}

bool starts_with(const std::optional<std::string>& line,
                 const std::string& prefix) {
  return line && line->rfind(prefix, 0) == 0;
}

int64_t open_visits(test_db& db) {
  return db.count("SELECT count(*) FROM visits WHERE checked_out_at IS NULL");
}

// Scans `badge` with rising seqs until one is ACKed (the database is back)
// or `within` passes; returns the ACK.
std::optional<std::string> scan_until_acked(gateway_client& gw, uint64_t& seq,
                                            const std::string& badge,
                                            std::chrono::milliseconds within) {
  auto deadline = steady::now() + within;
  while (steady::now() < deadline) {
    gw.send(scan_line(++seq, badge));
    auto answer = gw.line(10s);
    if (starts_with(answer, "ACK ")) return answer;
    std::this_thread::sleep_for(100ms);
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("with the database gone scans are unavailable at once and resume") {
  fixture f;
  server_process server{f.db, f.args()};
  gateway_client gw{server.port()};
  gw.login(W::gateway, token);
  gw.send(scan_line(1, W::b_k1));
  REQUIRE(starts_with(gw.line(), "ACK 1 checked_in"));

  f.proxy.cut();
  // The first scan finds its connection reset, later ones find nobody
  // listening: each is answered unavailable, none waits for a timeout.
  for (uint64_t seq = 2; seq <= 6; ++seq) {
    auto started = steady::now();
    gw.send(scan_line(seq, W::b_m1));
    auto answer = gw.line();
    INFO(answer.value_or("(nothing)"));
    CHECK(starts_with(answer, "ERR " + std::to_string(seq) + " unavailable "));
    CHECK(steady::now() - started < 2s);
  }
  CHECK(server.wait_for_log("WARN  db: ", 5s));

  // Nothing of the refused scans reached the database, and memory still
  // says only Kim is inside: Mia's next scan checks her in.
  f.proxy.restore();
  uint64_t seq = 6;
  auto ack = scan_until_acked(gw, seq, W::b_m1, 20s);
  REQUIRE(ack);
  CHECK(starts_with(ack, "ACK " + std::to_string(seq) + " checked_in"));
  CHECK(open_visits(f.db) == 2);
  CHECK(f.db.count("SELECT count(*) FROM scans") == 2);
  CHECK(server.wait_for_log("INFO  db: connection re-established", 5s));
  CHECK(f.db.invariant_violations().empty());

  // Kim leaving closes the lab with Mia in it, as if nothing had happened.
  gw.send(scan_line(++seq, W::b_k1));
  auto close = gw.line();
  CHECK(
      starts_with(close, "ACK " + std::to_string(seq) + " checked_out_closed"));
  CHECK(open_visits(f.db) == 0);
}

TEST_CASE("a database that stops answering makes scans unavailable, not hang") {
  fixture f;
  server_process server{
      f.db, f.args({"--db.statement-timeout=1s", "--db.request-timeout=2s",
                    "--db.connect-timeout=1s"})};
  gateway_client gw{server.port()};
  gw.login(W::gateway, token);
  gw.send(scan_line(1, W::b_k1));
  REQUIRE(starts_with(gw.line(), "ACK 1 checked_in"));

  f.proxy.stall();
  auto started = steady::now();
  gw.send(scan_line(2, W::b_m1));
  auto answer = gw.line(10s);
  auto waited = steady::now() - started;
  INFO(answer.value_or("(nothing)"));
  CHECK(starts_with(answer, "ERR 2 unavailable "));
  CHECK(waited >= 1500ms);
  CHECK(waited < 5s);

  // When the database answers again, whatever became of scan 2 is settled
  // before the next scan: Mia is inside exactly once or not at all, and
  // her next scan toggles that.
  f.proxy.restore();
  uint64_t seq = 2;
  auto ack = scan_until_acked(gw, seq, W::b_m1, 30s);
  REQUIRE(ack);
  auto inside = f.db.count(
      "SELECT count(*) FROM visits v JOIN badges b USING (participant_id)"
      " WHERE b.uid = 'badge-m1' AND v.checked_out_at IS NULL");
  CHECK(inside <= 1);
  CHECK(starts_with(ack, "ACK " + std::to_string(seq) +
                             (inside == 1 ? " checked_in" : " checked_out")));
  CHECK(f.db.invariant_violations().empty());
}

TEST_CASE("a commit whose answer is lost is settled from the database") {
  fixture f;
  server_process server{f.db, f.args()};
  gateway_client gw{server.port()};
  gw.login(W::gateway, token);
  gw.send(scan_line(1, W::b_k1));
  REQUIRE(starts_with(gw.line(), "ACK 1 checked_in"));

  // Mia's check-in reaches PostgreSQL and commits, but its answer never
  // comes back: the connection dies first. The server cannot know whether
  // it committed.
  f.proxy.swallow_replies();
  gw.send(scan_line(2, W::b_m1));
  auto deadline = steady::now() + 10s;
  while (f.db.count("SELECT count(*) FROM scans") < 2 &&
         steady::now() < deadline)
    std::this_thread::sleep_for(10ms);
  REQUIRE(f.db.count("SELECT count(*) FROM scans") == 2);
  CHECK_FALSE(gw.line(300ms));
  f.proxy.reset_connections();

  // It reads the facility again on a new connection and finds the scan
  // committed: the gateway gets the ACK of what the database holds, not
  // an error, and nothing is written twice.
  auto ack = gw.line();
  INFO(ack.value_or("(nothing)"));
  CHECK(ack == ack_in_db(f.db, W::gateway, 2));
  CHECK(starts_with(ack, "ACK 2 checked_in"));
  CHECK(server.log().find("re-read from the database") != std::string::npos);
  CHECK(f.db.count("SELECT count(*) FROM scans") == 2);
  CHECK(open_visits(f.db) == 2);

  // Memory agrees: Mia's next scan checks her out, and Kim leaving then
  // closes nothing else.
  gw.send(scan_line(3, W::b_m1));
  CHECK(starts_with(gw.line(), "ACK 3 checked_out "));
  gw.send(scan_line(4, W::b_k1));
  CHECK(starts_with(gw.line(), "ACK 4 checked_out_closed "));
  CHECK(open_visits(f.db) == 0);
  CHECK(f.db.invariant_violations().empty());
}

TEST_CASE("a server started while the database is down waits for it") {
  fixture f;
  f.proxy.cut();
  std::thread back{[&] {
    std::this_thread::sleep_for(1500ms);
    f.proxy.restore();
  }};
  std::optional<server_process> server;
  CHECK_NOTHROW(server.emplace(f.db, f.args({"--db.startup-wait=20s"})));
  back.join();
  REQUIRE(server);
  CHECK(server->log().find("WARN  db: ") != std::string::npos);
  gateway_client gw{server->port()};
  gw.login(W::gateway, token);
  gw.send(scan_line(1, W::b_k1));
  CHECK(starts_with(gw.line(), "ACK 1 checked_in"));
}

TEST_CASE("a server whose database stays down gives up with exit status 1") {
  fixture f;
  f.proxy.cut();
  auto r = run_facilityd(
      f.args({"--db.startup-wait=1s", "--gateway.port=0", "--admin.port=0",
              "--admin.token-file=/nonexistent/token"}));
  CHECK(r.status == 1);
  CHECK(r.output.find("cannot connect to PostgreSQL") != std::string::npos);
  CHECK(r.output.find("ERROR server: start-up failed") != std::string::npos);
}

TEST_CASE("SIGTERM while the database hangs still exits 0 in the grace time") {
  fixture f;
  server_process server{
      f.db, f.args({"--server.shutdown-grace=3s", "--db.request-timeout=2s",
                    "--db.statement-timeout=1s", "--db.connect-timeout=30s"})};
  gateway_client gw{server.port()};
  gw.login(W::gateway, token);
  f.proxy.stall();
  gw.send(scan_line(1, W::b_k1));  // its database connection hangs
  std::this_thread::sleep_for(300ms);
  auto started = steady::now();
  CHECK(server.stop(SIGTERM, 10s) == 0);
  auto took = steady::now() - started;
  CHECK(took >= 2500ms);
  CHECK(took < 4500ms);
  CHECK(server.log().find("stopping without them") != std::string::npos);
  // Nothing was acknowledged, and nothing reached the database.
  auto answer = gw.line(1s);
  CHECK_FALSE(starts_with(answer, "ACK"));
  f.proxy.restore();
  CHECK(f.db.count("SELECT count(*) FROM scans") == 0);
}
