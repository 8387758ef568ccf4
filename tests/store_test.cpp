// The PostgreSQL store on its own: migrations, the record_scan statement's
// checks, and how failures are sorted for the caller.

#include <unistd.h>

#include <doctest/doctest.h>

#include "persistence/errc.hpp"
#include "persistence/migrations.hpp"
#include "tests/support/world.hpp"

using namespace facilityd;
using namespace facilityd::test;

namespace {

using W = small_world;

facility_state load(store& s, facility_id id) {
  auto f = s.load_facility(id);
  REQUIRE_MESSAGE(f, describe(f.error()));
  return *f;
}

// Creates schema `name` beside the test's, makes it the connection's, and
// applies the migrations before `version` to it, as a server of that time
// would have; returns the index of `version` in all_migrations.
size_t schema_before(test_db& db, const std::string& name,
                     std::string_view version) {
  db.exec("DROP SCHEMA IF EXISTS " + name + " CASCADE; CREATE SCHEMA " + name +
          "; SET search_path = " + name);
  size_t i = 0;
  for (; i < all_migrations_count && all_migrations[i].version < version; ++i)
    db.exec(std::string{all_migrations[i].sql});
  REQUIRE(i < all_migrations_count);
  REQUIRE(all_migrations[i].version == version);
  return i;
}

}  // namespace

TEST_CASE(
    "upgrading wires each reader to the gateway that scanned there last") {
  test_db db;
  // A schema of the version before readers had gateways, beside the test's.
  const std::string old = "before_gateways_" + std::to_string(::getpid());
  auto upgrade = schema_before(db, old, "006_reader_gateways");

  db.exec(
      "INSERT INTO facilities (id, name) VALUES (1, 'lab');"
      "INSERT INTO gateways (id, token_hash) VALUES ('gw-a', ''), ('gw-b', '');"
      "INSERT INTO readers (id, facility_id) VALUES"
      "  ('front', 1), ('back', 1), ('quiet', 1), ('orphan', 1);"
      "INSERT INTO scans (gateway_id, gateway_seq, reader_id, badge_uid,"
      "                   outcome, at) VALUES"
      "  ('gw-a', 1, 'front', 'x', 'denied_unknown_badge', now()),"
      "  ('gw-b', 1, 'front', 'x', 'denied_unknown_badge', now()),"  // last
      "  ('gw-a', 2, 'back', 'x', 'denied_unknown_badge', now()),"
      "  ('gone', 1, 'orphan', 'x', 'denied_unknown_badge', now())");
  db.exec(std::string{all_migrations[upgrade].sql});

  auto wired = [&](const char* reader) {
    return db.scalar(
        "SELECT coalesce(gateway_id, '(none)') FROM readers"
        " WHERE id = '" +
        std::string{reader} + "'");
  };
  CHECK(wired("front") == "gw-b");
  CHECK(wired("back") == "gw-a");
  // Never scanned at, or only by a gateway that is gone, with two gateways
  // to choose from: wired to none, so scans there are denied.
  CHECK(wired("quiet") == "(none)");
  CHECK(wired("orphan") == "(none)");
  db.exec("SET search_path = DEFAULT; DROP SCHEMA " + old + " CASCADE");
}

TEST_CASE("upgrading with one gateway wires every reader to it") {
  test_db db;
  const std::string old = "one_gateway_" + std::to_string(::getpid());
  auto upgrade = schema_before(db, old, "006_reader_gateways");
  db.exec(
      "INSERT INTO facilities (id, name) VALUES (1, 'lab');"
      "INSERT INTO gateways (id, token_hash) VALUES ('only', '');"
      "INSERT INTO readers (id, facility_id) VALUES ('front', 1), ('back', 1)");
  db.exec(std::string{all_migrations[upgrade].sql});
  CHECK(db.count("SELECT count(*) FROM readers WHERE gateway_id = 'only'") ==
        2);
  db.exec("SET search_path = DEFAULT; DROP SCHEMA " + old + " CASCADE");
}

TEST_CASE("applying the migrations again changes nothing") {
  test_db db;
  auto before = db.count("SELECT count(*) FROM schema_migrations");
  CHECK(before == static_cast<int64_t>(all_migrations_count));
  auto again = apply_migrations(db.conn());
  REQUIRE(again);
  CHECK(*again == 0);
  CHECK(db.count("SELECT count(*) FROM schema_migrations") == before);
}

TEST_CASE("a decision made against an old version is fenced off") {
  test_db db;
  W w{db};
  auto s = make_pg_store(db.store_options());
  auto lab = load(*s, w.lab);
  auto d = decide(lab, nullptr);  // any decision made at this version
  // Somebody else changes the facility first.
  db.exec("UPDATE facilities SET version = version + 1 WHERE id = " +
          std::to_string(w.lab));
  auto r = s->record_scan({"gw", 1, W::lab_door, "x"}, d);
  REQUIRE_FALSE(r);
  CHECK(errc_of(r.error()) == errc::conflict);
  CHECK(db.count("SELECT count(*) FROM scans") == 0);
}

TEST_CASE("a check-out of a visit that is not open is refused") {
  test_db db;
  W w{db};
  auto s = make_pg_store(db.store_options());
  auto lab = load(*s, w.lab);
  participant kim{w.k1, "Kim", true, false};
  auto in = decide(lab, &kim);
  auto rec = s->record_scan({"gw", 1, W::lab_door, W::b_k1}, in);
  REQUIRE(rec);
  apply(lab, in, rec->committed);
  // The visit is closed behind the store's back, version and all.
  db.exec(
      "UPDATE visits SET checked_out_at = now(),"
      " close_reason = 'checked_out'");
  auto out = decide(lab, &kim);
  auto r = s->record_scan({"gw", 2, W::lab_door, W::b_k1}, out);
  REQUIRE_FALSE(r);
  CHECK(errc_of(r.error()) == errc::conflict);
  CHECK(db.count("SELECT count(*) FROM scans") == 1);
  CHECK(db.count("SELECT version FROM facilities WHERE id = " +
                 std::to_string(w.lab)) == lab.version);
}

TEST_CASE("a force-close that would leave a visit open is refused") {
  test_db db;
  W w{db};
  auto s = make_pg_store(db.store_options());
  auto lab = load(*s, w.lab);
  participant kim{w.k1, "Kim", true, false};
  auto in = decide(lab, &kim);
  auto rec = s->record_scan({"gw", 1, W::lab_door, W::b_k1}, in);
  REQUIRE(rec);
  apply(lab, in, rec->committed);
  // A visit appears that the decision cannot know about.
  db.exec(
      "INSERT INTO visits (participant_id, facility_id, checked_in_at)"
      " VALUES (" +
      std::to_string(w.m1) + ", " + std::to_string(w.lab) + ", now())");
  auto out = decide(lab, &kim);
  REQUIRE(out.result == outcome::checked_out_closed);
  auto r = s->record_scan({"gw", 2, W::lab_door, W::b_k1}, out);
  REQUIRE_FALSE(r);
  CHECK(errc_of(r.error()) == errc::conflict);
  CHECK(db.count("SELECT count(*) FROM visits WHERE checked_out_at IS NULL") ==
        2);
}

TEST_CASE("the world loads as the database holds it") {
  test_db db;
  W w{db};
  auto s = make_pg_store(db.store_options());
  auto lab = load(*s, w.lab);
  participant kim{w.k1, "Kim", true, false};
  auto d = decide(lab, &kim);
  REQUIRE(s->record_scan({"gw", 1, W::lab_door, W::b_k1}, d));
  auto loaded = s->load_world();
  REQUIRE(loaded);
  CHECK(loaded->facilities.size() == 2);
  CHECK(loaded->open_visits == 1);
  CHECK(loaded->dir.participant_count() == 6);
  REQUIRE(loaded->dir.find_by_badge(W::b_m1) != nullptr);
  CHECK(loaded->dir.find_by_badge(W::b_m1)->name == "Mia Member");
  CHECK(loaded->dir.facility_of(W::shop_door) == w.shop);
  auto& f = loaded->facilities[0].id == w.lab ? loaded->facilities[0]
                                              : loaded->facilities[1];
  CHECK(f.capacity == 3);
  CHECK(f.visits.at(w.k1).keyholder);
}

TEST_CASE("an unreachable database is reported without the password") {
  pg_store_options opts;
  opts.dsn =
      "host=127.0.0.1 port=1 user=nobody password=hunter2 "
      "connect_timeout=2";
  auto s = make_pg_store(opts);
  auto r = s->load_facility(1);
  REQUIRE_FALSE(r);
  CHECK(errc_of(r.error()) == errc::unavailable);
  CHECK(describe(r.error()).find("hunter2") == std::string::npos);
  // During the back-off the store fails at once, without a new attempt.
  auto again = s->load_facility(1);
  REQUIRE_FALSE(again);
  CHECK(describe(again.error()).find("pending") != std::string::npos);
}
