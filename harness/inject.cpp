#include "harness/inject.hpp"

#include <stdexcept>

#include "persistence/errc.hpp"

namespace facility_sim {

namespace {

// Prefers a facility with no open visit, where a member's visit breaks I1.
constexpr const char* open_visit_sql =
    "INSERT INTO visits (participant_id, facility_id, checked_in_at)"
    " SELECT p.id, f.id, now() FROM participants p CROSS JOIN facilities f"
    " WHERE NOT p.is_keyholder AND NOT EXISTS (SELECT 1 FROM visits v"
    "   WHERE v.participant_id = p.id AND v.facility_id = f.id"
    "   AND v.checked_out_at IS NULL)"
    " ORDER BY EXISTS (SELECT 1 FROM visits v WHERE v.facility_id = f.id"
    "   AND v.checked_out_at IS NULL), f.id, p.id"
    " LIMIT 1 RETURNING 1";

constexpr const char* drop_unique_sql =
    "DO $$ DECLARE c text; BEGIN"
    "  SELECT conname INTO c FROM pg_constraint"
    "   WHERE conrelid = 'scans'::regclass AND contype = 'u';"
    "  EXECUTE format('ALTER TABLE scans DROP CONSTRAINT %I', c);"
    " END $$";

constexpr const char* duplicate_sql =
    "INSERT INTO scans (gateway_id, gateway_seq, reader_id, badge_uid,"
    " facility_id, participant_id, outcome, visit_id, closed_count, at)"
    " SELECT gateway_id, gateway_seq, reader_id, badge_uid, facility_id,"
    " participant_id, outcome, visit_id, closed_count, at FROM scans"
    " ORDER BY id LIMIT 1 RETURNING 1";

constexpr const char* flip_sql =
    "UPDATE scans SET outcome = CASE outcome"
    "   WHEN 'denied_closed' THEN 'denied_full' ELSE 'denied_closed' END"
    " WHERE id = (SELECT min(id) FROM scans"
    "   WHERE outcome LIKE 'denied%' AND facility_id IS NOT NULL)"
    " RETURNING 1";

facilityd::pg_result exec(facilityd::pg_connection& conn, const char* sql) {
  auto r = conn.exec(sql);
  if (!r)
    throw std::runtime_error(std::string{"cannot inject: "} +
                             facilityd::describe(r.error()));
  return std::move(*r);
}

// The statements end in RETURNING, so a row means a change was made.
void exec_changing_one(facilityd::pg_connection& conn, const char* sql) {
  if (exec(conn, sql).rows() != 1)
    throw std::runtime_error(
        "cannot inject: the database holds nothing to corrupt that way");
}

}  // namespace

std::string inject_violation(facilityd::pg_connection& conn,
                             const std::string& kind) {
  if (kind == "open-visit") {
    exec_changing_one(conn, open_visit_sql);
    return "inserted an open visit that no scan opened";
  }
  if (kind == "duplicate-scan") {
    exec(conn, drop_unique_sql);
    exec_changing_one(conn, duplicate_sql);
    return "recorded the first scan a second time";
  }
  if (kind == "flip-outcome") {
    exec_changing_one(conn, flip_sql);
    return "changed the outcome of the first denied scan";
  }
  throw std::runtime_error("unknown kind of violation: " + kind);
}

}  // namespace facility_sim
