// Unit tests for the visit changes that are not scans: staff closing a
// facility or one visit, and role changes reaching the people inside.

#include <doctest/doctest.h>

#include "rules/visit_change.hpp"

using namespace facilityd;

namespace {

// A facility with keyholder 1 (visit 11), member 2 (visit 12) and member 3
// (visit 13) inside, at version 5.
facility_state busy_lab() {
  facility_state f;
  f.id = 4;
  f.name = "lab";
  f.version = 5;
  f.visits[1] = open_visit{11, 1, true, 100};
  f.visits[2] = open_visit{12, 2, false, 200};
  f.visits[3] = open_visit{13, 3, false, 300};
  return f;
}

directory people(bool one_is_keyholder, bool two_is_keyholder,
                 bool three_suspended) {
  directory d;
  d.add_participant({1, "one", one_is_keyholder, false});
  d.add_participant({2, "two", two_is_keyholder, false});
  d.add_participant({3, "three", false, three_suspended});
  return d;
}

close_reason reason_of(const visit_change& c, visit_id v) {
  for (auto& [id, why] : c.closes)
    if (id == v) return why;
  FAIL("visit " << v << " is not closed");
  return close_reason::checked_out;
}

}  // namespace

TEST_CASE("closing a facility closes every open visit with the reason") {
  auto f = busy_lab();
  auto c = decide_close_all(f, close_reason::admin_close);
  CHECK(c.facility == 4);
  CHECK(c.expected_version == 5);
  REQUIRE(c.closes.size() == 3);
  for (auto v : {11, 12, 13})
    CHECK(reason_of(c, v) == close_reason::admin_close);
  apply(f, c, 6);
  CHECK(f.visits.empty());
  CHECK(f.version == 6);
}

TEST_CASE("staff checking out a member leaves everyone else inside") {
  auto f = busy_lab();
  auto c = decide_check_out(f, 2, close_reason::admin_close);
  REQUIRE(c);
  REQUIRE(c->closes.size() == 1);
  CHECK(reason_of(*c, 12) == close_reason::admin_close);
  apply(f, *c, 6);
  CHECK(f.visits.count(2) == 0);
  CHECK(f.visits.size() == 2);
}

TEST_CASE("staff checking out the last keyholder closes the facility") {
  auto f = busy_lab();
  auto c = decide_check_out(f, 1, close_reason::admin_close);
  REQUIRE(c);
  CHECK(c->closes.size() == 3);
  CHECK(reason_of(*c, 11) == close_reason::admin_close);
  CHECK(reason_of(*c, 12) == close_reason::force_close);
  CHECK(reason_of(*c, 13) == close_reason::force_close);
}

TEST_CASE("checking out someone who is not inside decides nothing") {
  CHECK_FALSE(decide_check_out(busy_lab(), 9, close_reason::admin_close));
}

TEST_CASE("revoking the last keyholder present closes the facility") {
  auto f = busy_lab();
  auto c = decide_reconcile(f, people(false, false, false));
  CHECK(c.closes.size() == 3);
  for (auto v : {11, 12, 13})
    CHECK(reason_of(c, v) == close_reason::force_close);
  CHECK(c.roles.empty());
}

TEST_CASE("granting a member keyholder rights flips their visit's role") {
  auto f = busy_lab();
  auto c = decide_reconcile(f, people(true, true, false));
  CHECK(c.closes.empty());
  REQUIRE(c.roles.size() == 1);
  CHECK(c.roles[0] == std::make_pair(visit_id{12}, true));
  apply(f, c, 6);
  CHECK(f.visits.at(2).keyholder);
  CHECK(f.keyholders_present() == 2);
}

TEST_CASE("revoking one of two keyholders present keeps the facility open") {
  auto f = busy_lab();
  f.visits[2].keyholder = true;
  auto c = decide_reconcile(f, people(false, true, false));
  CHECK(c.closes.empty());
  REQUIRE(c.roles.size() == 1);
  CHECK(c.roles[0] == std::make_pair(visit_id{11}, false));
}

TEST_CASE("a suspended or removed person's visit closes as admin_close") {
  auto f = busy_lab();
  auto c = decide_reconcile(f, people(true, false, true));
  REQUIRE(c.closes.size() == 1);
  CHECK(reason_of(c, 13) == close_reason::admin_close);
  directory without_two;
  without_two.add_participant({1, "one", true, false});
  without_two.add_participant({3, "three", false, false});
  auto gone = decide_reconcile(f, without_two);
  REQUIRE(gone.closes.size() == 1);
  CHECK(reason_of(gone, 12) == close_reason::admin_close);
}

TEST_CASE("suspending the last keyholder present closes the facility") {
  auto f = busy_lab();
  directory d = people(true, false, false);
  d.add_participant({1, "one", true, true});
  auto c = decide_reconcile(f, d);
  CHECK(c.closes.size() == 3);
  CHECK(reason_of(c, 11) == close_reason::admin_close);
  CHECK(reason_of(c, 12) == close_reason::force_close);
}

TEST_CASE("a directory in line with the visits changes nothing") {
  CHECK(decide_reconcile(busy_lab(), people(true, false, false)).empty());
}
