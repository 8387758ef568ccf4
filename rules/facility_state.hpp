#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rules/directory.hpp"
#include "rules/outcome.hpp"

namespace facilityd {

/// One participant's open visit in one facility.
struct open_visit {
  visit_id id = 0;
  participant_id who = 0;
  bool keyholder = false;
  int64_t checked_in_at_us = 0;  // microseconds since the Unix epoch, UTC

  friend bool operator==(const open_visit&, const open_visit&) = default;
};

/// Everything the scan rules need to know about one facility. The facility
/// actor owns one of these; the database holds the same facts (invariant I4)
/// and `version` counts the changes committed to them.
struct facility_state {
  facility_id id = 0;
  std::string name;
  std::optional<int32_t> capacity;  // none: no limit
  int64_t version = 0;

  /// Open visits keyed by participant: at most one each (invariant I2).
  std::map<participant_id, open_visit> visits;

  size_t keyholders_present() const;

  /// A facility is open exactly while a keyholder is checked in.
  bool is_open() const { return keyholders_present() > 0; }

  friend bool operator==(const facility_state&,
                         const facility_state&) = default;
};

/// What one scan does, computed from the state without changing it. The
/// store writes exactly this in one transaction and the facility actor
/// applies exactly this after the commit, so nothing is decided twice.
struct decision {
  outcome result = outcome::denied_unknown_reader;

  /// The facility of the reader; none when the reader is unknown.
  std::optional<facility_id> facility;

  /// The badge's owner; none when the badge or the reader is unknown.
  std::optional<participant_id> who;

  /// Whether `who` held the keyholder role when the decision was made.
  bool keyholder = false;

  /// The visit that a check-out closes (checked_out, checked_out_closed).
  visit_id closes = 0;

  /// The other visits that a last keyholder's check-out closes with it.
  std::vector<visit_id> force_closed;

  /// The facility version this decision was made against: the fence.
  int64_t expected_version = 0;
};

/// What the database assigned when it committed a decision.
struct commit {
  visit_id visit = 0;   // the new visit of a check-in, else the closed one
  int64_t at_us = 0;    // the transaction's timestamp
  int64_t version = 0;  // the facility's version after the commit
};

/// Decides a scan by `who` (null: unknown badge) at a reader of facility
/// `f`. Pure: the same arguments always give the same decision.
decision decide(const facility_state& f, const participant* who);

/// Decides a scan at a reader that belongs to no facility.
decision decide_unknown_reader();

/// Applies a committed decision to the state it was decided against.
/// Precondition: `d` was decided against `f` (same id and version).
void apply(facility_state& f, const decision& d, const commit& c);

}  // namespace facilityd
