#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "persistence/errc.hpp"
#include "persistence/pg.hpp"
#include "persistence/store.hpp"
#include "util/log.hpp"

namespace facilityd {

namespace {

constexpr const char* record_scan_sql =
    "SELECT o_replayed, o_outcome, o_participant, o_visit, o_closed, o_at_us,"
    " o_version FROM record_scan($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
    " $11)";

constexpr const char* edit_facility_sql =
    "SELECT o_version, o_at_us FROM edit_facility($1, $2, $3, $4, $5, $6, $7,"
    " $8, $9, $10)";

constexpr const char* remove_facility_sql =
    "SELECT o_version, o_at_us FROM remove_facility($1, $2, $3, $4, $5, $6)";

constexpr const char* change_visits_sql =
    "SELECT o_version, o_at_us FROM change_visits($1, $2, $3, $4, $5, $6, $7,"
    " $8, $9, $10, $11)";

// One statement, so the facility row and its open visits come from one
// snapshot. A facility without open visits yields one row of NULL visits.
constexpr const char* load_facility_sql =
    "SELECT f.name, f.capacity, f.version, v.id, v.participant_id,"
    " v.as_keyholder, epoch_us(v.checked_in_at)"
    " FROM facilities f"
    " LEFT JOIN visits v ON v.facility_id = f.id AND v.checked_out_at IS NULL"
    " WHERE f.id = $1 AND f.removed_at IS NULL";

constexpr const char* load_participants_sql =
    "SELECT id, name, is_keyholder, suspended FROM participants"
    " WHERE removed_at IS NULL";
constexpr const char* load_badges_sql =
    "SELECT uid, participant_id FROM badges";
constexpr const char* load_readers_sql =
    "SELECT id, facility_id, coalesce(gateway_id, '') FROM readers";
constexpr const char* load_gateways_sql = "SELECT id, token_hash FROM gateways";
constexpr const char* load_facilities_sql =
    "SELECT id, name, capacity, version FROM facilities"
    " WHERE removed_at IS NULL ORDER BY id";
constexpr const char* load_open_visits_sql =
    "SELECT v.id, v.participant_id, v.facility_id, v.as_keyholder,"
    " epoch_us(v.checked_in_at)"
    " FROM visits v JOIN facilities f ON f.id = v.facility_id"
    " WHERE v.checked_out_at IS NULL AND f.removed_at IS NULL";

pg_param opt_param(const std::optional<int64_t>& x) {
  if (!x) return std::nullopt;
  return std::to_string(*x);
}

std::vector<pg_param> record_params(const scan_request& s, const decision& d) {
  return {
      s.gateway,
      std::to_string(s.seq),
      s.reader,
      s.badge,
      opt_param(d.facility),
      opt_param(d.who),
      std::string{to_string(d.result)},
      d.keyholder ? "true" : "false",
      std::to_string(d.expected_version),
      d.closes != 0 ? pg_param{std::to_string(d.closes)} : std::nullopt,
      pg_array(d.force_closed),
  };
}

template <class T, class F>
std::string pg_list(const std::vector<T>& xs, F&& element) {
  std::string out = "{";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0) out += ',';
    out += element(xs[i]);
  }
  return out + "}";
}

pg_param opt_text(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

std::vector<pg_param> change_params(const visit_change& c,
                                    const audit_entry& why) {
  auto id = [](const auto& x) { return std::to_string(x.first); };
  return {
      std::to_string(c.facility),
      std::to_string(c.expected_version),
      pg_list(c.closes, id),
      pg_list(c.closes,
              [](const auto& x) { return std::string{to_string(x.second)}; }),
      pg_list(c.roles, id),
      pg_list(c.roles,
              [](const auto& x) { return std::string{x.second ? "t" : "f"}; }),
      why.actor,
      opt_text(why.action),
      why.target,
      opt_text(why.before),
      opt_text(why.after),
  };
}

caf::expected<recorded_scan> read_recorded(const pg_result& r) {
  if (r.rows() != 1)
    return make_error(errc::internal, "record_scan returned no row");
  auto result = parse_outcome(r.text(0, 1));
  if (!result)
    return make_error(errc::internal,
                      "unknown stored outcome " + std::string{r.text(0, 1)});
  recorded_scan out;
  out.replayed = r.boolean(0, 0);
  out.result = *result;
  out.who = r.opt_i64(0, 2);
  out.visit = r.opt_i64(0, 3).value_or(0);
  out.closed = static_cast<int32_t>(r.i64(0, 4));
  out.committed.visit = out.visit;
  out.committed.at_us = r.i64(0, 5);
  out.committed.version = r.i64(0, 6);
  return out;
}

std::optional<int32_t> opt_i32(const pg_result& r, int row, int col) {
  if (r.is_null(row, col)) return std::nullopt;
  return static_cast<int32_t>(r.i64(row, col));
}

class pg_store final : public store {
 public:
  explicit pg_store(pg_store_options opts) : opts_(std::move(opts)) {}

  caf::expected<recorded_scan> record_scan(const scan_request& s,
                                           const decision& d) override {
    auto res = run_prepared("record_scan", record_params(s, d));
    if (!res) return res.error();
    return read_recorded(*res);
  }

  caf::expected<commit> change_visits(const visit_change& c,
                                      const audit_entry& why) override {
    auto res = run_prepared("change_visits", change_params(c, why));
    if (!res) return res.error();
    if (res->rows() != 1)
      return make_error(errc::internal, "change_visits returned no row");
    return commit{0, res->i64(0, 1), res->i64(0, 0)};
  }

  caf::expected<commit> edit_facility(const facility_state& f,
                                      const facility_edit& e,
                                      const audit_entry& why) override {
    auto res = run_prepared(
        "edit_facility",
        {std::to_string(f.id), std::to_string(f.version),
         e.name ? pg_param{*e.name} : pg_param{},
         e.set_capacity ? "true" : "false",
         e.capacity ? pg_param{std::to_string(*e.capacity)} : pg_param{},
         why.actor, why.action, why.target, opt_text(why.before),
         opt_text(why.after)});
    if (!res) return res.error();
    return commit{0, res->i64(0, 1), res->i64(0, 0)};
  }

  caf::expected<commit> remove_facility(const facility_state& f,
                                        const audit_entry& why) override {
    auto res =
        run_prepared("remove_facility",
                     {std::to_string(f.id), std::to_string(f.version),
                      why.actor, why.action, why.target, opt_text(why.before)});
    if (!res) return res.error();
    return commit{0, res->i64(0, 1), res->i64(0, 0)};
  }

  caf::expected<facility_state> load_facility(facility_id id) override {
    auto res = run_prepared("load_facility", {std::to_string(id)});
    if (!res) return res.error();
    if (res->rows() == 0)
      return make_error(errc::rejected,
                        "facility " + std::to_string(id) + " does not exist");
    facility_state f;
    f.id = id;
    f.name = std::string{res->text(0, 0)};
    f.capacity = opt_i32(*res, 0, 1);
    f.version = res->i64(0, 2);
    for (int i = 0; i < res->rows(); ++i) {
      if (res->is_null(i, 3)) continue;
      open_visit v{res->i64(i, 3), res->i64(i, 4), res->boolean(i, 5),
                   res->i64(i, 6)};
      f.visits.emplace(v.who, v);
    }
    return f;
  }

  caf::expected<world> load_world() override {
    auto conn = connection();
    if (!conn) return conn.error();
    auto begin =
        (*conn)->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (!begin) return failed(begin.error());
    auto w = read_world(**conn);
    auto end = (*conn)->exec(w ? "COMMIT" : "ROLLBACK");
    if (!w) return failed(w.error());
    if (!end) return failed(end.error());
    return w;
  }

 private:
  caf::expected<world> read_world(pg_connection& c) {
    world w;
    auto people = c.exec(load_participants_sql);
    if (!people) return people.error();
    for (int i = 0; i < people->rows(); ++i)
      w.dir.add_participant({people->i64(i, 0), std::string{people->text(i, 1)},
                             people->boolean(i, 2), people->boolean(i, 3)});
    auto badges = c.exec(load_badges_sql);
    if (!badges) return badges.error();
    for (int i = 0; i < badges->rows(); ++i)
      w.dir.add_badge(std::string{badges->text(i, 0)}, badges->i64(i, 1));
    auto readers = c.exec(load_readers_sql);
    if (!readers) return readers.error();
    for (int i = 0; i < readers->rows(); ++i)
      w.dir.add_reader(std::string{readers->text(i, 0)}, readers->i64(i, 1),
                       std::string{readers->text(i, 2)});
    auto gateways = c.exec(load_gateways_sql);
    if (!gateways) return gateways.error();
    for (int i = 0; i < gateways->rows(); ++i)
      w.gateway_tokens.emplace(gateways->text(i, 0), gateways->text(i, 1));
    auto facilities = c.exec(load_facilities_sql);
    if (!facilities) return facilities.error();
    std::unordered_map<facility_id, size_t> index;
    for (int i = 0; i < facilities->rows(); ++i) {
      facility_state f;
      f.id = facilities->i64(i, 0);
      f.name = std::string{facilities->text(i, 1)};
      f.capacity = opt_i32(*facilities, i, 2);
      f.version = facilities->i64(i, 3);
      index.emplace(f.id, w.facilities.size());
      w.facilities.push_back(std::move(f));
    }
    auto visits = c.exec(load_open_visits_sql);
    if (!visits) return visits.error();
    for (int i = 0; i < visits->rows(); ++i) {
      open_visit v{visits->i64(i, 0), visits->i64(i, 1), visits->boolean(i, 3),
                   visits->i64(i, 4)};
      w.facilities[index.at(visits->i64(i, 2))].visits.emplace(v.who, v);
    }
    w.open_visits = static_cast<size_t>(visits->rows());
    return w;
  }

  caf::expected<pg_result> run_prepared(const char* name,
                                        const std::vector<pg_param>& params) {
    auto conn = connection();
    if (!conn) return conn.error();
    auto res = (*conn)->exec_prepared(name, params);
    if (!res) return failed(res.error());
    return res;
  }

  // Drops a broken connection so that the next call reconnects.
  caf::error failed(caf::error e) {
    if (conn_ && !conn_->ok()) {
      LOG_WARNING_LIMITED("db", "connection lost: " << describe(e));
      conn_.reset();
    }
    return e;
  }

  caf::expected<pg_connection*> connection() {
    if (conn_) return &*conn_;
    auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_)
      return make_error(errc::unavailable,
                        "database unreachable, next attempt pending");
    auto c = connect();
    if (!c) {
      backoff_ = backoff_.count() == 0
                     ? opts_.min_backoff
                     : std::min(backoff_ * 2, opts_.max_backoff);
      next_attempt_ = now + backoff_;
      if (!was_down_) LOG_WARNING("db", describe(c.error()));
      was_down_ = true;
      return c.error();
    }
    if (was_down_) LOG_INFO("db", "connection re-established");
    was_down_ = false;
    backoff_ = {};
    conn_.emplace(std::move(*c));
    return &*conn_;
  }

  caf::expected<pg_connection> connect() {
    auto c = pg_connection::open(opts_.dsn, opts_.connect_timeout_s);
    if (!c) return c.error();
    auto timeout = "SET statement_timeout = " +
                   std::to_string(opts_.statement_timeout.count());
    if (auto res = c->exec(timeout.c_str()); !res) return res.error();
    if (auto e = c->prepare("record_scan", record_scan_sql)) return e;
    if (auto e = c->prepare("load_facility", load_facility_sql)) return e;
    if (auto e = c->prepare("change_visits", change_visits_sql)) return e;
    if (auto e = c->prepare("edit_facility", edit_facility_sql)) return e;
    if (auto e = c->prepare("remove_facility", remove_facility_sql)) return e;
    return c;
  }

  pg_store_options opts_;
  std::optional<pg_connection> conn_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  bool was_down_ = false;
};

}  // namespace

std::unique_ptr<store> make_pg_store(pg_store_options opts) {
  return std::make_unique<pg_store>(std::move(opts));
}

}  // namespace facilityd
