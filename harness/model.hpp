#pragma once

// The harness's own statement of the scan rules, written to be read
// against the rules' text rather than to be fast, and sharing no code with
// the server's rules/. The checks replay the database's history through it.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "harness/answer.hpp"

namespace facility_sim {

/// What the rules look at about the person who scanned.
struct person_facts {
  int64_t id = 0;
  bool keyholder = false;
  bool suspended = false;
};

/// What a scan does under the rules.
struct rule_result {
  outcome result = outcome::denied_unknown_reader;
  int64_t visit = 0;  // the visit opened or closed; 0 for denials
  int32_t closed = 0;
  std::vector<int64_t> force_closed;  // the other visits closed with it
};

/// One facility under the rules. Facilities are independent, so each
/// gets one of these. Starts closed and empty.
class reference_facility {
 public:
  explicit reference_facility(std::optional<int32_t> capacity)
      : capacity_(capacity) {}

  /// Applies a scan by `who` (null: nobody has the badge). A check-in
  /// opens visit `new_visit`: visit ids are the database's to choose, so
  /// the caller passes the one the database recorded.
  rule_result scan(const person_facts* who, int64_t new_visit);

  /// Open visits by participant.
  std::map<int64_t, int64_t> open_visits() const;

 private:
  struct stay {
    int64_t visit = 0;
    bool keyholder = false;
  };

  int keyholders_inside() const;
  bool is_open() const { return keyholders_inside() > 0; }
  bool is_full() const;
  rule_result leave(const person_facts& who);
  rule_result enter(const person_facts& who, int64_t new_visit);

  std::optional<int32_t> capacity_;
  std::map<int64_t, stay> inside_;  // by participant
};

}  // namespace facility_sim
