// facilityd as a process, spoken to over TCP as a gateway would: protocol
// v1 line by line, its errors, and the limits that protect the server.

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/server_process.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;
using namespace std::chrono_literals;

namespace {

using W = small_world;
using steady = std::chrono::steady_clock;
constexpr const char* token = "test-token-1";
constexpr const char* token_2 = "test-token-2";

struct fixture {
  test_db db;
  small_world w{db};
  fixture() {
    db.add_gateway("gw-1", token);
    db.add_gateway("gw-2", token_2);
  }
};

std::string scan_line(uint64_t seq, const std::string& reader,
                      const std::string& badge) {
  return "SCAN " + std::to_string(seq) + " " + reader + " " + badge + "\n";
}

// The visit that scan `seq` of gw-1 opened or closed, as the database has
// it; empty while the scan is not committed.
std::string visit_of(test_db& db, uint64_t seq) {
  return db.scalar(
      "SELECT visit_id FROM scans WHERE gateway_id = 'gw-1'"
      " AND gateway_seq = " +
      std::to_string(seq));
}

int64_t scans_of_gw1(test_db& db) {
  return db.count("SELECT count(*) FROM scans WHERE gateway_id = 'gw-1'");
}

bool starts_with(const std::optional<std::string>& line,
                 const std::string& prefix) {
  return line && line->rfind(prefix, 0) == 0;
}

bool pongs(gateway_client& gw, const std::string& word) {
  gw.send("PING " + word + "\n");
  return gw.line() == "PONG " + word;
}

std::chrono::milliseconds since(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                               t);
}

// Holds an exclusive lock on the scans table, so that every scan the
// server takes meanwhile stays in flight: its transaction waits for the
// lock. Release well within the server's statement timeout (5 s).
class scans_locked {
 public:
  explicit scans_locked(test_db& db) : db_(db) {
    db_.exec("BEGIN");
    db_.exec("LOCK TABLE scans IN ACCESS EXCLUSIVE MODE");
  }
  ~scans_locked() { release(); }

  void release() {
    if (held_) db_.exec("COMMIT");
    held_ = false;
  }

 private:
  test_db& db_;
  bool held_ = true;
};

bool exits_within(server_process& server, std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    if (!server.running()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace

TEST_CASE("a gateway logs in, scans and gets each ACK after the commit") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  CHECK(gw.login("gw-1", token) == "WELCOME 1 facilityd-test");
  gw.send("SCAN 1 lab-door badge-k1\n");
  auto ack = gw.line();
  REQUIRE(ack);
  auto visit = f.db.scalar("SELECT visit_id FROM scans WHERE gateway_seq = 1");
  CHECK(*ack == "ACK 1 checked_in visit=" + visit + " name=Kim%20Keyholder");
  gw.send("QUIT\n");
  CHECK(gw.line() == "BYE");
  CHECK(gw.closed_by_server());
}

TEST_CASE("every outcome reaches the gateway as an ACK with its details") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  uint64_t seq = 0;
  // Each ACK must find its scan committed: the visit in the expected line
  // is read from the database after the ACK arrived.
  auto scan = [&](const char* reader, const char* badge) {
    gw.send(scan_line(++seq, reader, badge));
    auto ack = gw.line();
    INFO("scan " << seq << " of " << badge << " at " << reader);
    REQUIRE(ack);
    return *ack;
  };
  auto ack = [&](const std::string& rest) {
    return "ACK " + std::to_string(seq) + " " + rest;
  };

  auto got = scan(W::lab_door, W::b_k1);
  auto kim_visit = visit_of(f.db, seq);
  CHECK(got == ack("checked_in visit=" + kim_visit + " name=Kim%20Keyholder"));
  got = scan(W::shop_door, W::b_m1);
  CHECK(got == ack("denied_closed name=Mia%20Member"));
  got = scan(W::lab_door, W::b_m1);
  auto mia_visit = visit_of(f.db, seq);
  CHECK(got == ack("checked_in visit=" + mia_visit + " name=Mia%20Member"));
  got = scan(W::lab_door, W::b_m2);
  CHECK(got ==
        ack("checked_in visit=" + visit_of(f.db, seq) + " name=Max%20Member"));
  got = scan(W::lab_door, W::b_m3);
  CHECK(got == ack("denied_full name=Mo%20Member"));
  got = scan(W::lab_door, W::b_k2);
  auto kai_visit = visit_of(f.db, seq);
  CHECK(got == ack("checked_in visit=" + kai_visit + " name=Kai%20Keyholder"));
  got = scan(W::lab_door, W::b_suspended);
  CHECK(got == ack("denied_suspended name=Sam%20Suspended"));
  got = scan(W::lab_door, "no-such-badge");
  CHECK(got == ack("denied_unknown_badge"));
  got = scan("no-such-reader", W::b_k1);
  CHECK(got == ack("denied_unknown_reader"));
  got = scan(W::lab_door, W::b_m1);
  CHECK(got == ack("checked_out visit=" + mia_visit + " name=Mia%20Member"));
  got = scan(W::lab_door, W::b_k2);
  CHECK(got == ack("checked_out visit=" + kai_visit + " name=Kai%20Keyholder"));
  got = scan(W::lab_door, W::b_k1);
  CHECK(got == ack("checked_out_closed visit=" + kim_visit +
                   " closed=1 name=Kim%20Keyholder"));

  CHECK(scans_of_gw1(f.db) == static_cast<int64_t>(seq));
  CHECK(f.db.count(
            "SELECT count(*) FROM visits WHERE checked_out_at IS NULL") == 0);
  CHECK(f.db.invariant_violations().empty());
}

TEST_CASE("an ACK with a very long name is cut to one line at a character") {
  fixture f;
  std::string name;
  for (int i = 0; i < 300; ++i)
    name += "\xc3\xa9";  // é, %C3%A9 when encoded
  f.db.add_badge("badge-long", f.db.add_participant(name, true));
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  gw.send(scan_line(1, W::lab_door, "badge-long"));
  auto ack = gw.line();
  REQUIRE(ack);

  auto head = "ACK 1 checked_in visit=" + visit_of(f.db, 1) + " name=";
  REQUIRE(starts_with(ack, head));
  CHECK(ack->size() <= 512);
  auto encoded = ack->substr(head.size());
  CHECK(encoded.size() > 400);
  CHECK(encoded.size() % 6 == 0);
  std::string whole;
  for (size_t i = 0; i < encoded.size() / 6; ++i)
    whole += "%C3%A9";
  CHECK(encoded == whole);
}

TEST_CASE("a carriage return before the newline is accepted on every line") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.send(std::string{"HELLO gw-1 "} + token + "\r\n");
  CHECK(gw.line() == "WELCOME 1 facilityd-test");
  gw.send("PING abc\r\n");
  CHECK(gw.line() == "PONG abc");
  gw.send("SCAN 1 lab-door badge-k1\r\n");
  auto ack = gw.line();
  CHECK(ack == "ACK 1 checked_in visit=" + visit_of(f.db, 1) +
                   " name=Kim%20Keyholder");
  CHECK(f.db.scalar("SELECT badge_uid FROM scans") == "badge-k1");

  // Only right before the newline: anywhere else it is a bad byte.
  gw.send("PING a\rb\n");
  CHECK(starts_with(gw.line(), "ERR - malformed"));
  gw.send("QUIT\r\n");
  CHECK(gw.line() == "BYE");
  CHECK(gw.closed_by_server());
}

TEST_CASE("commands in the same write as HELLO are answered after WELCOME") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.send(std::string{"HELLO gw-1 "} + token + "\n" +
          scan_line(1, W::lab_door, W::b_k1) + "PING right-behind\nQUIT\n");
  CHECK(gw.line() == "WELCOME 1 facilityd-test");
  // The PONG need not wait for the commit, so it may come first.
  std::set<std::string> answers;
  for (int i = 0; i < 2; ++i)
    answers.insert(gw.line().value_or("(nothing)"));
  CHECK(answers ==
        std::set<std::string>{"ACK 1 checked_in visit=" + visit_of(f.db, 1) +
                                  " name=Kim%20Keyholder",
                              "PONG right-behind"});
  CHECK(gw.line() == "BYE");
  CHECK(gw.closed_by_server());
}

TEST_CASE("a wrong token, an unknown gateway or a bad HELLO fail the login") {
  fixture f;
  server_process server{f.db};
  for (const std::string& hello : std::vector<std::string>{
           "HELLO gw-1 wrong-token", "HELLO gw-9 test-token-1",
           "HELLO gw-1 test-token-2", "HELLO gw-1",
           "HELLO gw-1 test-token-1 extra", "HELLO gw-1  test-token-1",
           "HELLO gw-1 " + std::string(129, 't'),
           std::string{"HELLO gw-1 test-token-1\0", 24}}) {
    INFO("first line: " << hello);
    gateway_client gw{server.port()};
    gw.send(hello + "\n");
    CHECK(starts_with(gw.line(), "ERR - auth_failed"));
    CHECK(gw.closed_by_server());
  }
  // Lines behind a failed HELLO in the same write are never taken.
  {
    gateway_client gw{server.port()};
    gw.send("HELLO gw-1 wrong-token\n" + scan_line(1, W::lab_door, W::b_k1) +
            "PING x\n");
    CHECK(starts_with(gw.line(), "ERR - auth_failed"));
    CHECK(gw.closed_by_server());
  }
  CHECK(f.db.count("SELECT count(*) FROM scans") == 0);
  // An unknown id is not echoed into the log: it might be a token.
  CHECK(server.log().find("authentication failed: unknown gateway id") !=
        std::string::npos);
  CHECK(server.log().find("gw-9") == std::string::npos);

  // The right HELLO still works afterwards.
  gateway_client gw{server.port()};
  CHECK(gw.login("gw-1", token) == "WELCOME 1 facilityd-test");
}

TEST_CASE("any first line other than HELLO gets auth_required and a close") {
  fixture f;
  server_process server{f.db};
  for (const std::string& first : std::vector<std::string>{
           "SCAN 1 lab-door badge-k1", "PING hello", "QUIT", "",
           "hello gw-1 test-token-1", "WELCOME 1 x",
           std::string{"\0\xff\xfe garbage", 12}}) {
    INFO("first line: " << first);
    gateway_client gw{server.port()};
    gw.send(first + "\n");
    CHECK(starts_with(gw.line(), "ERR - auth_required"));
    CHECK(gw.closed_by_server());
  }
  CHECK(f.db.count("SELECT count(*) FROM scans") == 0);
  CHECK(server.log().find("disconnected: no HELLO first") != std::string::npos);
}

TEST_CASE("a connection without HELLO is closed silently after the timeout") {
  fixture f;
  server_process server{f.db, {"--gateway.hello-timeout=1s"}};
  auto start = steady::now();
  gateway_client silent{server.port()};
  gateway_client halfway{server.port()};
  halfway.send("HELLO gw-1 ");  // never finished

  // Nothing is said, not even an ERR, and nothing before the second.
  CHECK_FALSE(silent.line(3s));
  CHECK(silent.closed_by_server(0ms));
  CHECK_FALSE(halfway.line(3s));
  CHECK(halfway.closed_by_server(0ms));
  CHECK(since(start) >= 900ms);
  CHECK(server.log().find("disconnected: no HELLO within 1000 ms") !=
        std::string::npos);
}

TEST_CASE("a line of 512 bytes is read and one of 513 closes the connection") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);

  // 512 bytes are a line (here a malformed one: the word is too long),
  // with or without "\r" after them.
  auto longest = "PING " + std::string(507, 'w');
  REQUIRE(longest.size() == 512);
  gw.send(longest + "\n");
  CHECK(starts_with(gw.line(), "ERR - malformed"));
  gw.send(longest + "\r\n");
  CHECK(starts_with(gw.line(), "ERR - malformed"));
  gw.send("PING still-open\n");
  CHECK(gw.line() == "PONG still-open");

  gw.send(longest + "w\n");
  CHECK(starts_with(gw.line(), "ERR - line_too_long"));
  CHECK(gw.closed_by_server());
  CHECK(server.log().find("gateway=gw-1 disconnected: line too long") !=
        std::string::npos);
}

TEST_CASE("a committed scan sent again gets the same ACK and changes nothing") {
  fixture f;
  server_process server{f.db};
  std::string kim_in, unknown_reader;
  {
    gateway_client gw{server.port()};
    gw.login("gw-1", token);
    gw.send(scan_line(1, W::lab_door, W::b_k1));
    kim_in = gw.line().value_or("");
    CHECK(kim_in == "ACK 1 checked_in visit=" + visit_of(f.db, 1) +
                        " name=Kim%20Keyholder");
    gw.send(scan_line(2, "no-such-reader", W::b_m1));
    unknown_reader = gw.line().value_or("");
    CHECK(unknown_reader == "ACK 2 denied_unknown_reader");

    // Sent again on the same connection, even with another badge: the
    // second would check Kim out if it were applied.
    gw.send(scan_line(1, W::lab_door, W::b_k1));
    CHECK(gw.line() == kim_in);
    gw.send(scan_line(1, W::lab_door, W::b_m1));
    CHECK(gw.line() == kim_in);
    gw.send("QUIT\n");
    CHECK(gw.line() == "BYE");
  }
  auto version = f.db.scalar("SELECT version FROM facilities WHERE id = " +
                             std::to_string(f.w.lab));

  // And on a later connection.
  gateway_client again{server.port()};
  again.login("gw-1", token);
  again.send(scan_line(1, W::lab_door, W::b_k1));
  CHECK(again.line() == kim_in);
  again.send(scan_line(2, "no-such-reader", W::b_m1));
  CHECK(again.line() == unknown_reader);

  CHECK(scans_of_gw1(f.db) == 2);
  CHECK(f.db.count("SELECT count(*) FROM visits") == 1);
  CHECK(f.db.count(
            "SELECT count(*) FROM visits WHERE checked_out_at IS NULL") == 1);
  CHECK(f.db.scalar("SELECT version FROM facilities WHERE id = " +
                    std::to_string(f.w.lab)) == version);
}

TEST_CASE("one seq sent twice at once, to two facilities, is applied once") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);

  // The lab and the shop decide at the same time; only one may commit.
  gw.send(scan_line(1, W::lab_door, W::b_k1) +
          scan_line(1, W::shop_door, W::b_k2) +
          "SCAN 18446744073709551615 lab-door badge-m1\n" +
          "SCAN 18446744073709551615 lab-door badge-m1\n");
  // Answers of different facilities come in any order.
  std::multiset<std::string> answers;
  for (int i = 0; i < 4; ++i)
    answers.insert(gw.line().value_or("(nothing)"));
  auto ack_1 = ack_in_db(f.db, "gw-1", 1);
  auto ack_max = ack_in_db(f.db, "gw-1", 18446744073709551615ull);
  CHECK(answers == std::multiset<std::string>{ack_1, ack_1, ack_max, ack_max});
  CHECK(scans_of_gw1(f.db) == 2);
  CHECK(f.db.count("SELECT count(*) FROM visits") ==
        f.db.count("SELECT count(*) FROM scans WHERE outcome = 'checked_in'"));
  CHECK(f.db.invariant_violations().empty());
}

TEST_CASE("malformed lines get ERR malformed, are not applied, close nothing") {
  fixture f;
  server_process server{f.db, {"--gateway.max-malformed=50"}};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);

  // No seq can be read from these.
  for (const std::string& line : std::vector<std::string>{
           "SCAN 01 lab-door badge-k1", "SCAN -1 lab-door badge-k1",
           "SCAN +1 lab-door badge-k1",
           "SCAN 18446744073709551616 lab-door "
           "badge-k1",
           "SCAN x lab-door badge-k1", "SCAN", "scan 1 lab-door badge-k1",
           " PING x", "PING", "PING a b", "PING " + std::string(65, 'w'),
           "QUIT now", "NOPE", "", "HELLO gw-1 test-token-1"}) {
    INFO("line: " << line);
    gw.send(line + "\n");
    CHECK(starts_with(gw.line(), "ERR - malformed "));
  }
  // These name their seq, which the ERR repeats.
  for (const std::string& line : std::vector<std::string>{
           "SCAN 5 lab-door", "SCAN 6 lab-door badge-k1 extra",
           "SCAN 7 lab-door badge-k1\t", "SCAN 8  lab-door badge-k1",
           "SCAN 9 lab-door " + std::string(65, 'b'),
           "SCAN 10 " + std::string(65, 'r') + " badge-k1",
           "SCAN 11 lab-door badge-\xc3\xa9", "SCAN 12 lab-door badge-k1 "}) {
    INFO("line: " << line);
    gw.send(line + "\n");
    auto seq = line.substr(5, line.find(' ', 5) - 5);
    CHECK(starts_with(gw.line(), "ERR " + seq + " malformed "));
  }
  CHECK(scans_of_gw1(f.db) == 0);

  // The connection goes on, and the extreme seqs are fine.
  gw.send("PING still-open\n");
  CHECK(gw.line() == "PONG still-open");
  gw.send(scan_line(0, W::lab_door, W::b_k1));
  auto ack = gw.line();
  CHECK(ack == "ACK 0 checked_in visit=" + visit_of(f.db, 0) +
                   " name=Kim%20Keyholder");
  gw.send("SCAN 18446744073709551615 lab-door badge-m1\n");
  ack = gw.line();
  CHECK(ack == "ACK 18446744073709551615 checked_in visit=" +
                   visit_of(f.db, 18446744073709551615ull) +
                   " name=Mia%20Member");
  CHECK(scans_of_gw1(f.db) == 2);
}

TEST_CASE("more malformed lines in a row than allowed close the connection") {
  fixture f;
  server_process server{f.db, {"--gateway.max-malformed=3"}};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  auto malformed = [&](int n) {
    for (int i = 0; i < n; ++i) {
      gw.send("NOPE\n");
      CHECK(starts_with(gw.line(), "ERR - malformed"));
    }
  };

  // Three in a row are tolerated; a PING or a SCAN breaks the row.
  malformed(3);
  gw.send("PING a\n");
  CHECK(gw.line() == "PONG a");
  malformed(3);
  gw.send(scan_line(1, W::lab_door, W::b_k1));
  CHECK(starts_with(gw.line(), "ACK 1 checked_in"));
  malformed(3);
  gw.send("PING b\n");
  CHECK(gw.line() == "PONG b");

  // The fourth in a row is answered, then the connection is closed.
  malformed(4);
  CHECK(gw.closed_by_server());
  CHECK(server.log().find("gateway=gw-1 disconnected: too many malformed "
                          "lines") != std::string::npos);
}

TEST_CASE("scans beyond the in-flight limit get busy and are not applied") {
  fixture f;
  server_process server{f.db, {"--gateway.max-inflight=4"}};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  {
    // While the database holds every commit, four scans are in flight and
    // the next ones are refused at once.
    scans_locked lock{f.db};
    gw.send(scan_line(1, W::lab_door, W::b_k1) +
            scan_line(2, W::lab_door, W::b_m1) +
            scan_line(3, W::shop_door, W::b_k2) +
            scan_line(4, W::shop_door, W::b_m2) +
            scan_line(5, W::lab_door, W::b_m2) +
            scan_line(6, W::shop_door, W::b_m3));
    CHECK(starts_with(gw.line(), "ERR 5 busy "));
    CHECK(starts_with(gw.line(), "ERR 6 busy "));
    CHECK_FALSE(gw.line(300ms));  // no ACK before the commit
  }
  std::set<std::string> acked;
  for (int i = 0; i < 4; ++i) {
    auto ack = gw.line();
    REQUIRE(starts_with(ack, "ACK "));
    acked.insert(ack->substr(4, 1));
  }
  CHECK(acked == std::set<std::string>{"1", "2", "3", "4"});
  CHECK(f.db.count("SELECT count(*) FROM scans WHERE gateway_seq IN (5, 6)") ==
        0);

  // Sent again once there is room, they are applied as new scans.
  gw.send(scan_line(5, W::lab_door, W::b_m2));
  auto again = gw.line();
  CHECK(again ==
        "ACK 5 checked_in visit=" + visit_of(f.db, 5) + " name=Max%20Member");
  gw.send(scan_line(6, W::shop_door, W::b_m3));
  again = gw.line();
  CHECK(again ==
        "ACK 6 checked_in visit=" + visit_of(f.db, 6) + " name=Mo%20Member");
  CHECK(scans_of_gw1(f.db) == 6);
}

TEST_CASE("a full database queue answers busy and applies nothing") {
  fixture f;
  server_process server{f.db, {"--db.pool-size=1", "--db.queue-limit=1"}};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  std::string refused;
  {
    // Three facilities ask at once (the lab, the shop and the actor for
    // unknown readers): one gets the only connection, which waits for the
    // lock, one waits in the queue, and one finds the queue full.
    scans_locked lock{f.db};
    gw.send(scan_line(1, W::lab_door, W::b_k1) +
            scan_line(2, W::shop_door, W::b_k2) +
            scan_line(3, "no-such-reader", W::b_m1));
    auto err = gw.line();
    REQUIRE(err);
    CHECK(err->find(" busy ") != std::string::npos);
    REQUIRE(err->rfind("ERR ", 0) == 0);
    refused = err->substr(4, 1);
  }
  std::set<std::string> acked;
  for (int i = 0; i < 2; ++i) {
    auto ack = gw.line();
    REQUIRE(starts_with(ack, "ACK "));
    CHECK(*ack == ack_in_db(f.db, "gw-1", std::stoull(ack->substr(4, 1))));
    acked.insert(ack->substr(4, 1));
  }
  CHECK(acked.size() == 2);
  CHECK(acked.count(refused) == 0);
  CHECK(f.db.count("SELECT count(*) FROM scans WHERE gateway_seq = " +
                   refused) == 0);
}

TEST_CASE(
    "a scan the database cannot commit in time gets unavailable and "
    "is not applied") {
  fixture f;
  server_process server{f.db,
                        {"--db.statement-timeout=1s", "--db.request-timeout=2s",
                         "--gateway.scan-timeout=3s"}};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  {
    // The lock outlasts the statement timeout.
    scans_locked lock{f.db};
    gw.send(scan_line(1, W::lab_door, W::b_k1));
    auto err = gw.line(5s);
    CHECK(starts_with(err, "ERR 1 unavailable "));
  }
  CHECK(scans_of_gw1(f.db) == 0);

  // Sent again, it is applied now.
  gw.send(scan_line(1, W::lab_door, W::b_k1));
  auto ack = gw.line();
  CHECK(ack == "ACK 1 checked_in visit=" + visit_of(f.db, 1) +
                   " name=Kim%20Keyholder");
  CHECK(scans_of_gw1(f.db) == 1);
}

TEST_CASE("a stopping server refuses new scans and answers those in flight") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  std::optional<std::string> ack;
  {
    scans_locked lock{f.db};
    // The PONG shows that scan 1 has been taken and is in flight.
    gw.send(scan_line(1, W::lab_door, W::b_k1) + "PING taken\n");
    REQUIRE(gw.line() == "PONG taken");
    server.stop(SIGTERM, 0ms);
    REQUIRE(server.wait_for_log("stopped accepting", 5s));

    gw.send(scan_line(2, W::lab_door, W::b_m1));
    CHECK(starts_with(gw.line(), "ERR 2 shutting_down "));
  }
  ack = gw.line();
  CHECK(ack == "ACK 1 checked_in visit=" + visit_of(f.db, 1) +
                   " name=Kim%20Keyholder");
  CHECK(gw.closed_by_server());
  CHECK(scans_of_gw1(f.db) == 1);
  CHECK(exits_within(server, 10s));
}

TEST_CASE("PING is answered with PONG and the same word") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  for (const std::string& word : std::vector<std::string>{
           "x", "still-here", "~!#$%&'()*+,-./:;<=>?@[]^_`{|}",
           std::string(64, 'w')}) {
    gw.send("PING " + word + "\n");
    CHECK(gw.line() == "PONG " + word);
  }
}

TEST_CASE("QUIT waits for the scans in flight, then says BYE and closes") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  {
    scans_locked lock{f.db};
    gw.send(scan_line(1, W::lab_door, W::b_k1) +
            scan_line(2, W::shop_door, W::b_k2) + "QUIT\n");
    CHECK_FALSE(gw.line(300ms));
  }
  std::set<std::string> acks;
  for (int i = 0; i < 2; ++i)
    acks.insert(gw.line().value_or("(none)"));
  CHECK(acks ==
        std::set<std::string>{"ACK 1 checked_in visit=" + visit_of(f.db, 1) +
                                  " name=Kim%20Keyholder",
                              "ACK 2 checked_in visit=" + visit_of(f.db, 2) +
                                  " name=Kai%20Keyholder"});
  CHECK(gw.line() == "BYE");
  CHECK(gw.closed_by_server());
  CHECK(server.log().find("gateway=gw-1 disconnected: QUIT") !=
        std::string::npos);
}

TEST_CASE(
    "a silent connection is closed after the idle timeout, a busy one "
    "is not") {
  fixture f;
  server_process server{f.db, {"--gateway.idle-timeout=1s"}};
  gateway_client silent{server.port()};
  silent.login("gw-1", token);
  gateway_client talking{server.port()};
  talking.login("gw-2", token_2);

  // Talking every 300 ms for twice the timeout keeps a connection open;
  // the silent one is still open after 600 ms and closed after 2.1 s.
  for (int i = 0; i < 7; ++i) {
    std::this_thread::sleep_for(300ms);
    talking.send("PING " + std::to_string(i) + "\n");
    CHECK(talking.line() == "PONG " + std::to_string(i));
    if (i == 1) CHECK_FALSE(silent.closed_by_server(50ms));
  }
  CHECK(silent.closed_by_server(1s));
  talking.send("PING last\n");
  CHECK(talking.line() == "PONG last");
  CHECK(server.log().find("gateway=gw-1 disconnected: idle for") !=
        std::string::npos);
  CHECK(server.log().find("gateway=gw-2 disconnected") == std::string::npos);
}

TEST_CASE("a gateway logging in again replaces its older connection") {
  fixture f;
  server_process server{f.db};
  gateway_client old{server.port()};
  old.login("gw-1", token);
  old.send(scan_line(1, W::lab_door, W::b_k1));
  auto first = old.line();
  REQUIRE(starts_with(first, "ACK 1 checked_in"));

  // A failed login under the same id leaves it alone.
  {
    gateway_client impostor{server.port()};
    impostor.send("HELLO gw-1 wrong-token\n");
    CHECK(starts_with(impostor.line(), "ERR - auth_failed"));
  }
  CHECK(pongs(old, "still-mine"));

  // The old connection is still open when the new one logs in.
  gateway_client fresh{server.port()};
  CHECK(fresh.login("gw-1", token) == "WELCOME 1 facilityd-test");
  CHECK(old.closed_by_server());
  CHECK(server.wait_for_log("disconnected: replaced by a new connection", 5s));

  fresh.send(scan_line(1, W::lab_door, W::b_k1));
  CHECK(fresh.line() == first);
  fresh.send(scan_line(2, W::lab_door, W::b_m1));
  auto second = fresh.line();
  CHECK(second ==
        "ACK 2 checked_in visit=" + visit_of(f.db, 2) + " name=Mia%20Member");
  // Another gateway is not affected by it.
  gateway_client other{server.port()};
  other.login("gw-2", token_2);
  other.send("PING other\n");
  CHECK(other.line() == "PONG other");
  fresh.send("PING fresh\n");
  CHECK(fresh.line() == "PONG fresh");
}

TEST_CASE("connections beyond the limit get busy and are closed") {
  fixture f;
  server_process server{f.db, {"--gateway.max-connections=2"}};
  gateway_client one{server.port()};
  one.login("gw-1", token);
  gateway_client two{server.port()};
  two.login("gw-2", token_2);

  gateway_client three{server.port()};
  CHECK(starts_with(three.line(), "ERR - busy "));
  CHECK(three.closed_by_server());
  one.send("PING one\n");
  CHECK(one.line() == "PONG one");

  // A connection that ends frees its place. The server counts it free
  // just after closing the socket, hence the short wait.
  two.send("QUIT\n");
  CHECK(two.line() == "BYE");
  CHECK(two.closed_by_server());
  std::this_thread::sleep_for(200ms);
  gateway_client four{server.port()};
  CHECK(four.login("gw-2", token_2) == "WELCOME 1 facilityd-test");
}

TEST_CASE("clients trickling bytes hold the connection limit only briefly") {
  fixture f;
  server_process server{
      f.db,
      {"--gateway.max-connections=4", "--gateway.hello-timeout=1s",
       "--gateway.idle-timeout=2s"}};
  // Every place is taken by a client that sends a byte every 100 ms and
  // never ends a line: two before HELLO, two after logging in.
  std::vector<std::unique_ptr<gateway_client>> slow;
  for (int i = 0; i < 4; ++i)
    slow.push_back(std::make_unique<gateway_client>(server.port()));
  slow[2]->login("gw-1", token);
  slow[3]->login("gw-2", token_2);
  const std::string hello = "HELLO gw-1 " + std::string(100, 'x');
  const std::string ping = "PING " + std::string(100, 'y');
  {
    gateway_client refused{server.port()};
    CHECK(starts_with(refused.line(), "ERR - busy "));
  }

  // The deadline for HELLO runs from the connect, and after login only a
  // whole line counts as activity, so a byte now and then buys nothing.
  auto start = steady::now();
  std::vector<std::chrono::milliseconds> closed_after(4, 0ms);
  for (size_t pos = 0; pos < hello.size(); ++pos) {
    size_t open = 0;
    for (size_t i = 0; i < slow.size(); ++i) {
      if (closed_after[i] > 0ms) continue;
      if (slow[i]->closed_by_server(5ms)) {
        closed_after[i] = since(start);
        continue;
      }
      ++open;
      slow[i]->send_within(std::string(1, (i < 2 ? hello : ping)[pos]), 100ms);
    }
    if (open == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  INFO("closed after " << closed_after[0].count() << ", "
                       << closed_after[1].count() << ", "
                       << closed_after[2].count() << ", "
                       << closed_after[3].count() << " ms");
  for (size_t i = 0; i < 2; ++i) {
    CHECK(closed_after[i] >= 800ms);
    CHECK(closed_after[i] < 1800ms);
  }
  for (size_t i = 2; i < 4; ++i) {
    CHECK(closed_after[i] >= 1800ms);
    CHECK(closed_after[i] < 3000ms);
  }
  CHECK(server.log().find("disconnected: no HELLO within 1000 ms") !=
        std::string::npos);
  CHECK(server.log().find("gateway=gw-1 disconnected: idle for") !=
        std::string::npos);

  // The places are free again for gateways that talk.
  std::this_thread::sleep_for(200ms);
  gateway_client gw{server.port()};
  CHECK(gw.login("gw-1", token) == "WELCOME 1 facilityd-test");
  gw.send(scan_line(1, W::lab_door, W::b_k1));
  CHECK(starts_with(gw.line(), "ACK 1 checked_in"));
}

TEST_CASE("the log tells of connects, logins and disconnects, never a token") {
  fixture f;
  const std::string wrong = "wrong-secret-7f3a";
  server_process server{f.db, {"--log.level=debug"}};
  {
    gateway_client gw{server.port()};
    gw.login("gw-1", token);
    gw.send(scan_line(1, W::lab_door, W::b_k1));
    CHECK(gw.line());
    gw.send("QUIT\n");
    CHECK(gw.closed_by_server());
  }
  {
    gateway_client gw{server.port()};
    gw.send("HELLO gw-1 " + wrong + "\n");
    CHECK(gw.closed_by_server());
  }
  {
    gateway_client gw{server.port()};
    gw.send(std::string{"HELLO gw-2 "} + token_2 + " " + wrong + "\n");
    CHECK(gw.closed_by_server());
  }
  {
    gateway_client gw{server.port()};
    gw.login("gw-2", token_2);
  }
  REQUIRE(
      server.wait_for_log("gateway=gw-2 disconnected: closed by the "
                          "gateway",
                          5s));

  auto log = server.log();
  for (const std::string& expected : std::vector<std::string>{
           "conn=1 connected from 127.0.0.1:",
           "conn=1 gateway=gw-1 authenticated",
           "conn=1 gateway=gw-1 disconnected: QUIT",
           "conn=2 connected from 127.0.0.1:",
           "conn=2 authentication failed: wrong token for gateway 'gw-1'",
           "conn=2 disconnected: authentication failed",
           "conn=3 disconnected: authentication failed",
           "conn=4 gateway=gw-2 authenticated",
           "conn=4 gateway=gw-2 disconnected: closed by the gateway"}) {
    INFO("expected in the log: " << expected);
    CHECK(log.find(expected) != std::string::npos);
  }
  CHECK(log.find(token) == std::string::npos);
  CHECK(log.find(token_2) == std::string::npos);
  CHECK(log.find(wrong) == std::string::npos);
}

TEST_CASE("a gateway that stops sending still gets the answers it is owed") {
  fixture f;
  server_process server{f.db};
  gateway_client gw{server.port()};
  gw.login("gw-1", token);
  gw.send("SCAN 1 lab-door badge-k1\nSCAN 2 lab-door badge-m1\n");
  gw.finish_sending();
  auto first = gw.line();
  auto second = gw.line();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(starts_with(first, "ACK "));
  CHECK(starts_with(second, "ACK "));
  CHECK(gw.closed_by_server());
  CHECK(f.db.count("SELECT count(*) FROM scans") == 2);
}

TEST_CASE("an address that keeps failing to log in is refused for a while") {
  fixture f;
  server_process server{f.db, {"--gateway.max-login-failures=3"}};
  for (int i = 0; i < 3; ++i) {
    gateway_client gw{server.port()};
    gw.send("HELLO gw-1 guess-" + std::to_string(i) + "\n");
    CHECK(starts_with(gw.line(), "ERR - auth_failed unknown gateway"));
    CHECK(gw.closed_by_server());
  }
  // Even the right token is not tried now: guessing gets nowhere.
  gateway_client gw{server.port()};
  gw.send(std::string{"HELLO gw-1 "} + token + "\n");
  CHECK(starts_with(gw.line(), "ERR - auth_failed too many failed logins"));
  CHECK(gw.closed_by_server());
  CHECK(server.log().find("failed 3 logins within a minute") !=
        std::string::npos);
  CHECK(server.log().find("authenticated") == std::string::npos);
}

TEST_CASE("a mistyped admin request is refused and the admin side lives on") {
  fixture f;
  server_process server{f.db};
  gateway_client admin{server.admin_port()};
  admin.send(R"({"id": 1, "cmd": "auth", "user": "t", "token": ")" +
             server.admin_token() + "\"}\n");
  REQUIRE(starts_with(admin.line(), R"({"id":1,"ok":true)"));
  // The database worker reads the rows; a string where a boolean belongs
  // must come back as bad_request, not end the worker.
  admin.send(R"({"id": 2, "cmd": "import.participants", "args": {"rows": )"
             R"([{"name": "Ann", "keyholder": "yes"}]}})"
             "\n");
  auto refused = admin.line();
  REQUIRE(refused);
  CHECK(refused->find("\"bad_request\"") != std::string::npos);
  admin.send(R"({"id": 3, "cmd": "status"})"
             "\n");
  auto status = admin.line();
  REQUIRE(status);
  CHECK(status->find("\"database\":\"reachable\"") != std::string::npos);
  CHECK(f.db.count("SELECT count(*) FROM participants WHERE name = 'Ann'") ==
        0);
  // The worker's connection is not left inside the failed transaction.
  admin.send(R"({"id": 4, "cmd": "participant.add", "args": {"name": "Bo"}})"
             "\n");
  CHECK(starts_with(admin.line(), R"({"id":4,"ok":true)"));
  CHECK(f.db.count("SELECT count(*) FROM participants WHERE name = 'Bo'") == 1);
  CHECK(f.db.count("SELECT count(*) FROM admin_audit WHERE action ="
                   " 'participant.add'") == 1);
}

TEST_CASE("a storm of connections logs a few lines, not one per connection") {
  fixture f;
  server_process server{f.db, {"--gateway.max-login-failures=1000"}};
  for (int i = 0; i < 60; ++i) {
    gateway_client c{server.port()};
    c.send("HELLO gw-1 wrong-token\n");
    CHECK(c.closed_by_server());
  }
  // Each kind of line is let through 20 times in 10 s, counted from its
  // first, and the storm takes well under that.
  gateway_client gw{server.port()};
  CHECK_NOTHROW(gw.login("gw-1", token));
  auto log = server.log();
  auto lines_with = [&](const std::string& text) {
    size_t n = 0;
    for (auto at = log.find(text); at != std::string::npos;
         at = log.find(text, at + 1))
      ++n;
    return n;
  };
  CHECK(lines_with(" connected from ") == 20);
  CHECK(lines_with(" authentication failed: wrong token") == 20);
  CHECK(lines_with(" disconnected: ") == 20);
}
