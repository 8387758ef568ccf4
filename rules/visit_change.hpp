#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "rules/directory.hpp"
#include "rules/facility_state.hpp"

namespace facilityd {

/// Why a visit ended; stored in visits.close_reason.
enum class close_reason : uint8_t {
  checked_out,  // the person scanned out
  force_close,  // closed with the last keyholder
  admin_close,  // closed by staff, or because its person may no longer stay
};

std::string_view to_string(close_reason x);

/// A change to a facility's open visits that is not a scan: staff closing
/// the facility or one visit, or a role change reaching the people inside.
/// Like a scan's decision it is computed from the state without changing
/// it, written in one fenced transaction, and applied after the commit.
struct visit_change {
  facility_id facility = 0;
  int64_t expected_version = 0;
  std::vector<std::pair<visit_id, close_reason>> closes;
  /// Visits whose keyholder flag flips to the given value.
  std::vector<std::pair<visit_id, bool>> roles;

  bool empty() const { return closes.empty() && roles.empty(); }
};

/// Closes every open visit with `why`.
visit_change decide_close_all(const facility_state& f, close_reason why);

/// Closes `who`'s visit with `why`; when that leaves people inside without
/// a keyholder, closes theirs too, as the last keyholder's check-out would
/// (force_close). None when `who` has no open visit here.
std::optional<visit_change> decide_check_out(const facility_state& f,
                                             participant_id who,
                                             close_reason why);

/// Brings the open visits in line with `dir`: the visits of people who are
/// suspended or gone close (admin_close), keyholder flags follow the
/// people's roles, and when no keyholder remains the rest close
/// (force_close), so invariant I1 holds afterwards. Empty when nothing is
/// out of line.
visit_change decide_reconcile(const facility_state& f, const directory& dir);

/// Applies a committed change. Precondition: decided against `f`.
void apply(facility_state& f, const visit_change& c, int64_t new_version);

}  // namespace facilityd
