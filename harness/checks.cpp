#include "harness/checks.hpp"

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "harness/model.hpp"
#include "persistence/errc.hpp"

namespace facility_sim {

namespace {

constexpr const char* scans_sql =
    "SELECT id, gateway_id, gateway_seq::text, reader_id, badge_uid,"
    " facility_id, participant_id, outcome, visit_id, closed_count"
    " FROM scans ORDER BY id";

constexpr const char* duplicates_sql =
    "SELECT gateway_id, gateway_seq::text, count(*) FROM scans"
    " GROUP BY gateway_id, gateway_seq HAVING count(*) > 1";

constexpr const char* visits_sql =
    "SELECT id, participant_id, facility_id, checked_out_at IS NULL,"
    " coalesce(close_reason, '') FROM visits ORDER BY id";

// I1: an open visit needs an open keyholder visit in the same facility.
// A visit counts as a keyholder's by the role it holds (as_keyholder);
// roles do not change during a run, so that is also the person's role,
// and both must say so.
constexpr const char* i1_sql =
    "SELECT v.facility_id, count(*) FROM visits v"
    " JOIN participants p ON p.id = v.participant_id"
    " WHERE v.checked_out_at IS NULL GROUP BY v.facility_id"
    " HAVING NOT bool_or(p.is_keyholder AND v.as_keyholder)";

// I2: at most one open visit per participant and facility.
constexpr const char* i2_sql =
    "SELECT participant_id, facility_id, count(*) FROM visits"
    " WHERE checked_out_at IS NULL GROUP BY participant_id, facility_id"
    " HAVING count(*) > 1";

struct scan_row {
  int64_t id = 0;
  std::string gateway;
  uint64_t seq = 0;
  std::string reader;
  std::string badge;
  std::optional<int64_t> facility;
  std::optional<int64_t> participant;
  std::string outcome;
  int64_t visit = 0;  // 0 for NULL
  int32_t closed = 0;
};

struct visit_row {
  int64_t id = 0;
  int64_t participant = 0;
  int64_t facility = 0;
  bool open = false;
  std::string close_reason;
};

using scan_key = std::pair<std::string, uint64_t>;

facilityd::pg_result query(facilityd::pg_connection& conn, const char* sql) {
  auto r = conn.exec(sql);
  if (!r)
    throw std::runtime_error(std::string{"cannot read the database: "} +
                             facilityd::describe(r.error()));
  return std::move(*r);
}

std::string text(const facilityd::pg_result& r, int row, int col) {
  return std::string{r.text(row, col)};
}

std::vector<scan_row> load_scans(facilityd::pg_connection& conn) {
  auto r = query(conn, scans_sql);
  std::vector<scan_row> rows;
  for (int i = 0; i < r.rows(); ++i)
    rows.push_back({r.i64(i, 0), text(r, i, 1),
                    parse_seq(r.text(i, 2)).value_or(0), text(r, i, 3),
                    text(r, i, 4), r.opt_i64(i, 5), r.opt_i64(i, 6),
                    text(r, i, 7), r.opt_i64(i, 8).value_or(0),
                    static_cast<int32_t>(r.i64(i, 9))});
  return rows;
}

std::vector<visit_row> load_visits(facilityd::pg_connection& conn) {
  auto r = query(conn, visits_sql);
  std::vector<visit_row> rows;
  for (int i = 0; i < r.rows(); ++i)
    rows.push_back({r.i64(i, 0), r.i64(i, 1), r.i64(i, 2), r.boolean(i, 3),
                    text(r, i, 4)});
  return rows;
}

std::string describe(const scan_row& s) {
  return "scan " + std::to_string(s.id) + " (" + s.gateway + " seq " +
         std::to_string(s.seq) + ", " + s.reader + " " + s.badge + ")";
}

std::string describe(const std::string& what, int64_t visit, int32_t closed) {
  return what + " visit=" + std::to_string(visit) +
         " closed=" + std::to_string(closed);
}

// -- rows against the gateways -----------------------------------------------

void check_duplicates(facilityd::pg_connection& conn, violation_log& out) {
  auto r = query(conn, duplicates_sql);
  for (int i = 0; i < r.rows(); ++i)
    out.add(text(r, i, 0) + " seq " + text(r, i, 1) + " is recorded " +
            text(r, i, 2) + " times");
}

std::map<scan_key, const scan_row*> by_key(const std::vector<scan_row>& rows) {
  std::map<scan_key, const scan_row*> index;
  for (auto& r : rows)
    index.emplace(scan_key{r.gateway, r.seq}, &r);
  return index;
}

void check_ack(const world& w, const sent_scan& s, const scan_row& row,
               violation_log& out) {
  const ack& a = *s.answer;
  std::string name;
  if (auto* p = row.participant ? w.participant(*row.participant) : nullptr)
    name = encode_name(p->name);
  bool same = to_string(a.result) == row.outcome && a.visit == row.visit &&
              a.closed == row.closed && row.reader == s.reader &&
              row.badge == s.badge &&
              (a.result == outcome::denied_unknown_reader || a.name == name);
  if (!same)
    out.add(describe(row) + " was acknowledged as \"" + a.line +
            "\" but is recorded as " +
            describe(row.outcome, row.visit, row.closed) + " name=" + name);
}

// Every answered scan recorded as answered; every scan answered.
void check_gateways(const world& w,
                    const std::vector<const gateway_log*>& gateways,
                    const std::map<scan_key, const scan_row*>& index,
                    violation_log& out) {
  for (auto* g : gateways) {
    for (auto& s : g->scans) {
      if (s.abandoned) continue;
      auto found = index.find({g->spec.id, s.seq});
      if (!s.answer || s.pending) {
        out.add(g->spec.id + " seq " + std::to_string(s.seq) +
                " was never answered" + (s.answer ? " when sent again" : ""));
      } else if (found == index.end()) {
        out.add(g->spec.id + " seq " + std::to_string(s.seq) + " got \"" +
                s.answer->line + "\" but is not recorded");
      } else {
        check_ack(w, s, *found->second, out);
      }
    }
  }
}

// Every recorded scan was sent by a gateway, and their numbers agree.
void check_rows_were_sent(const std::vector<scan_row>& rows,
                          const std::vector<const gateway_log*>& gateways,
                          violation_log& out) {
  std::map<std::string, const gateway_log*> logs;
  int64_t answered = 0;
  for (auto* g : gateways) {
    logs[g->spec.id] = g;
    for (auto& s : g->scans)
      answered += s.answer ? 1 : 0;
  }
  for (auto& r : rows) {
    auto g = logs.find(r.gateway);
    auto* s = g == logs.end() ? nullptr : g->second->find(r.seq);
    if (!s || s->sends == 0 || s->reader != r.reader || s->badge != r.badge)
      out.add(describe(r) + " is recorded but was never sent");
  }
  if (static_cast<int64_t>(rows.size()) != answered)
    out.add("the database holds " + std::to_string(rows.size()) +
            " scans; the gateways got an ACK for " + std::to_string(answered));
}

// Scans of one facility sent on one connection are applied in the order
// they were sent. Only scans sent once count: of a resent scan nobody
// knows which send took effect.
void check_arrival_order(const world& w,
                         const std::vector<const gateway_log*>& gateways,
                         const std::map<scan_key, const scan_row*>& index,
                         violation_log& out) {
  for (auto* g : gateways) {
    // (login, facility) -> row ids in the order sent
    std::map<std::pair<int, int>, std::vector<const scan_row*>> sent;
    for (auto& s : g->scans) {
      auto* reader = w.reader_of(g->spec.id, s.reader);
      auto row = index.find({g->spec.id, s.seq});
      if (s.sends != 1 || !reader || row == index.end()) continue;
      sent[{s.first_login, reader->facility}].push_back(row->second);
    }
    for (auto& [where, rows] : sent)
      for (size_t i = 1; i < rows.size(); ++i)
        if (rows[i]->id < rows[i - 1]->id) {
          out.add(describe(*rows[i]) + " was sent after " +
                  describe(*rows[i - 1]) +
                  " on the same connection, to the same facility, but "
                  "applied before it");
          break;
        }
  }
}

// -- rows against the directory ----------------------------------------------

void check_directory(const world& w, const std::vector<scan_row>& rows,
                     violation_log& out) {
  for (auto& r : rows) {
    auto* reader = w.reader_of(r.gateway, r.reader);
    if (!reader) {
      if (r.facility || r.outcome != "denied_unknown_reader")
        out.add(describe(r) + " at an unknown reader is recorded as " +
                r.outcome + " in facility " +
                std::to_string(r.facility.value_or(0)));
      continue;
    }
    auto* owner = w.owner_of(r.badge);
    auto facility = w.facilities[reader->facility].id;
    if (r.facility != facility ||
        r.participant != (owner ? std::optional{owner->id} : std::nullopt))
      out.add(describe(r) + " names facility " +
              std::to_string(r.facility.value_or(0)) + " and participant " +
              std::to_string(r.participant.value_or(0)) +
              ", not those of its reader and badge");
  }
}

// -- the replay --------------------------------------------------------------

/// What the replay knows about each visit, to compare with `visits`.
struct visit_fact {
  int64_t participant = 0;
  int64_t facility = 0;
  std::string state;  // "" while open, else the close reason
};

class replay {
 public:
  explicit replay(const world& w) : world_(w) {
    for (auto& f : w.facilities)
      models_.emplace_back(f.capacity);
    diverged_.resize(w.facilities.size());
  }

  void run(const std::vector<scan_row>& rows, violation_log& out) {
    for (auto& r : rows)
      if (r.facility && *r.facility >= 1 &&
          *r.facility <= static_cast<int64_t>(models_.size()) &&
          !diverged_[*r.facility - 1])
        step(r, out);
  }

  void compare_visits(const std::vector<visit_row>& stored,
                      violation_log& out) const;

 private:
  void step(const scan_row& r, violation_log& out);
  void record(const scan_row& r, int64_t who, const rule_result& x);

  const world& world_;
  std::vector<reference_facility> models_;
  std::vector<bool> diverged_;  // the replay stopped making sense there
  std::map<int64_t, visit_fact> visits_;
};

void replay::step(const scan_row& r, violation_log& out) {
  auto fi = static_cast<size_t>(*r.facility - 1);
  std::optional<person_facts> who;
  if (auto* p = world_.owner_of(r.badge))
    who = person_facts{p->id, p->keyholder, p->suspended};
  auto x = models_[fi].scan(who ? &*who : nullptr, r.visit);
  bool reused = x.result == outcome::checked_in &&
                (r.visit == 0 || visits_.contains(r.visit));
  if (to_string(x.result) != r.outcome || x.visit != r.visit ||
      x.closed != r.closed || reused) {
    out.add("facility " + std::to_string(*r.facility) + ": " + describe(r) +
            " is recorded as " + describe(r.outcome, r.visit, r.closed) +
            "; replayed in commit order the rules give " +
            describe(std::string{to_string(x.result)}, x.visit, x.closed) +
            (reused ? " (a visit id used before)" : ""));
    diverged_[fi] = true;
    return;
  }
  record(r, who ? who->id : 0, x);
}

void replay::record(const scan_row& r, int64_t who, const rule_result& x) {
  switch (x.result) {
    case outcome::checked_in:
      visits_[x.visit] = {who, *r.facility, ""};
      break;
    case outcome::checked_out:
    case outcome::checked_out_closed:
      visits_[x.visit].state = "checked_out";
      for (auto v : x.force_closed)
        visits_[v].state = "force_close";
      break;
    default:
      break;
  }
}

// The visits the replay ends with are exactly the stored ones: the same
// open visits per facility, and every visit opened and closed as replayed.
void replay::compare_visits(const std::vector<visit_row>& stored,
                            violation_log& out) const {
  std::vector<std::map<int64_t, int64_t>> open(models_.size());
  for (auto& v : stored) {
    auto fi = static_cast<size_t>(v.facility - 1);
    if (fi >= models_.size() || diverged_[fi]) continue;
    if (v.open) open[fi][v.participant] = v.id;
    auto found = visits_.find(v.id);
    std::string state = v.open ? "" : v.close_reason;
    if (found == visits_.end())
      out.add("visit " + std::to_string(v.id) + " in facility " +
              std::to_string(v.facility) + " was opened by no scan");
    else if (found->second.participant != v.participant ||
             found->second.facility != v.facility ||
             found->second.state != state)
      out.add("visit " + std::to_string(v.id) + " is stored as " +
              (v.open ? "open" : "closed by " + v.close_reason) +
              "; the replay has it " +
              (found->second.state.empty()
                   ? "open"
                   : "closed by " + found->second.state));
  }
  for (size_t fi = 0; fi < models_.size(); ++fi)
    if (!diverged_[fi] && open[fi] != models_[fi].open_visits())
      out.add("facility " + std::to_string(fi + 1) + " ends with " +
              std::to_string(open[fi].size()) +
              " open visits in the database, but the replay with " +
              std::to_string(models_[fi].open_visits().size()) +
              " or other ones");
}

// -- invariants --------------------------------------------------------------

void check_invariants(facilityd::pg_connection& conn, violation_log& out) {
  auto i1 = query(conn, i1_sql);
  for (int i = 0; i < i1.rows(); ++i)
    out.add("I1: facility " + text(i1, i, 0) + " has " + text(i1, i, 1) +
            " open visits and no keyholder inside");
  auto i2 = query(conn, i2_sql);
  for (int i = 0; i < i2.rows(); ++i)
    out.add("I2: participant " + text(i2, i, 0) + " has " + text(i2, i, 2) +
            " open visits in facility " + text(i2, i, 1));
}

}  // namespace

db_counts check_database(facilityd::pg_connection& conn, const world& w,
                         const std::vector<const gateway_log*>& gateways,
                         violation_log& out) {
  auto rows = load_scans(conn);
  auto visits = load_visits(conn);

  check_duplicates(conn, out);
  auto index = by_key(rows);
  check_gateways(w, gateways, index, out);
  check_arrival_order(w, gateways, index, out);
  check_rows_were_sent(rows, gateways, out);
  check_directory(w, rows, out);
  check_invariants(conn, out);

  replay history{w};
  history.run(rows, out);
  history.compare_visits(visits, out);

  db_counts counts;
  counts.scans = static_cast<int64_t>(rows.size());
  counts.visits = static_cast<int64_t>(visits.size());
  for (auto& v : visits)
    counts.open_visits += v.open ? 1 : 0;
  return counts;
}

}  // namespace facility_sim
