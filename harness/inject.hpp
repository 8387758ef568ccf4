#pragma once

#include <string>

#include "persistence/pg.hpp"

namespace facility_sim {

/// Corrupts the database after a run, so that a run can show that the
/// checks notice (--inject-violation). `kind` is one of injection_kinds:
///
/// - open-visit: an open visit no scan opened, in a facility without a
///   keyholder inside where there is one (breaks I1 and the replay);
/// - duplicate-scan: drops the unique constraint on (gateway, seq) and
///   records the first scan a second time;
/// - flip-outcome: turns the first denial at a known reader into another
///   denial, which leaves the visits alone (only the comparison with the
///   ACK and the replay can see it).
///
/// Returns what it did. Throws std::runtime_error when it cannot.
std::string inject_violation(facilityd::pg_connection& conn,
                             const std::string& kind);

}  // namespace facility_sim
