// The facility actors over an in-memory store that fails on request: the
// paths a real database takes only by bad luck (a commit whose outcome is
// lost, a fence, a refusal, a full queue).

#include <doctest/doctest.h>

#include <caf/all.hpp>

#include "actors/registry.hpp"
#include "tests/support/fake_store.hpp"

using namespace facilityd;
using namespace facilityd::test;

namespace {

constexpr facility_id lab = 1;

struct harness {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<fake_store> db;
  registry_actor registry;

  explicit harness(db_pool_options pool = {}, int facilities = 1,
                   size_t facility_queue_limit = 1000) {
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    world w;
    for (int i = 1; i <= facilities; ++i) {
      facility_state f;
      f.id = i;
      f.name = "room " + std::to_string(i);
      w.facilities.push_back(f);
      w.dir.add_reader("door-" + std::to_string(i), i, "gw");
    }
    db = std::make_unique<fake_store>(w.facilities);
    w.dir.add_participant({10, "Kim", true, false});
    w.dir.add_participant({20, "Mia", false, false});
    w.dir.add_badge("kim", 10);
    w.dir.add_badge("mia", 20);
    w.dir.add_reader("door", lab, "gw");
    server_options opts;
    opts.pool = pool;
    opts.facility.db_timeout = std::chrono::seconds{5};
    opts.facility.queue_limit = facility_queue_limit;
    registry = spawn_registry(*sys, std::move(w), db->factory(), opts);
  }

  ~harness() {
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    registry = nullptr;
    sys->await_all_actors_done();
  }

  caf::expected<scan_reply> scan(uint64_t seq, const char* badge,
                                 const char* gateway = "gw") {
    caf::scoped_actor self{*sys};
    caf::expected<scan_reply> out{caf::sec::request_timeout};
    self->request(registry, std::chrono::seconds{10}, scan_atom::value,
                  scan_request{gateway, seq, "door", badge})
        .receive([&](scan_reply& r) { out = std::move(r); },
                 [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  facility_state memory() {
    caf::scoped_actor self{*sys};
    facility_state out;
    self->request(registry, std::chrono::seconds{10}, state_atom::value, lab)
        .receive([&](facility_state& f) { out = std::move(f); },
                 [&](caf::error& e) { FAIL(describe(e)); });
    return out;
  }
};

}  // namespace

TEST_CASE("a commit whose outcome was lost is answered as the replay it is") {
  harness h;
  h.db->script(fake_store::step::commit_then_lose);
  auto r = h.scan(1, "kim");
  REQUIRE_MESSAGE(r, describe(r.error()));
  CHECK(r->result == outcome::checked_in);
  CHECK(r->replayed);
  CHECK(h.db->scans_recorded() == 1);
  CHECK(h.memory() == h.db->facility(lab));
}

TEST_CASE("a failure before the write leaves memory as it was") {
  harness h;
  REQUIRE(h.scan(1, "kim"));
  auto before = h.memory();
  h.db->script(fake_store::step::fail_before, errc::unavailable);
  auto r = h.scan(2, "mia");
  REQUIRE_FALSE(r);
  CHECK(errc_of(r.error()) == errc::unavailable);
  CHECK(h.memory() == before);
  CHECK(h.memory() == h.db->facility(lab));
}

TEST_CASE("a fenced decision is made again from a fresh read") {
  harness h;
  // Another server opens the lab behind this one's back.
  h.db->change_behind_the_back(lab, [](facility_state& f) {
    f.visits[10] = open_visit{99, 10, true, 5};
  });
  auto r = h.scan(1, "mia");
  REQUIRE_MESSAGE(r, describe(r.error()));
  CHECK(r->result == outcome::checked_in);
  CHECK(h.memory() == h.db->facility(lab));
}

TEST_CASE("a scan that keeps meeting conflicts gives up as unavailable") {
  harness h;
  for (int i = 0; i < 10; ++i)
    h.db->script(fake_store::step::fail_before, errc::conflict);
  auto r = h.scan(1, "kim");
  REQUIRE_FALSE(r);
  CHECK(errc_of(r.error()) == errc::unavailable);
  CHECK(h.db->scans_recorded() == 0);
  // Once the conflicts stop, the same scan goes through.
  h.db->clear_script();
  auto again = h.scan(1, "kim");
  REQUIRE(again);
  CHECK(again->result == outcome::checked_in);
  CHECK(h.memory() == h.db->facility(lab));
}

TEST_CASE("a scan at another gateway's reader is an unknown reader") {
  harness h;
  auto before = h.memory();
  auto stranger = h.scan(1, "kim", "gw-elsewhere");
  REQUIRE(stranger);
  CHECK(stranger->result == outcome::denied_unknown_reader);
  CHECK(h.memory() == before);
  CHECK(h.db->facility(lab) == before);

  // The gateway the door is wired to opens it with the same badge.
  auto own = h.scan(1, "kim");
  REQUIRE(own);
  CHECK(own->result == outcome::checked_in);
  CHECK(h.memory().is_open());
}

TEST_CASE("a full database queue refuses scans as busy at once") {
  db_pool_options pool;
  pool.workers = 1;
  pool.queue_limit = 1;
  harness h{pool, 3};
  h.db->script(fake_store::step::hold);
  caf::scoped_actor self{*h.sys};
  auto send = [&](uint64_t seq, const char* door) {
    self->send(h.registry, scan_atom::value,
               scan_request{"gw", seq, door, "kim"});
  };
  send(1, "door-1");  // holds the only worker
  h.db->wait_until_held();
  send(2, "door-2");  // waits in the queue
  send(3, "door-3");  // finds the queue full
  std::map<uint64_t, std::string> answers;
  auto collect = [&] {
    self->receive(
        [&](scan_reply& r) { answers[r.visit] = "ok"; },
        [&](caf::error& e) { answers[0] = describe(e); },
        caf::after(std::chrono::seconds{10}) >> [&] { FAIL("no answer"); });
  };
  collect();
  CHECK(answers.size() == 1);
  CHECK(answers[0].rfind("busy", 0) == 0);
  h.db->release();
  collect();
  collect();
  CHECK(h.db->scans_recorded() == 2);
}

TEST_CASE("a facility with too many scans waiting refuses more as busy") {
  harness h{{}, 1, 2};
  h.db->script(fake_store::step::hold);
  caf::scoped_actor self{*h.sys};
  for (uint64_t seq = 1; seq <= 6; ++seq)
    self->send(h.registry, scan_atom::value,
               scan_request{"gw", seq, "door", seq % 2 ? "kim" : "mia"});
  h.db->wait_until_held();
  // The first scan holds the facility; of the five behind it, those past
  // the limit are refused once the facility gets to them.
  h.db->release();
  int busy = 0, done = 0;
  for (int i = 0; i < 6; ++i)
    self->receive(
        [&](scan_reply&) { ++done; },
        [&](caf::error& e) { busy += errc_of(e) == errc::busy; },
        caf::after(std::chrono::seconds{10}) >> [&] { FAIL("no answer"); });
  CHECK(busy > 0);
  CHECK(done + busy == 6);
  CHECK(h.db->scans_recorded() == static_cast<size_t>(done));
}
