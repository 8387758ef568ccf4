#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "rules/directory.hpp"
#include "rules/facility_state.hpp"
#include "rules/outcome.hpp"

namespace facilityd {

/// A badge scan as a gateway reports it. (gateway, seq) identifies the scan:
/// it takes effect at most once however often it arrives (invariant I3).
struct scan_request {
  std::string gateway;
  uint64_t seq = 0;
  std::string reader;
  std::string badge;
};

/// A scan as the database holds it after its transaction committed: either
/// just now, or earlier when this is a replay of the same (gateway, seq).
struct recorded_scan {
  bool replayed = false;
  outcome result = outcome::denied_unknown_reader;
  std::optional<participant_id> who;
  visit_id visit = 0;  // the visit opened or closed, 0 for denials
  int32_t closed = 0;  // visits force-closed with a last keyholder
  commit committed;    // version is 0 for replays and unknown readers
};

}  // namespace facilityd
