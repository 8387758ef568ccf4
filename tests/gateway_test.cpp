// facilityd as a process, spoken to over TCP as a gateway would: protocol
// v1 line by line, its errors, and the limits that protect the server.

#include <doctest/doctest.h>

#include "tests/support/server_process.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;

namespace {

using W = small_world;
constexpr const char* token = "test-token-1";

struct fixture {
  test_db db;
  small_world w{db};
  fixture() { db.add_gateway("gw-1", token); }
};

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
