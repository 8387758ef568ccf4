// Unit tests for the scan rules: one test case per behaviour.

#include <doctest/doctest.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rules/directory.hpp"
#include "rules/facility_state.hpp"
#include "rules/outcome.hpp"

using namespace facilityd;

namespace {

participant person(participant_id id, bool keyholder = false,
                   bool suspended = false) {
  return participant{id, "p" + std::to_string(id), keyholder, suspended};
}

participant keyholder(participant_id id) {
  return person(id, true);
}

participant member(participant_id id) {
  return person(id, false);
}

facility_state facility(facility_id id = 7,
                        std::optional<int32_t> capacity = std::nullopt) {
  facility_state f;
  f.id = id;
  f.name = "f" + std::to_string(id);
  f.capacity = capacity;
  f.version = 40;
  return f;
}

// Hands out visit ids, timestamps and versions the way the store would.
// Visit ids are unique across the whole run, so no two visits share one.
commit commit_for(const facility_state& f, const decision& d) {
  static visit_id next_visit = 1000;
  static int64_t now_us = 1'700'000'000'000'000;
  commit c;
  c.at_us = ++now_us;
  c.version = f.version + 1;
  c.visit = d.result == outcome::checked_in ? ++next_visit : d.closes;
  return c;
}

// Decides a scan by `who` and applies it as committed; returns the decision.
decision scan(facility_state& f, const participant& who) {
  auto d = decide(f, &who);
  apply(f, d, commit_for(f, d));
  return d;
}

std::set<participant_id> present(const facility_state& f) {
  std::set<participant_id> result;
  for (const auto& [who, visit] : f.visits)
    result.insert(who);
  return result;
}

std::vector<visit_id> sorted(std::vector<visit_id> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

}  // namespace

// -- outcome -----------------------------------------------------------------

TEST_CASE("outcome names are the protocol names") {
  CHECK(to_string(outcome::checked_in) == "checked_in");
  CHECK(to_string(outcome::checked_out) == "checked_out");
  CHECK(to_string(outcome::checked_out_closed) == "checked_out_closed");
  CHECK(to_string(outcome::denied_closed) == "denied_closed");
  CHECK(to_string(outcome::denied_full) == "denied_full");
  CHECK(to_string(outcome::denied_suspended) == "denied_suspended");
  CHECK(to_string(outcome::denied_unknown_badge) == "denied_unknown_badge");
  CHECK(to_string(outcome::denied_unknown_reader) == "denied_unknown_reader");
}

TEST_CASE("every outcome parses back from its name") {
  std::set<std::string_view> names;
  for (auto x : all_outcomes) {
    CAPTURE(to_string(x));
    CHECK(parse_outcome(to_string(x)) == x);
    names.insert(to_string(x));
  }
  CHECK(names.size() == std::size(all_outcomes));
}

TEST_CASE("parsing an unknown outcome name gives nothing") {
  CHECK_FALSE(parse_outcome("").has_value());
  CHECK_FALSE(parse_outcome("checked").has_value());
  CHECK_FALSE(parse_outcome("Checked_In").has_value());
  CHECK_FALSE(parse_outcome("checked_in ").has_value());
  CHECK_FALSE(parse_outcome("invalid").has_value());
}

TEST_CASE("exactly the denied outcomes are denials") {
  CHECK_FALSE(is_denied(outcome::checked_in));
  CHECK_FALSE(is_denied(outcome::checked_out));
  CHECK_FALSE(is_denied(outcome::checked_out_closed));
  CHECK(is_denied(outcome::denied_closed));
  CHECK(is_denied(outcome::denied_full));
  CHECK(is_denied(outcome::denied_suspended));
  CHECK(is_denied(outcome::denied_unknown_badge));
  CHECK(is_denied(outcome::denied_unknown_reader));
}

// -- directory ---------------------------------------------------------------

TEST_CASE("an unknown badge belongs to nobody") {
  directory dir;
  dir.add_participant(member(1));
  dir.add_badge("b1", 1);
  CHECK(dir.find_by_badge("nope") == nullptr);
  CHECK(dir.find_by_badge("") == nullptr);
  CHECK(dir.find_by_badge("B1") == nullptr);
}

TEST_CASE("a badge finds its owner") {
  directory dir;
  dir.add_participant(member(1));
  dir.add_participant(keyholder(2));
  dir.add_badge("b1", 1);
  dir.add_badge("b2", 2);
  dir.add_badge("b2-spare", 2);
  REQUIRE(dir.find_by_badge("b1") != nullptr);
  CHECK(dir.find_by_badge("b1")->id == 1);
  CHECK_FALSE(dir.find_by_badge("b1")->keyholder);
  REQUIRE(dir.find_by_badge("b2") != nullptr);
  CHECK(dir.find_by_badge("b2")->id == 2);
  CHECK(dir.find_by_badge("b2")->keyholder);
  REQUIRE(dir.find_by_badge("b2-spare") != nullptr);
  CHECK(dir.find_by_badge("b2-spare")->id == 2);
  CHECK(dir.participant_count() == 2);
}

TEST_CASE("reassigning a badge moves it to the new owner") {
  directory dir;
  dir.add_participant(member(1));
  dir.add_participant(member(2));
  dir.add_badge("b", 1);
  dir.add_badge("b", 2);
  REQUIRE(dir.find_by_badge("b") != nullptr);
  CHECK(dir.find_by_badge("b")->id == 2);
}

TEST_CASE("a badge whose owner is not in the directory is unknown") {
  directory dir;
  dir.add_badge("orphan", 99);
  CHECK(dir.find_by_badge("orphan") == nullptr);
}

TEST_CASE("participants are found by id and re-adding one replaces it") {
  directory dir;
  dir.add_participant(member(1));
  CHECK(dir.find(2) == nullptr);
  REQUIRE(dir.find(1) != nullptr);
  CHECK_FALSE(dir.find(1)->keyholder);
  dir.add_participant(person(1, true, true));
  REQUIRE(dir.find(1) != nullptr);
  CHECK(dir.find(1)->keyholder);
  CHECK(dir.find(1)->suspended);
  CHECK(dir.participant_count() == 1);
}

TEST_CASE("a reader maps to its facility and an unknown reader to none") {
  directory dir;
  dir.add_reader("front", 1, "gw-a");
  dir.add_reader("back", 1, "gw-b");
  dir.add_reader("lab", 2, "gw-a");
  CHECK(dir.facility_of("front") == facility_id{1});
  CHECK(dir.facility_of("back") == facility_id{1});
  CHECK(dir.facility_of("lab") == facility_id{2});
  CHECK_FALSE(dir.facility_of("side").has_value());
  CHECK_FALSE(dir.facility_of("").has_value());
}

TEST_CASE("a reader counts only for the gateway it is wired to") {
  directory dir;
  dir.add_reader("front", 1, "gw-a");
  dir.add_reader("back", 1, "gw-b");
  dir.add_reader("spare", 1, "");
  CHECK(dir.facility_for("front", "gw-a") == facility_id{1});
  CHECK(dir.facility_for("back", "gw-b") == facility_id{1});
  CHECK_FALSE(dir.facility_for("front", "gw-b").has_value());
  CHECK_FALSE(dir.facility_for("back", "gw-a").has_value());
  CHECK_FALSE(dir.facility_for("side", "gw-a").has_value());
  // Wired to no gateway: no gateway, not even one without a name, counts.
  CHECK_FALSE(dir.facility_for("spare", "").has_value());
  CHECK_FALSE(dir.facility_for("spare", "gw-a").has_value());
  CHECK(dir.unassigned_readers() == 1);

  dir.add_reader("front", 1, "gw-b");  // rewired
  CHECK(dir.facility_for("front", "gw-b") == facility_id{1});
  CHECK_FALSE(dir.facility_for("front", "gw-a").has_value());
  auto all = dir.readers();
  REQUIRE(all.size() == 3);
  CHECK(all[0].reader == "back");
  CHECK(all[1].reader == "front");
  CHECK(all[1].gateway == "gw-b");
  CHECK(all[2].reader == "spare");
  CHECK(all[2].gateway.empty());
}

// -- rule 1: unknown reader, unknown badge, suspended ------------------------

TEST_CASE("a scan at an unknown reader is denied with no facility or person") {
  auto d = decide_unknown_reader();
  CHECK(d.result == outcome::denied_unknown_reader);
  CHECK_FALSE(d.facility.has_value());
  CHECK_FALSE(d.who.has_value());
  CHECK_FALSE(d.keyholder);
  CHECK(d.closes == 0);
  CHECK(d.force_closed.empty());
}

TEST_CASE("an unknown badge is denied and names the facility but no one") {
  auto f = facility();
  scan(f, keyholder(1));
  auto d = decide(f, nullptr);
  CHECK(d.result == outcome::denied_unknown_badge);
  CHECK(d.facility == f.id);
  CHECK_FALSE(d.who.has_value());
  CHECK_FALSE(d.keyholder);
  CHECK(d.expected_version == f.version);
  CHECK(d.closes == 0);
  CHECK(d.force_closed.empty());
}

TEST_CASE("a suspended member is denied at an open facility") {
  auto f = facility();
  scan(f, keyholder(1));
  auto before = f;
  auto d = scan(f, person(2, false, true));
  CHECK(d.result == outcome::denied_suspended);
  CHECK(d.who == participant_id{2});
  CHECK(present(f) == present(before));
}

TEST_CASE("a suspended keyholder cannot open a closed facility") {
  auto f = facility();
  auto d = scan(f, person(1, true, true));
  CHECK(d.result == outcome::denied_suspended);
  CHECK(d.keyholder);
  CHECK(f.visits.empty());
  CHECK_FALSE(f.is_open());
}

TEST_CASE("a suspended keyholder with an open visit is denied and stays in") {
  auto f = facility();
  scan(f, keyholder(1));
  scan(f, member(2));
  auto before = f.visits;
  // Suspended while inside: the scan is denied, not a check-out.
  auto d = scan(f, person(1, true, true));
  CHECK(d.result == outcome::denied_suspended);
  CHECK(d.closes == 0);
  CHECK(d.force_closed.empty());
  CHECK(f.visits == before);
  CHECK(f.is_open());
}

TEST_CASE("a suspended member with an open visit is denied and stays in") {
  auto f = facility();
  scan(f, keyholder(1));
  scan(f, member(2));
  auto before = f.visits;
  auto d = scan(f, person(2, false, true));
  CHECK(d.result == outcome::denied_suspended);
  CHECK(d.closes == 0);
  CHECK(f.visits == before);
}

// -- rule 2: check-out -------------------------------------------------------

TEST_CASE("a member checking out leaves the facility open") {
  auto f = facility();
  scan(f, keyholder(1));
  scan(f, member(2));
  scan(f, member(3));
  auto visit = f.visits.at(2).id;
  auto d = scan(f, member(2));
  CHECK(d.result == outcome::checked_out);
  CHECK(d.closes == visit);
  CHECK(d.force_closed.empty());
  CHECK(present(f) == std::set<participant_id>{1, 3});
  CHECK(f.is_open());
}

TEST_CASE(
    "a keyholder checking out while another keyholder is in is a plain "
    "check-out") {
  auto f = facility();
  scan(f, keyholder(1));
  scan(f, keyholder(2));
  scan(f, member(3));
  auto visit = f.visits.at(1).id;
  auto d = scan(f, keyholder(1));
  CHECK(d.result == outcome::checked_out);
  CHECK(d.closes == visit);
  CHECK(d.force_closed.empty());
  CHECK(present(f) == std::set<participant_id>{2, 3});
  CHECK(f.is_open());
}

TEST_CASE("last keyholder checking out closes every open visit") {
  auto f = facility();
  scan(f, keyholder(1));
  scan(f, member(2));
  scan(f, member(3));
  scan(f, member(4));
  auto own = f.visits.at(1).id;
  std::vector<visit_id> others = {f.visits.at(2).id, f.visits.at(3).id,
                                  f.visits.at(4).id};
  auto d = scan(f, keyholder(1));
  CHECK(d.result == outcome::checked_out_closed);
  CHECK(d.closes == own);
  CHECK(sorted(d.force_closed) == sorted(others));
  CHECK(f.visits.empty());
  CHECK_FALSE(f.is_open());
}

TEST_CASE(
    "last keyholder alone checks out and closes with nothing "
    "force-closed") {
  auto f = facility();
  scan(f, keyholder(1));
  auto own = f.visits.at(1).id;
  auto d = scan(f, keyholder(1));
  CHECK(d.result == outcome::checked_out_closed);
  CHECK(d.closes == own);
  CHECK(d.force_closed.empty());
  CHECK(f.visits.empty());
  CHECK_FALSE(f.is_open());
}

TEST_CASE("after the second-to-last keyholder leaves the last one closes") {
  auto f = facility();
  scan(f, keyholder(1));
  scan(f, keyholder(2));
  scan(f, member(3));
  auto member_visit = f.visits.at(3).id;
  CHECK(scan(f, keyholder(2)).result == outcome::checked_out);
  auto d = scan(f, keyholder(1));
  CHECK(d.result == outcome::checked_out_closed);
  CHECK(d.force_closed == std::vector<visit_id>{member_visit});
  CHECK(f.visits.empty());
}

TEST_CASE(
    "a member force-closed out of a facility is refused until it "
    "reopens") {
  auto f = facility();
  scan(f, keyholder(1));
  scan(f, member(2));
  REQUIRE(scan(f, keyholder(1)).result == outcome::checked_out_closed);
  // The member's visit was closed, so the next scan is a check-in attempt.
  CHECK(scan(f, member(2)).result == outcome::denied_closed);
  scan(f, keyholder(1));
  CHECK(scan(f, member(2)).result == outcome::checked_in);
}

TEST_CASE("a member may check out of a full facility") {
  auto f = facility(7, 2);
  scan(f, keyholder(1));
  scan(f, member(2));
  REQUIRE(f.visits.size() == 2);
  auto d = scan(f, member(2));
  CHECK(d.result == outcome::checked_out);
  CHECK(present(f) == std::set<participant_id>{1});
}

TEST_CASE("scanning again after checking out checks in again") {
  auto f = facility();
  scan(f, keyholder(1));
  CHECK(scan(f, member(2)).result == outcome::checked_in);
  CHECK(scan(f, member(2)).result == outcome::checked_out);
  CHECK(scan(f, member(2)).result == outcome::checked_in);
  CHECK(present(f) == std::set<participant_id>{1, 2});
}

// -- rule 3: keyholder check-in ----------------------------------------------

TEST_CASE("a keyholder checking in to a closed facility opens it") {
  auto f = facility();
  REQUIRE_FALSE(f.is_open());
  auto d = scan(f, keyholder(1));
  CHECK(d.result == outcome::checked_in);
  CHECK(d.keyholder);
  CHECK(f.is_open());
  CHECK(f.keyholders_present() == 1);
  CHECK(present(f) == std::set<participant_id>{1});
}

TEST_CASE("a second keyholder checks in to an open facility") {
  auto f = facility();
  scan(f, keyholder(1));
  auto d = scan(f, keyholder(2));
  CHECK(d.result == outcome::checked_in);
  CHECK(f.keyholders_present() == 2);
  CHECK(f.is_open());
}

// -- rule 4: member check-in and capacity ------------------------------------

TEST_CASE("a member is refused at a closed facility") {
  auto f = facility();
  auto d = scan(f, member(2));
  CHECK(d.result == outcome::denied_closed);
  CHECK(f.visits.empty());
}

TEST_CASE("a member is refused as closed even with room under the capacity") {
  auto f = facility(7, 10);
  auto d = scan(f, member(2));
  CHECK(d.result == outcome::denied_closed);
  CHECK(f.visits.empty());
}

TEST_CASE("a member checks in to an open facility") {
  auto f = facility();
  scan(f, keyholder(1));
  auto d = scan(f, member(2));
  CHECK(d.result == outcome::checked_in);
  CHECK_FALSE(d.keyholder);
  CHECK(present(f) == std::set<participant_id>{1, 2});
  CHECK(f.keyholders_present() == 1);
}

TEST_CASE("a facility without a capacity admits any number of members") {
  auto f = facility();
  scan(f, keyholder(1));
  for (participant_id id = 100; id < 200; ++id)
    REQUIRE(scan(f, member(id)).result == outcome::checked_in);
  CHECK(f.visits.size() == 101);
}

TEST_CASE("a member checks in while the facility is below its capacity") {
  auto f = facility(7, 3);
  scan(f, keyholder(1));
  CHECK(scan(f, member(2)).result == outcome::checked_in);
  CHECK(scan(f, member(3)).result == outcome::checked_in);
  CHECK(f.visits.size() == 3);
}

TEST_CASE("a full facility refuses a member") {
  auto f = facility(7, 3);
  scan(f, keyholder(1));
  scan(f, member(2));
  scan(f, member(3));
  auto before = f.visits;
  auto d = scan(f, member(4));
  CHECK(d.result == outcome::denied_full);
  CHECK(f.visits == before);
}

TEST_CASE("a full facility still admits a keyholder") {
  auto f = facility(7, 2);
  scan(f, keyholder(1));
  scan(f, member(2));
  REQUIRE(scan(f, member(3)).result == outcome::denied_full);
  auto d = scan(f, keyholder(4));
  CHECK(d.result == outcome::checked_in);
  CHECK(f.visits.size() == 3);  // over the capacity
  CHECK(present(f) == std::set<participant_id>{1, 2, 4});
  // Still over the capacity: members stay out.
  CHECK(scan(f, member(3)).result == outcome::denied_full);
}

TEST_CASE("capacity counts keyholders as well as members") {
  auto f = facility(7, 2);
  scan(f, keyholder(1));
  scan(f, keyholder(2));
  CHECK(scan(f, member(3)).result == outcome::denied_full);
  // One keyholder leaving makes room.
  REQUIRE(scan(f, keyholder(2)).result == outcome::checked_out);
  CHECK(scan(f, member(3)).result == outcome::checked_in);
}

TEST_CASE("a member checking out of a full facility makes room for another") {
  auto f = facility(7, 2);
  scan(f, keyholder(1));
  scan(f, member(2));
  REQUIRE(scan(f, member(3)).result == outcome::denied_full);
  REQUIRE(scan(f, member(2)).result == outcome::checked_out);
  CHECK(scan(f, member(3)).result == outcome::checked_in);
}

// -- rule 5: facilities are independent --------------------------------------

TEST_CASE("a participant may be checked in to several facilities at once") {
  auto a = facility(1);
  auto b = facility(2);
  CHECK(scan(a, keyholder(1)).result == outcome::checked_in);
  // Being in `a` does not make a scan at `b` a check-out.
  CHECK(scan(b, keyholder(1)).result == outcome::checked_in);
  CHECK(scan(a, member(2)).result == outcome::checked_in);
  CHECK(scan(b, member(2)).result == outcome::checked_in);
  CHECK(present(a) == std::set<participant_id>{1, 2});
  CHECK(present(b) == std::set<participant_id>{1, 2});
}

TEST_CASE("checking out of one facility leaves visits in another") {
  auto a = facility(1);
  auto b = facility(2);
  scan(a, keyholder(1));
  scan(b, keyholder(1));
  scan(a, member(2));
  scan(b, member(2));
  CHECK(scan(a, member(2)).result == outcome::checked_out);
  auto d = scan(a, keyholder(1));
  CHECK(d.result == outcome::checked_out_closed);
  CHECK(d.force_closed.empty());
  CHECK(a.visits.empty());
  CHECK(present(b) == std::set<participant_id>{1, 2});
  CHECK(b.is_open());
}

TEST_CASE("an open facility does not let members into a closed one") {
  auto a = facility(1);
  auto b = facility(2);
  scan(a, keyholder(1));
  CHECK(scan(a, member(2)).result == outcome::checked_in);
  CHECK(scan(b, member(2)).result == outcome::denied_closed);
}

// -- decide is pure ----------------------------------------------------------

TEST_CASE("decide does not change the state") {
  auto f = facility(7, 3);
  scan(f, keyholder(1));
  scan(f, member(2));
  scan(f, member(3));
  const auto before = f;
  // Every kind of decision, none of them applied.
  std::vector<participant> scanners = {keyholder(1), member(2), keyholder(4),
                                       member(5), person(6, true, true)};
  std::set<outcome> seen;
  for (const auto& p : scanners) {
    seen.insert(decide(f, &p).result);
    CHECK(f == before);
  }
  seen.insert(decide(f, nullptr).result);
  CHECK(f == before);
  CHECK(seen == std::set<outcome>{
                    outcome::checked_out_closed, outcome::checked_out,
                    outcome::checked_in, outcome::denied_full,
                    outcome::denied_suspended, outcome::denied_unknown_badge});
}

TEST_CASE("decide gives the same decision for the same arguments") {
  auto f = facility();
  scan(f, keyholder(1));
  scan(f, member(2));
  auto p = keyholder(1);
  auto x = decide(f, &p);
  auto y = decide(f, &p);
  CHECK(x.result == y.result);
  CHECK(x.closes == y.closes);
  CHECK(x.force_closed == y.force_closed);
  CHECK(x.expected_version == y.expected_version);
}

// -- decision fields ---------------------------------------------------------

TEST_CASE("a decision names the facility, the scanner and the role") {
  auto f = facility(12);
  f.version = 5;
  auto k = keyholder(1);
  auto d = decide(f, &k);
  CHECK(d.facility == facility_id{12});
  CHECK(d.who == participant_id{1});
  CHECK(d.keyholder);
  auto m = member(2);
  d = decide(f, &m);
  CHECK(d.facility == facility_id{12});
  CHECK(d.who == participant_id{2});
  CHECK_FALSE(d.keyholder);
}

TEST_CASE("a decision carries the version it was decided against") {
  auto f = facility();
  f.version = 41;
  auto k = keyholder(1);
  auto m = member(2);
  auto s = person(3, false, true);
  CHECK(decide(f, &k).expected_version == 41);
  CHECK(decide(f, &m).expected_version == 41);  // denied_closed
  CHECK(decide(f, &s).expected_version == 41);  // denied_suspended
  CHECK(decide(f, nullptr).expected_version == 41);
  scan(f, k);
  CHECK(f.version == 42);
  CHECK(decide(f, &m).expected_version == 42);
}

TEST_CASE("check-ins and denials close no visit") {
  auto f = facility(7, 2);
  auto k = keyholder(1);
  auto m = member(2);
  auto check_in = decide(f, &k);
  CHECK(check_in.result == outcome::checked_in);
  CHECK(check_in.closes == 0);
  CHECK(check_in.force_closed.empty());
  auto closed = decide(f, &m);
  CHECK(closed.result == outcome::denied_closed);
  CHECK(closed.closes == 0);
  CHECK(closed.force_closed.empty());
  scan(f, k);
  scan(f, m);
  auto o = member(3);
  auto full = decide(f, &o);
  CHECK(full.result == outcome::denied_full);
  CHECK(full.closes == 0);
  CHECK(full.force_closed.empty());
}

TEST_CASE("a check-out closes exactly the scanner's own visit") {
  auto f = facility();
  scan(f, keyholder(1));
  scan(f, member(2));
  scan(f, member(3));
  auto m = member(3);
  auto d = decide(f, &m);
  CHECK(d.result == outcome::checked_out);
  CHECK(d.closes == f.visits.at(3).id);
  CHECK(d.closes != f.visits.at(2).id);
}

TEST_CASE("force-closed lists exactly the other visits, not the scanner's") {
  auto f = facility();
  scan(f, keyholder(1));
  for (participant_id id = 10; id < 15; ++id)
    scan(f, member(id));
  // A member who came and went is not force-closed.
  scan(f, member(10));
  std::vector<visit_id> expected;
  for (const auto& [who, visit] : f.visits)
    if (who != 1) expected.push_back(visit.id);
  auto k = keyholder(1);
  auto d = decide(f, &k);
  REQUIRE(d.result == outcome::checked_out_closed);
  CHECK(d.closes == f.visits.at(1).id);
  CHECK(sorted(d.force_closed) == sorted(expected));
  CHECK(d.force_closed.size() == 4);
}

// -- apply -------------------------------------------------------------------

TEST_CASE(
    "applying a check-in stores the visit with the commit's id and "
    "time") {
  auto f = facility();
  auto k = keyholder(1);
  auto d = decide(f, &k);
  apply(f, d, commit{501, 1'234'567, 41});
  CHECK(f.version == 41);
  REQUIRE(f.visits.count(1) == 1);
  CHECK(f.visits.at(1) == open_visit{501, 1, true, 1'234'567});

  auto m = member(2);
  d = decide(f, &m);
  apply(f, d, commit{502, 2'345'678, 42});
  CHECK(f.version == 42);
  REQUIRE(f.visits.count(2) == 1);
  CHECK(f.visits.at(2) == open_visit{502, 2, false, 2'345'678});
  CHECK(f.visits.at(1) == open_visit{501, 1, true, 1'234'567});
}

TEST_CASE("applying a check-out removes only the scanner's visit") {
  auto f = facility();
  auto k = keyholder(1);
  auto m = member(2);
  apply(f, decide(f, &k), commit{501, 10, 41});
  apply(f, decide(f, &m), commit{502, 20, 42});
  auto d = decide(f, &m);
  REQUIRE(d.result == outcome::checked_out);
  apply(f, d, commit{502, 30, 43});
  CHECK(f.version == 43);
  CHECK(f.visits.size() == 1);
  CHECK(f.visits.at(1) == open_visit{501, 1, true, 10});
}

TEST_CASE("applying a closing check-out empties the facility") {
  auto f = facility();
  auto k = keyholder(1);
  auto m = member(2);
  apply(f, decide(f, &k), commit{501, 10, 41});
  apply(f, decide(f, &m), commit{502, 20, 42});
  auto d = decide(f, &k);
  REQUIRE(d.result == outcome::checked_out_closed);
  apply(f, d, commit{501, 30, 43});
  CHECK(f.version == 43);
  CHECK(f.visits.empty());
}

TEST_CASE("applying a denial changes no visit") {
  auto f = facility(7, 1);
  auto k = keyholder(1);
  apply(f, decide(f, &k), commit{501, 10, 41});
  const auto visits = f.visits;
  auto m = member(2);
  auto s = person(3, true, true);
  const std::vector<const participant*> scanners = {&m, &s, nullptr};
  for (const participant* p : scanners) {
    auto d = decide(f, p);
    REQUIRE(is_denied(d.result));
    apply(f, d, commit{0, 99, f.version});
    CHECK(f.visits == visits);
  }
}
