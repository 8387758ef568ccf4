// facilityd with gateway.tls on, spoken to as a gateway would over TLS:
// the protocol through the handshake, what becomes of clients that do not
// handshake or do not trust the server, start-up with bad files, and a
// SIGTERM with scans in flight.

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/server_process.hpp"
#include "tests/support/test_certificate.hpp"
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
  test_certificate cert;
  fixture() { db.add_gateway("gw-1", token); }

  tls_client_options trusting() const { return {cert.cert_file()}; }

  // The server's arguments for TLS with `cert`, then `more`.
  std::vector<std::string> args(std::vector<std::string> more = {}) const {
    auto out = cert.server_args();
    out.insert(out.end(), more.begin(), more.end());
    return out;
  }
};

std::string scan_line(uint64_t seq, const std::string& reader,
                      const std::string& badge) {
  return "SCAN " + std::to_string(seq) + " " + reader + " " + badge + "\n";
}

int64_t scans_in(test_db& db) {
  return db.count("SELECT count(*) FROM scans");
}

std::string visit_of(test_db& db, uint64_t seq) {
  return db.scalar("SELECT visit_id FROM scans WHERE gateway_seq = " +
                   std::to_string(seq));
}

bool starts_with(const std::optional<std::string>& line,
                 const std::string& prefix) {
  return line && line->rfind(prefix, 0) == 0;
}

std::chrono::milliseconds since(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                               t);
}

// Reads the log only, without reaping the process: safe while another
// thread waits for the exit.
bool log_shows(const server_process& server, const std::string& text,
               std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    if (server.log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Holds an exclusive lock on the scans table, so that every scan the
// server takes meanwhile stays in flight.
class scans_locked {
 public:
  explicit scans_locked(test_db& db) : db_(db) {
    db_.exec("BEGIN");
    db_.exec("LOCK TABLE scans IN ACCESS EXCLUSIVE MODE");
  }
  ~scans_locked() { db_.exec("COMMIT"); }

 private:
  test_db& db_;
};

}  // namespace

TEST_CASE("over TLS a gateway logs in, scans and gets the committed ACK") {
  fixture f;
  server_process server{f.db, f.args()};
  CHECK(server.log().find("(TLS only)") != std::string::npos);
  gateway_client gw{server.port(), f.trusting()};
  CHECK(gw.login("gw-1", token) == "WELCOME 1 facilityd-test");
  gw.send(scan_line(1, W::lab_door, W::b_k1));
  auto ack = gw.line();
  REQUIRE(ack);
  CHECK(*ack == "ACK 1 checked_in visit=" + visit_of(f.db, 1) +
                    " name=Kim%20Keyholder");
  CHECK(f.db.count("SELECT count(*) FROM scans WHERE gateway_id = 'gw-1'"
                   " AND gateway_seq = 1 AND outcome = 'checked_in'") == 1);
  gw.send("QUIT\n");
  CHECK(gw.line() == "BYE");
  CHECK(gw.closed_by_server());
}

TEST_CASE("a plaintext client on the TLS port gets no WELCOME and is closed") {
  fixture f;
  server_process server{f.db, f.args()};
  auto start = steady::now();
  gateway_client plain{server.port()};
  plain.send(std::string{"HELLO gw-1 "} + token + "\n" +
             scan_line(1, W::lab_door, W::b_k1));
  // Whatever comes back (a TLS alert at most) is no line of the protocol.
  CHECK_FALSE(plain.line(3s));
  CHECK(plain.closed_by_server(0ms));
  CHECK(since(start) < 2s);
  CHECK(scans_in(f.db) == 0);
  CHECK(server.wait_for_log("disconnected: TLS handshake failed", 2s));
  CHECK(server.log().find("authenticated") == std::string::npos);
  CHECK(server.log().find(token) == std::string::npos);
}

TEST_CASE("a client that never handshakes is closed after the hello timeout") {
  fixture f;
  server_process server{f.db, f.args({"--gateway.hello-timeout=1s",
                                      "--gateway.max-connections=1"})};
  auto start = steady::now();
  gateway_client silent{server.port()};
  CHECK_FALSE(silent.line(3s));
  CHECK(silent.closed_by_server(0ms));
  CHECK(since(start) >= 900ms);
  CHECK(
      server.wait_for_log("disconnected: no TLS handshake within 1000 ms", 1s));

  // Its slot is free again: the one connection allowed is served.
  gateway_client gw{server.port(), f.trusting()};
  CHECK(gw.login("gw-1", token) == "WELCOME 1 facilityd-test");
}

TEST_CASE("a client refuses a server whose certificate it does not trust") {
  fixture f;
  test_certificate stranger{"localhost"};
  server_process server{f.db, f.args()};
  std::string why;
  try {
    gateway_client gw{server.port(), {stranger.cert_file()}};
  } catch (const std::exception& e) {
    why = e.what();
  }
  CHECK(why.find("certificate verify failed") != std::string::npos);

  // The right certificate made out to another name fails just as well.
  why.clear();
  try {
    gateway_client gw{server.port(), {f.cert.cert_file(), "gw.example"}};
  } catch (const std::exception& e) {
    why = e.what();
  }
  CHECK(why.find("certificate verify failed") != std::string::npos);
  CHECK(server.wait_for_log("disconnected: TLS handshake failed", 2s));
  CHECK(scans_in(f.db) == 0);
}

TEST_CASE("failed handshakes count against the address's failed logins") {
  fixture f;
  server_process server{f.db, f.args({"--gateway.max-login-failures=2"})};
  for (int i = 0; i < 2; ++i) {
    gateway_client plain{server.port()};
    plain.send("HELLO gw-1 x\n");
    CHECK(plain.closed_by_server());
  }
  gateway_client gw{server.port(), f.trusting()};
  gw.send(std::string{"HELLO gw-1 "} + token + "\n");
  CHECK(starts_with(gw.line(), "ERR - auth_failed too many failed logins"));
  CHECK(gw.closed_by_server());
}

TEST_CASE("a TLS gateway that ends its sending side still gets its answers") {
  fixture f;
  server_process server{f.db, f.args()};
  gateway_client gw{server.port(), f.trusting()};
  gw.login("gw-1", token);
  gw.send(scan_line(1, W::lab_door, W::b_k1) +
          scan_line(2, W::lab_door, W::b_m1));
  gw.finish_sending();
  CHECK(starts_with(gw.line(), "ACK 1 checked_in "));
  CHECK(starts_with(gw.line(), "ACK 2 checked_in "));
  CHECK(gw.closed_by_server());
  CHECK(scans_in(f.db) == 2);
  CHECK(server.wait_for_log("disconnected: closed by the gateway", 2s));
}

TEST_CASE("start-up with a missing or foreign TLS key exits 2 and says so") {
  test_certificate cert;
  test_certificate other;
  // The files are read before the database is asked for anything.
  std::vector<std::string> base{
      "--db.dsn=host=/nonexistent", "--admin.token-file=/nonexistent/token",
      "--gateway.tls", "--gateway.tls-cert-file=" + cert.cert_file()};
  auto missing = base;
  missing.push_back("--gateway.tls-key-file=/nonexistent/key.pem");
  auto start = steady::now();
  auto r = run_facilityd(missing);
  CHECK(r.status == 2);
  CHECK(r.output ==
        "facilityd: bad configuration: gateway.tls-key-file "
        "'/nonexistent/key.pem': cannot read it: No such file or directory\n");

  auto foreign = base;
  foreign.push_back("--gateway.tls-key-file=" + other.key_file());
  r = run_facilityd(foreign);
  CHECK(r.status == 2);
  CHECK(r.output == "facilityd: bad configuration: gateway.tls-key-file '" +
                        other.key_file() +
                        "' does not match the certificate in "
                        "gateway.tls-cert-file '" +
                        cert.cert_file() + "'\n");

  r = run_facilityd({"--gateway.tls"});
  CHECK(r.status == 2);
  CHECK(r.output.find("gateway.tls needs gateway.tls-cert-file") !=
        std::string::npos);
  CHECK(since(start) < 5s);
}

TEST_CASE("SIGTERM over TLS answers the scans in flight and exits 0") {
  fixture f;
  server_process server{f.db, f.args({"--server.shutdown-grace=5s"})};
  gateway_client gw{server.port(), f.trusting()};
  gw.login("gw-1", token);
  std::future<std::optional<int>> status;
  {
    scans_locked lock{f.db};
    // The PONG shows that scan 1 has been taken and is in flight.
    gw.send(scan_line(1, W::lab_door, W::b_k1) + "PING taken\n");
    REQUIRE(gw.line() == "PONG taken");
    status = std::async(std::launch::async,
                        [&] { return server.stop(SIGTERM, 15s); });
    REQUIRE(log_shows(server, "stopped accepting", 5s));
    gw.send(scan_line(2, W::lab_door, W::b_m1));
    CHECK(starts_with(gw.line(), "ERR 2 shutting_down "));
  }
  // Read before the visit: the ACK comes after the commit.
  auto ack = gw.line();
  CHECK(ack == "ACK 1 checked_in visit=" + visit_of(f.db, 1) +
                   " name=Kim%20Keyholder");
  CHECK(gw.closed_by_server());
  auto code = status.get();
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(scans_in(f.db) == 1);
}
