// The facility actors against a real PostgreSQL: write-through of every
// outcome, replays, recovery, the version fence between two servers, and
// failures that must leave memory as it was.

#include <doctest/doctest.h>

#include <caf/all.hpp>

#include "persistence/errc.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;

namespace {

using W = small_world;

// Sends one scan and requires that it succeeded.
scan_reply must_scan(test_server& s, uint64_t seq, const char* reader,
                     const char* badge) {
  auto r = s.scan("gw-1", seq, reader, badge);
  INFO("scan " << seq << " of " << badge << " at " << reader);
  REQUIRE_MESSAGE(r, (r ? "" : describe(r.error())));
  return *r;
}

void require_consistent(test_server& s, test_db& db) {
  auto violations = db.invariant_violations();
  for (const auto& v : violations)
    FAIL_CHECK(v);
  auto diffs = memory_differences(s, db);
  for (const auto& d : diffs)
    FAIL_CHECK(d);
}

}  // namespace

TEST_CASE("every outcome is written through and memory matches the db") {
  test_db db;
  W w{db};
  test_server s{db};
  uint64_t seq = 0;
  auto step = [&](const char* reader, const char* badge, outcome expected) {
    auto r = must_scan(s, ++seq, reader, badge);
    CHECK(to_string(r.result) == to_string(expected));
    auto stored = db.scalar(
        "SELECT outcome FROM scans WHERE gateway_id = "
        "'gw-1' AND gateway_seq = " +
        std::to_string(seq));
    CHECK(stored == to_string(expected));
    require_consistent(s, db);
    return r;
  };

  auto k1_in = step(W::lab_door, W::b_k1, outcome::checked_in);
  CHECK(k1_in.visit > 0);
  CHECK(k1_in.name == "Kim Keyholder");
  step(W::shop_door, W::b_m1, outcome::denied_closed);
  step(W::lab_door, W::b_m1, outcome::checked_in);
  step(W::lab_door, W::b_m2, outcome::checked_in);
  step(W::lab_door, W::b_m3, outcome::denied_full);
  step(W::lab_door, W::b_k2, outcome::checked_in);
  step(W::lab_door, W::b_suspended, outcome::denied_suspended);
  auto unknown =
      step(W::lab_door, "no-such-badge", outcome::denied_unknown_badge);
  CHECK(unknown.name.empty());
  step("no-such-reader", W::b_k1, outcome::denied_unknown_reader);
  CHECK(db.count("SELECT count(*) FROM scans WHERE reader_id = "
                 "'no-such-reader' AND facility_id IS NULL") == 1);
  step(W::lab_door, W::b_m1, outcome::checked_out);
  step(W::lab_door, W::b_k2, outcome::checked_out);
  CHECK(db.count("SELECT count(*) FROM visits WHERE checked_out_at IS NULL") ==
        2);

  auto closing = step(W::lab_door, W::b_k1, outcome::checked_out_closed);
  CHECK(closing.closed == 1);
  CHECK(closing.visit == k1_in.visit);
  CHECK(db.count("SELECT count(*) FROM visits WHERE checked_out_at IS NULL") ==
        0);
  CHECK(db.scalar("SELECT close_reason FROM visits WHERE participant_id = " +
                  std::to_string(w.m2)) == "force_close");
  CHECK(db.scalar("SELECT close_reason FROM visits WHERE id = " +
                  std::to_string(k1_in.visit)) == "checked_out");
  CHECK(db.count("SELECT closed_count FROM scans WHERE gateway_seq = " +
                 std::to_string(seq)) == 1);
  // Every scan is in the audit log, denied ones included.
  CHECK(db.count("SELECT count(*) FROM scans") == static_cast<int64_t>(seq));
}

TEST_CASE("a replayed scan returns the stored outcome and changes nothing") {
  test_db db;
  W w{db};
  db.add_reader("lab-side-door", w.lab, "gw-2");
  test_server s{db};
  auto first = must_scan(s, 7, W::lab_door, W::b_k1);
  REQUIRE(first.result == outcome::checked_in);
  CHECK_FALSE(first.replayed);
  auto version = db.scalar("SELECT version FROM facilities WHERE id = " +
                           std::to_string(w.lab));

  // The same (gateway, seq) again, even with other contents, is a replay:
  // it must not check Kim out.
  for (auto badge : {W::b_k1, W::b_m1}) {
    auto again = must_scan(s, 7, W::lab_door, badge);
    CHECK(again.replayed);
    CHECK(again.result == outcome::checked_in);
    CHECK(again.visit == first.visit);
    CHECK(again.name == "Kim Keyholder");
  }
  CHECK(db.count("SELECT count(*) FROM scans") == 1);
  CHECK(db.count("SELECT count(*) FROM visits") == 1);
  CHECK(db.scalar("SELECT version FROM facilities WHERE id = " +
                  std::to_string(w.lab)) == version);
  // The same seq from another gateway is another scan.
  auto other = s.scan("gw-2", 7, "lab-side-door", W::b_k1);
  REQUIRE(other);
  CHECK(other->result == outcome::checked_out_closed);
  require_consistent(s, db);
}

TEST_CASE("a restarted server recovers exactly the state in the database") {
  test_db db;
  W w{db};
  std::map<facility_id, facility_state> before;
  {
    test_server s{db};
    uint64_t seq = 0;
    for (auto badge : {W::b_k1, W::b_m1, W::b_m2, W::b_k2})
      must_scan(s, ++seq, W::lab_door, badge);
    must_scan(s, ++seq, W::shop_door, W::b_k2);
    must_scan(s, ++seq, W::lab_door, W::b_m2);
    for (auto id : {w.lab, w.shop}) {
      auto st = s.state(id);
      REQUIRE(st);
      before[id] = *st;
    }
  }
  test_server again{db};
  CHECK(again.recovered_open_visits == 4);
  for (auto& [id, st] : before) {
    auto now = again.state(id);
    REQUIRE(now);
    CHECK(*now == st);
  }
  // The recovered server goes on from there: Kim leaving does not close
  // the lab while Kai is in, and Kai leaving closes it with Mia inside.
  CHECK(must_scan(again, 100, W::lab_door, W::b_k1).result ==
        outcome::checked_out);
  auto last = must_scan(again, 101, W::lab_door, W::b_k2);
  CHECK(last.result == outcome::checked_out_closed);
  CHECK(last.closed == 1);
  require_consistent(again, db);
}

TEST_CASE(
    "two servers on one database: the fence makes a stale one decide "
    "again") {
  test_db db;
  W w{db};
  db.add_reader("lab-side-door", w.lab, "gw-2");
  test_server a{db};
  test_server b{db};
  // a opens the lab; b still believes it closed.
  CHECK(must_scan(a, 1, W::lab_door, W::b_k1).result == outcome::checked_in);
  auto mia = b.scan("gw-2", 1, "lab-side-door", W::b_m1);
  REQUIRE(mia);
  CHECK(mia->result == outcome::checked_in);
  // a does not know Mia is inside: Kim leaving must still take her out.
  auto kim = must_scan(a, 2, W::lab_door, W::b_k1);
  CHECK(kim.result == outcome::checked_out_closed);
  CHECK(kim.closed == 1);
  CHECK(db.count("SELECT count(*) FROM visits WHERE checked_out_at IS NULL") ==
        0);
  require_consistent(a, db);
  // b still believes Mia is inside until its next scan meets the fence:
  // her scan must not check her out of a visit that no longer exists.
  auto again = b.scan("gw-2", 2, "lab-side-door", W::b_m1);
  REQUIRE(again);
  CHECK(again->result == outcome::denied_closed);
  require_consistent(b, db);
}

TEST_CASE("a failed transaction leaves memory and the database unchanged") {
  test_db db;
  W w{db};
  test_server s{db};
  REQUIRE(must_scan(s, 1, W::lab_door, W::b_k1).result == outcome::checked_in);
  auto before = s.state(w.lab);
  REQUIRE(before);
  db.exec(
      "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
      " $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$");
  db.exec(
      "CREATE TRIGGER refuse_m1 BEFORE INSERT ON scans FOR EACH ROW"
      " WHEN (NEW.participant_id = " +
      std::to_string(w.m1) + ") EXECUTE FUNCTION refuse()");

  auto refused = s.scan("gw-1", 2, W::lab_door, W::b_m1);
  REQUIRE_FALSE(refused);
  CHECK(describe(refused.error()).find("refused by test") != std::string::npos);
  auto after = s.state(w.lab);
  REQUIRE(after);
  CHECK(*after == *before);
  CHECK(db.count("SELECT count(*) FROM visits") == 1);
  CHECK(db.count("SELECT count(*) FROM scans") == 1);
  require_consistent(s, db);

  // Once the database accepts it, the same scan applies.
  db.exec("DROP TRIGGER refuse_m1 ON scans");
  CHECK(must_scan(s, 2, W::lab_door, W::b_m1).result == outcome::checked_in);
  require_consistent(s, db);
}

TEST_CASE("scans go on after the database drops every connection") {
  test_db db;
  W w{db};
  test_server s{db};
  REQUIRE(must_scan(s, 1, W::lab_door, W::b_k1).result == outcome::checked_in);
  db.kill_other_connections();
  // The pool's connections are dead; the scan reconnects and applies once.
  CHECK(must_scan(s, 2, W::lab_door, W::b_m1).result == outcome::checked_in);
  db.kill_other_connections();
  CHECK(must_scan(s, 3, W::lab_door, W::b_m2).result == outcome::checked_in);
  CHECK(db.count("SELECT count(*) FROM scans") == 3);
  require_consistent(s, db);
}

TEST_CASE("staff closing a facility closes every visit through its actor") {
  test_db db;
  W w{db};
  test_server s{db};
  uint64_t seq = 0;
  for (auto badge : {W::b_k1, W::b_m1, W::b_m2})
    must_scan(s, ++seq, W::lab_door, badge);
  auto closed = s.close(w.lab, "alice");
  REQUIRE_MESSAGE(closed, describe(closed.error()));
  CHECK(*closed == 3);
  CHECK(db.count("SELECT count(*) FROM visits WHERE close_reason ="
                 " 'admin_close'") == 3);
  CHECK(db.scalar("SELECT actor || ' ' || action FROM admin_audit") ==
        "alice facility.close");
  require_consistent(s, db);
  // Closed means closed: a member is turned away until a keyholder comes.
  CHECK(must_scan(s, ++seq, W::lab_door, W::b_m1).result ==
        outcome::denied_closed);
}

TEST_CASE("staff checking out the last keyholder closes the facility") {
  test_db db;
  W w{db};
  test_server s{db};
  uint64_t seq = 0;
  for (auto badge : {W::b_k1, W::b_m1})
    must_scan(s, ++seq, W::lab_door, badge);
  auto closed = s.checkout(w.lab, w.k1);
  REQUIRE_MESSAGE(closed, describe(closed.error()));
  CHECK(*closed == 2);
  CHECK(db.scalar("SELECT close_reason FROM visits WHERE participant_id = " +
                  std::to_string(w.m1)) == "force_close");
  auto absent = s.checkout(w.lab, w.m2);
  REQUIRE_FALSE(absent);
  CHECK(describe(absent.error()).find("not checked in") != std::string::npos);
  require_consistent(s, db);
}

TEST_CASE(
    "revoking the last keyholder present closes the facility through "
    "its actor") {
  test_db db;
  W w{db};
  test_server s{db};
  uint64_t seq = 0;
  for (auto badge : {W::b_k1, W::b_m1, W::b_m2})
    must_scan(s, ++seq, W::lab_door, badge);
  must_scan(s, ++seq, W::shop_door, W::b_k1);
  must_scan(s, ++seq, W::shop_door, W::b_k2);
  db.exec("UPDATE participants SET is_keyholder = false WHERE id = " +
          std::to_string(w.k1));
  auto closed = s.publish_directory(db);
  REQUIRE_MESSAGE(closed, describe(closed.error()));
  // The lab loses its only keyholder and closes; the shop keeps Kai.
  CHECK(*closed == 3);
  auto shop = s.state(w.shop);
  REQUIRE(shop);
  CHECK(shop->visits.size() == 2);
  CHECK_FALSE(shop->visits.at(w.k1).keyholder);
  CHECK(db.count("SELECT count(*) FROM visits WHERE checked_out_at IS NULL"
                 " AND facility_id = " +
                 std::to_string(w.lab)) == 0);
  require_consistent(s, db);
  // Kim now scans in as a member: the lab is closed to her.
  CHECK(must_scan(s, ++seq, W::lab_door, W::b_k1).result ==
        outcome::denied_closed);
}

TEST_CASE(
    "a new capacity applies to the next scan and a facility in use stays") {
  test_db db;
  W w{db};
  test_server s{db};
  caf::scoped_actor self{s.system()};
  auto ask = [&](auto... xs) {
    caf::expected<int32_t> out{caf::sec::request_timeout};
    self->request(s.registry(), std::chrono::seconds{10}, xs...)
        .receive([&](int32_t n) { out = n; },
                 [&](caf::error& e) { out = std::move(e); });
    return out;
  };
  uint64_t seq = 0;
  for (auto badge : {W::b_k1, W::b_m1})
    must_scan(s, ++seq, W::lab_door, badge);
  facility_edit e;
  e.set_capacity = true;
  e.capacity = 2;
  REQUIRE(ask(edit_atom::value, w.lab, e,
              audit_entry{"test", "facility.edit", "lab", "", ""}));
  CHECK(db.scalar("SELECT capacity FROM facilities WHERE id = " +
                  std::to_string(w.lab)) == "2");
  CHECK(must_scan(s, ++seq, W::lab_door, W::b_m2).result ==
        outcome::denied_full);
  auto refused = ask(remove_atom::value, w.lab,
                     audit_entry{"test", "facility.remove", "lab", "", ""});
  REQUIRE_FALSE(refused);
  CHECK(describe(refused.error()).find("readers") != std::string::npos);
  require_consistent(s, db);
}
