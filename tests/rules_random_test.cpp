// Randomized test of the scan rules against a small reference model.
//
// The model is written from the rules as stated, as plainly as possible, and
// shares no code with rules/: a map from (participant, facility) to the open
// visit plus the participant table. Every random scan is decided by both; the
// outcomes, the visits closed and the resulting visits must agree, and the
// invariants must hold after every step.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "rules/directory.hpp"
#include "rules/facility_state.hpp"
#include "rules/outcome.hpp"

using namespace facilityd;

namespace {

struct model_person {
  bool keyholder = false;
  bool suspended = false;
};

struct model_visit {
  visit_id id = 0;
  int64_t at_us = 0;
};

struct model_result {
  outcome result = outcome::denied_unknown_reader;
  visit_id closes = 0;
  std::vector<visit_id> force_closed;
};

// The reference model. Each function follows one sentence of the rules.
struct model {
  std::map<participant_id, model_person> people;
  std::map<std::string, participant_id> badges;
  std::map<std::string, facility_id> readers;
  std::map<facility_id, std::optional<int>> capacity;
  std::map<facility_id, int64_t> version;
  // The open visits: at most one per (participant, facility) by construction.
  std::map<std::pair<participant_id, facility_id>, model_visit> open;

  bool is_keyholder(participant_id p) const { return people.at(p).keyholder; }

  int visits_in(facility_id f) const {
    int n = 0;
    for (const auto& [key, visit] : open)
      if (key.second == f) ++n;
    return n;
  }

  int keyholders_in(facility_id f) const {
    int n = 0;
    for (const auto& [key, visit] : open)
      if (key.second == f && is_keyholder(key.first)) ++n;
    return n;
  }

  // Decides and performs one scan; `new_visit` and `now` are the ids the
  // store would hand out for a check-in.
  model_result scan(const std::string& badge, const std::string& reader,
                    visit_id new_visit, int64_t now) {
    model_result r;
    // Rule 1.
    if (!readers.contains(reader)) {
      r.result = outcome::denied_unknown_reader;
      return r;
    }
    facility_id f = readers.at(reader);
    if (!badges.contains(badge)) {
      r.result = outcome::denied_unknown_badge;
      return r;
    }
    participant_id p = badges.at(badge);
    if (people.at(p).suspended) {
      r.result = outcome::denied_suspended;
      return r;
    }
    // Rule 2: an open visit in F is closed.
    if (open.contains({p, f})) {
      r.closes = open.at({p, f}).id;
      open.erase({p, f});
      if (is_keyholder(p) && keyholders_in(f) == 0) {
        r.result = outcome::checked_out_closed;
        for (auto i = open.begin(); i != open.end();) {
          if (i->first.second == f) {
            r.force_closed.push_back(i->second.id);
            i = open.erase(i);
          } else {
            ++i;
          }
        }
      } else {
        r.result = outcome::checked_out;
      }
      return r;
    }
    // Rule 3: keyholders always get in.
    if (is_keyholder(p)) {
      open[{p, f}] = model_visit{new_visit, now};
      r.result = outcome::checked_in;
      return r;
    }
    // Rule 4.
    if (keyholders_in(f) == 0) {
      r.result = outcome::denied_closed;
      return r;
    }
    if (capacity.at(f) && visits_in(f) >= *capacity.at(f)) {
      r.result = outcome::denied_full;
      return r;
    }
    open[{p, f}] = model_visit{new_visit, now};
    r.result = outcome::checked_in;
    return r;
  }
};

struct world {
  directory dir;
  model ref;
  std::map<facility_id, facility_state> states;
  std::vector<std::string> badge_pool;   // known and unknown badges
  std::vector<std::string> reader_pool;  // known and unknown readers
};

world make_world() {
  world w;
  // Four facilities; three with a capacity, one of them tight.
  const std::pair<facility_id, std::optional<int>> facilities[] = {
      {1, std::nullopt}, {2, 3}, {3, 6}, {4, 2}};
  for (const auto& [id, cap] : facilities) {
    facility_state f;
    f.id = id;
    f.name = "facility " + std::to_string(id);
    if (cap) f.capacity = *cap;
    f.version = 100 * id;
    w.states[id] = f;
    w.ref.capacity[id] = cap;
    w.ref.version[id] = f.version;
    for (const char* door : {"front", "back"}) {
      auto reader = "f" + std::to_string(id) + "-" + door;
      w.dir.add_reader(reader, id, "gw");
      w.ref.readers[reader] = id;
      w.reader_pool.push_back(reader);
    }
  }
  w.reader_pool.push_back("unknown-reader-1");
  w.reader_pool.push_back("unknown-reader-2");

  // Twenty participants: 1-5 keyholders (5 suspended), 6-20 members (19
  // and 20 suspended). Participant 7 has a second badge.
  for (participant_id id = 1; id <= 20; ++id) {
    bool keyholder = id <= 5;
    bool suspended = id == 5 || id == 19 || id == 20;
    w.dir.add_participant({id, "p" + std::to_string(id), keyholder, suspended});
    w.ref.people[id] = model_person{keyholder, suspended};
    auto badge = "badge-" + std::to_string(id);
    w.dir.add_badge(badge, id);
    w.ref.badges[badge] = id;
    w.badge_pool.push_back(badge);
  }
  w.dir.add_badge("badge-7-spare", 7);
  w.ref.badges["badge-7-spare"] = 7;
  w.badge_pool.push_back("badge-7-spare");
  w.badge_pool.push_back("unknown-badge-1");
  w.badge_pool.push_back("unknown-badge-2");
  return w;
}

// The visits the model holds for facility `f`, as the facility state would.
std::map<participant_id, open_visit> model_visits(const model& m,
                                                  facility_id f) {
  std::map<participant_id, open_visit> result;
  for (const auto& [key, visit] : m.open)
    if (key.second == f)
      result[key.first] = open_visit{visit.id, key.first,
                                     m.is_keyholder(key.first), visit.at_us};
  return result;
}

// Compares facility `state`'s visits with the model's and checks I1 and I2.
// Returns a description of the problem, or an empty string.
std::string check_facility(const facility_state& state, const model& m) {
  auto where = "facility " + std::to_string(state.id) + ": ";
  if (state.visits != model_visits(m, state.id))
    return where + "open visits differ from the model's";
  bool any_keyholder = false;
  for (const auto& [who, visit] : state.visits) {
    // I2: the map holds one visit per participant, under its owner.
    if (visit.who != who)
      return where + "visit " + std::to_string(visit.id) + " of " +
             std::to_string(visit.who) + " is filed under " +
             std::to_string(who);
    any_keyholder = any_keyholder || visit.keyholder;
  }
  // I1: open visits need an open keyholder visit; closed means empty.
  if (!state.visits.empty() && !any_keyholder)
    return where + "open visits but no keyholder (I1)";
  if (state.is_open() != any_keyholder)
    return where + "is_open() disagrees with the keyholder visits";
  return {};
}

// Checks every facility, as check_facility does.
std::string check_facilities(const world& w) {
  for (const auto& [id, state] : w.states) {
    auto problem = check_facility(state, w.ref);
    if (!problem.empty()) return problem;
  }
  return {};
}

std::vector<visit_id> sorted(std::vector<visit_id> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

}  // namespace

TEST_CASE("random scan sequences agree with the reference model") {
  const uint64_t seeds[] = {1,   2,    3,    5,    8,    13,   21,
                            34,  55,   89,   144,  233,  377,  610,
                            987, 1597, 2584, 4181, 6765, 10946};
  constexpr int scans_per_seed = 5000;

  std::map<outcome, int> seen;
  int closes_with_others = 0;  // checked_out_closed with force-closed visits
  int suspended_inside = 0;    // scans by a suspended participant inside

  for (uint64_t seed : seeds) {
    CAPTURE(seed);
    // mt19937_64's output is fixed by the standard, and plain modulo keeps
    // the sequence the same on every standard library.
    std::mt19937_64 rng(seed);
    auto pick = [&rng](const auto& pool) -> const auto& {
      return pool[rng() % pool.size()];
    };

    world w = make_world();
    visit_id next_visit = 1;
    int64_t now_us = 1'700'000'000'000'000;

    for (int step = 0; step < scans_per_seed; ++step) {
      CAPTURE(step);
      // Now and then someone is suspended or reinstated, as a restart with
      // an edited directory would do, so people inside get suspended too.
      if (rng() % 100 == 0) {
        participant_id id = 1 + static_cast<participant_id>(rng() % 20);
        participant changed = *w.dir.find(id);
        changed.suspended = rng() % 6 == 0;
        w.dir.add_participant(changed);
        w.ref.people.at(id).suspended = changed.suspended;
      }
      const std::string& badge = pick(w.badge_pool);
      const std::string& reader = pick(w.reader_pool);
      CAPTURE(badge);
      CAPTURE(reader);

      // What the server does: resolve the reader and the badge, decide.
      auto where = w.dir.facility_of(reader);
      decision d;
      facility_state* f = nullptr;
      if (!where) {
        d = decide_unknown_reader();
      } else {
        f = &w.states.at(*where);
        const facility_state before = *f;
        d = decide(*f, w.dir.find_by_badge(badge));
        REQUIRE(*f == before);  // decide is pure
      }

      if (where && w.ref.badges.contains(badge)) {
        auto p = w.ref.badges.at(badge);
        if (w.ref.people.at(p).suspended && w.ref.open.contains({p, *where}))
          ++suspended_inside;
      }

      const visit_id new_visit = next_visit;
      const int64_t now = now_us + 1;
      auto expected = w.ref.scan(badge, reader, new_visit, now);
      CAPTURE(to_string(expected.result));
      REQUIRE(to_string(d.result) == to_string(expected.result));
      ++seen[d.result];

      // The decision's fields.
      REQUIRE(d.closes == expected.closes);
      REQUIRE(sorted(d.force_closed) == sorted(expected.force_closed));
      if (d.result == outcome::checked_out_closed && !d.force_closed.empty())
        ++closes_with_others;
      if (!where) {
        REQUIRE_FALSE(d.facility.has_value());
        REQUIRE_FALSE(d.who.has_value());
        continue;
      }
      REQUIRE(d.facility == *where);
      REQUIRE(d.expected_version == w.ref.version.at(*where));
      if (w.ref.badges.contains(badge)) {
        auto p = w.ref.badges.at(badge);
        REQUIRE(d.who == p);
        REQUIRE(d.keyholder == w.ref.is_keyholder(p));
      } else {
        REQUIRE_FALSE(d.who.has_value());
      }

      // Commit and apply, as the store and the facility actor would.
      commit c;
      c.at_us = now;
      c.version = w.ref.version.at(*where) + 1;
      c.visit = d.result == outcome::checked_in ? new_visit : d.closes;
      apply(*f, d, c);
      ++now_us;
      if (d.result == outcome::checked_in) ++next_visit;
      w.ref.version[*where] = c.version;
      REQUIRE(f->version == c.version);

      // The facility's visits equal the model's, and I1 and I2 hold. A scan
      // touches one facility only, so the others are checked less often.
      auto problem = check_facility(*f, w.ref);
      REQUIRE_MESSAGE(problem.empty(), problem);
      if (step % 64 == 0) {
        problem = check_facilities(w);
        REQUIRE_MESSAGE(problem.empty(), problem);
      }
    }
    auto problem = check_facilities(w);
    REQUIRE_MESSAGE(problem.empty(), problem);
  }

  // The mix must reach every outcome, or the agreement above means little.
  for (auto x : all_outcomes) {
    CAPTURE(to_string(x));
    CHECK(seen[x] > 0);
  }
  CHECK(closes_with_others > 0);
  CHECK(suspended_inside > 0);
}
