#pragma once

#include <vector>

#include "harness/gateway_link.hpp"
#include "harness/report.hpp"
#include "harness/world.hpp"
#include "persistence/pg.hpp"

namespace facility_sim {

/// Checks the database after a run, with the server stopped:
///
/// - every scan a gateway got an ACK for is recorded once, with the
///   outcome, visit, closed count and name the ACK gave; every scan was
///   answered; every recorded scan is one a gateway sent;
/// - no (gateway, seq) is recorded twice;
/// - scans of one facility sent once on one connection were applied in
///   the order sent;
/// - each row names the facility of its reader and the owner of its badge,
///   and scans at unknown readers are denied_unknown_reader;
/// - invariants I1 and I2 hold;
/// - the scans of each facility, replayed in commit order (scans.id)
///   through the reference model from an empty world, give exactly the
///   stored outcomes, visits and closed counts, and end with exactly the
///   stored visits, open and closed.
///
/// Appends each violation to `out` and returns the counts for the
/// summary. Throws std::runtime_error when the database cannot be read.
db_counts check_database(facilityd::pg_connection& conn, const world& w,
                         const std::vector<const gateway_log*>& gateways,
                         violation_log& out);

}  // namespace facility_sim
