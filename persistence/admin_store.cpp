#include "persistence/admin_store.hpp"

#include "persistence/errc.hpp"

namespace facilityd {

namespace {

using json = nlohmann::json;

constexpr const char* participant_sql =
    "SELECT p.id, p.name, p.is_keyholder, p.suspended,"
    " coalesce(array_to_json(array_agg(b.uid ORDER BY b.uid)"
    "   FILTER (WHERE b.uid IS NOT NULL)), '[]')::text"
    " FROM participants p LEFT JOIN badges b ON b.participant_id = p.id"
    " WHERE p.id = $1 AND p.removed_at IS NULL GROUP BY p.id";

constexpr const char* lock_participant_sql =
    "SELECT 1 FROM participants WHERE id = $1 AND removed_at IS NULL"
    " FOR UPDATE";

constexpr const char* audit_sql =
    "INSERT INTO admin_audit (actor, action, target, before, after)"
    " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)";

// The WHERE clause per kind of history; $1 is the key.
const char* history_filter(const std::string& kind) {
  if (kind == "facility")
    return "s.facility_id = (SELECT id FROM facilities WHERE name = $1"
           " OR id::text = $1 LIMIT 1)";
  if (kind == "participant") return "s.participant_id::text = $1";
  if (kind == "badge") return "s.badge_uid = $1";
  return nullptr;
}

std::string iso(std::string_view pg_time) {
  // PostgreSQL's "2026-12-03 17:30:00.123+00" as ISO 8601 UTC.
  std::string s{pg_time};
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, "+00") == 0)
    s.replace(s.size() - 3, 3, "Z");
  return s;
}

caf::error not_found(const std::string& what) {
  return make_error(errc::not_found, what);
}

}  // namespace

admin_store::admin_store(pg_store_options opts) : opts_(std::move(opts)) {}

caf::expected<pg_connection*> admin_store::connection() {
  if (conn_ && conn_->ok()) return &*conn_;
  conn_.reset();
  auto c = pg_connection::open(opts_.dsn, opts_.connect_timeout_s);
  if (!c) return c.error();
  // Every session of this store reads and writes in UTC.
  if (auto r = c->exec("SET TIME ZONE 'UTC'"); !r) return r.error();
  conn_.emplace(std::move(*c));
  return &*conn_;
}

caf::error admin_store::failed(caf::error e) {
  if (conn_ && !conn_->ok()) conn_.reset();
  return e;
}

bool admin_store::reachable() {
  auto c = connection();
  if (!c) return false;
  return static_cast<bool>((*c)->exec("SELECT 1"));
}

template <class F>
caf::expected<admin_store::json> admin_store::in_transaction(F&& body) {
  auto c = connection();
  if (!c) return c.error();
  if (auto r = (*c)->exec("BEGIN"); !r) return failed(r.error());
  caf::expected<json> out{json{}};
  try {
    out = body(**c);
  } catch (...) {
    // Leave no transaction open behind the exception.
    (void)(*c)->exec("ROLLBACK");
    throw;
  }
  auto end = (*c)->exec(out ? "COMMIT" : "ROLLBACK");
  if (!out) return failed(out.error());
  if (!end) return failed(end.error());
  return out;
}

caf::error admin_store::audit(pg_connection& c, const audit_entry& why,
                              const json& before, const json& after) {
  auto r = c.exec(audit_sql,
                  {why.actor, why.action, why.target,
                   before.is_null() ? pg_param{} : pg_param{before.dump()},
                   after.is_null() ? pg_param{} : pg_param{after.dump()}});
  return r ? caf::error{} : r.error();
}

namespace {

caf::expected<json> read_participant(pg_connection& c, participant_id id) {
  auto r = c.exec(participant_sql, {std::to_string(id)});
  if (!r) return r.error();
  if (r->rows() == 0) return not_found("no participant " + std::to_string(id));
  return json{{"id", r->i64(0, 0)},
              {"name", std::string{r->text(0, 1)}},
              {"keyholder", r->boolean(0, 2)},
              {"suspended", r->boolean(0, 3)},
              {"badges", json::parse(r->text(0, 4))}};
}

caf::error lock_participant(pg_connection& c, participant_id id) {
  auto r = c.exec(lock_participant_sql, {std::to_string(id)});
  if (!r) return r.error();
  if (r->rows() == 0) return not_found("no participant " + std::to_string(id));
  return {};
}

// Reports a unique violation as the caller's mistake, in words.
caf::error explain(caf::error e, const std::string& taken) {
  if (errc_of(e) == errc::conflict) return make_error(errc::rejected, taken);
  return e;
}

}  // namespace

caf::expected<json> admin_store::participant(participant_id id) {
  auto c = connection();
  if (!c) return c.error();
  auto out = read_participant(**c, id);
  if (!out) return failed(out.error());
  return out;
}

caf::expected<json> admin_store::set_participant(participant_id id,
                                                 std::optional<bool> keyholder,
                                                 std::optional<bool> suspended,
                                                 const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    if (auto e = lock_participant(c, id)) return e;
    auto before = read_participant(c, id);
    if (!before) return before.error();
    auto r = c.exec(
        "UPDATE participants SET is_keyholder = coalesce($2, is_keyholder),"
        " suspended = coalesce($3, suspended) WHERE id = $1",
        {std::to_string(id),
         keyholder ? pg_param{*keyholder ? "true" : "false"} : pg_param{},
         suspended ? pg_param{*suspended ? "true" : "false"} : pg_param{}});
    if (!r) return r.error();
    auto after = read_participant(c, id);
    if (!after) return after.error();
    if (auto e = audit(c, why, *before, *after)) return e;
    return after;
  });
}

caf::expected<json> admin_store::add_participant(
    const std::string& name, bool keyholder, bool suspended,
    const std::optional<std::string>& badge, const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    auto r = c.exec(
        "INSERT INTO participants (name, is_keyholder, suspended)"
        " VALUES ($1, $2, $3) RETURNING id",
        {name, keyholder ? "true" : "false", suspended ? "true" : "false"});
    if (!r) return r.error();
    auto id = r->i64(0, 0);
    if (badge) {
      auto b =
          c.exec("INSERT INTO badges (uid, participant_id) VALUES ($1, $2)",
                 {*badge, std::to_string(id)});
      if (!b)
        return explain(b.error(), "badge " + *badge + " is already assigned");
    }
    auto after = read_participant(c, id);
    if (!after) return after.error();
    auto w = why;
    w.target = "participant " + std::to_string(id);
    if (auto e = audit(c, w, nullptr, *after)) return e;
    return after;
  });
}

caf::expected<json> admin_store::rename_participant(participant_id id,
                                                    const std::string& name,
                                                    const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    if (auto e = lock_participant(c, id)) return e;
    auto before = read_participant(c, id);
    if (!before) return before.error();
    auto r = c.exec("UPDATE participants SET name = $2 WHERE id = $1",
                    {std::to_string(id), name});
    if (!r) return r.error();
    auto after = read_participant(c, id);
    if (!after) return after.error();
    if (auto e = audit(c, why, *before, *after)) return e;
    return after;
  });
}

caf::expected<json> admin_store::remove_participant(participant_id id,
                                                    const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    if (auto e = lock_participant(c, id)) return e;
    auto before = read_participant(c, id);
    if (!before) return before.error();
    for (auto sql :
         {"DELETE FROM badges WHERE participant_id = $1",
          "UPDATE participants SET removed_at = now() WHERE id = $1"})
      if (auto r = c.exec(sql, {std::to_string(id)}); !r) return r.error();
    if (auto e = audit(c, why, *before, nullptr)) return e;
    return json{{"removed", id}};
  });
}

caf::expected<json> admin_store::add_badge(const std::string& uid,
                                           participant_id owner,
                                           const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    if (auto e = lock_participant(c, owner)) return e;
    auto r = c.exec("INSERT INTO badges (uid, participant_id) VALUES ($1, $2)",
                    {uid, std::to_string(owner)});
    if (!r) return explain(r.error(), "badge " + uid + " is already assigned");
    json after{{"badge", uid}, {"participant", owner}};
    if (auto e = audit(c, why, nullptr, after)) return e;
    return after;
  });
}

caf::expected<json> admin_store::remove_badge(const std::string& uid,
                                              const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    auto r = c.exec(
        "DELETE FROM badges WHERE uid = $1 RETURNING participant_id", {uid});
    if (!r) return r.error();
    if (r->rows() == 0) return not_found("no badge " + uid);
    json before{{"badge", uid}, {"participant", r->i64(0, 0)}};
    if (auto e = audit(c, why, before, nullptr)) return e;
    return json{{"badge", uid}};
  });
}

caf::expected<json> admin_store::add_facility(const std::string& name,
                                              std::optional<int32_t> capacity,
                                              const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    auto r = c.exec(
        "INSERT INTO facilities (name, capacity) VALUES ($1, $2) RETURNING id",
        {name, capacity ? pg_param{std::to_string(*capacity)} : pg_param{}});
    if (!r) return explain(r.error(), "a facility named " + name + " exists");
    json after{{"id", r->i64(0, 0)},
               {"name", name},
               {"capacity", capacity ? json(*capacity) : json(nullptr)}};
    auto w = why;
    w.target = "facility " + std::to_string(r->i64(0, 0));
    if (auto e = audit(c, w, nullptr, after)) return e;
    return after;
  });
}

namespace {

json reader_json(const std::string& reader, facility_id where,
                 const std::string& gateway) {
  return json{{"reader", reader},
              {"facility", where},
              {"gateway", gateway.empty() ? json(nullptr) : json(gateway)}};
}

}  // namespace

caf::expected<json> admin_store::put_reader(const std::string& reader,
                                            std::optional<facility_id> where,
                                            std::optional<std::string> gateway,
                                            bool must_exist,
                                            const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    auto old = c.exec(
        "SELECT facility_id, coalesce(gateway_id, '') FROM readers"
        " WHERE id = $1 FOR UPDATE",
        {reader});
    if (!old) return old.error();
    if (must_exist && old->rows() == 0) return not_found("no reader " + reader);
    if (!must_exist && old->rows() > 0)
      return make_error(errc::rejected, "reader " + reader + " exists");
    if (gateway) {
      auto g = c.exec("SELECT 1 FROM gateways WHERE id = $1 FOR KEY SHARE",
                      {*gateway});
      if (!g) return g.error();
      if (g->rows() == 0) return not_found("no gateway " + *gateway);
    }
    json before = nullptr;
    if (old->rows() > 0) {
      auto was = std::string{old->text(0, 1)};
      before = reader_json(reader, old->i64(0, 0), was);
      if (!where) where = old->i64(0, 0);
      if (!gateway) gateway = was;
    }
    if (!where || !gateway)
      return make_error(errc::invalid,
                        "a new reader needs a facility and a"
                        " gateway");
    auto r = c.exec(
        "INSERT INTO readers (id, facility_id, gateway_id)"
        " VALUES ($1, $2, nullif($3, ''))"
        " ON CONFLICT (id) DO UPDATE SET facility_id = EXCLUDED.facility_id,"
        " gateway_id = EXCLUDED.gateway_id",
        {reader, std::to_string(*where), *gateway});
    if (!r) return r.error();
    json after = reader_json(reader, *where, *gateway);
    if (auto e = audit(c, why, before, after)) return e;
    return after;
  });
}

caf::expected<json> admin_store::remove_reader(const std::string& reader,
                                               const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    auto r = c.exec(
        "DELETE FROM readers WHERE id = $1"
        " RETURNING facility_id, coalesce(gateway_id, '')",
        {reader});
    if (!r) return r.error();
    if (r->rows() == 0) return not_found("no reader " + reader);
    json before = reader_json(reader, r->i64(0, 0), std::string{r->text(0, 1)});
    if (auto e = audit(c, why, before, nullptr)) return e;
    return json{{"reader", reader}};
  });
}

caf::expected<json> admin_store::put_gateway(const std::string& id,
                                             const std::string& token_hash,
                                             bool must_exist,
                                             const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    auto old = c.exec("SELECT 1 FROM gateways WHERE id = $1 FOR UPDATE", {id});
    if (!old) return old.error();
    if (must_exist && old->rows() == 0) return not_found("no gateway " + id);
    if (!must_exist && old->rows() > 0)
      return make_error(errc::rejected, "gateway " + id + " exists");
    auto r = c.exec(
        "INSERT INTO gateways (id, token_hash) VALUES ($1, $2)"
        " ON CONFLICT (id) DO UPDATE SET token_hash = EXCLUDED.token_hash",
        {id, token_hash});
    if (!r) return r.error();
    // The audit trail never holds a token or its hash.
    json after{{"gateway", id}};
    if (auto e = audit(c, why, nullptr, after)) return e;
    return after;
  });
}

caf::expected<json> admin_store::remove_gateway(const std::string& id,
                                                const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    auto wired = c.exec(
        "SELECT string_agg(id, ', ' ORDER BY id), count(*) FROM readers"
        " WHERE gateway_id = $1",
        {id});
    if (!wired) return wired.error();
    if (wired->i64(0, 1) > 0)
      return make_error(errc::rejected,
                        "gateway " + id + " still serves reader(s) " +
                            std::string{wired->text(0, 0)} +
                            "; wire them to another gateway first");
    auto r = c.exec("DELETE FROM gateways WHERE id = $1 RETURNING id", {id});
    if (!r) return r.error();
    if (r->rows() == 0) return not_found("no gateway " + id);
    json before{{"gateway", id}};
    if (auto e = audit(c, why, before, nullptr)) return e;
    return before;
  });
}

caf::expected<json> admin_store::import_participants(const json& rows,
                                                     const audit_entry& why) {
  return in_transaction([&](pg_connection& c) -> caf::expected<json> {
    json rejected = json::array();
    json imported = json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      auto reject = [&](const std::string& reason) {
        rejected.push_back({{"row", i + 1}, {"reason", reason}});
      };
      if (!row.is_object() || !row.contains("name") ||
          !row["name"].is_string() || row["name"].get<std::string>().empty()) {
        reject("no name");
        continue;
      }
      // A savepoint per row lets every bad row be reported, not just the
      // first, while the whole import still commits or not as one.
      if (auto r = c.exec("SAVEPOINT import_row"); !r) return r.error();
      auto added = c.exec(
          "INSERT INTO participants (name, is_keyholder, suspended)"
          " VALUES ($1, $2, $3) RETURNING id",
          {row["name"].get<std::string>(),
           row.value("keyholder", false) ? "true" : "false",
           row.value("suspended", false) ? "true" : "false"});
      caf::expected<pg_result> badge{pg_result{}};
      if (added && row.contains("badge") && row["badge"].is_string() &&
          !row["badge"].get<std::string>().empty())
        badge =
            c.exec("INSERT INTO badges (uid, participant_id) VALUES ($1, $2)",
                   {row["badge"].get<std::string>(),
                    std::to_string(added->i64(0, 0))});
      if (!added || !badge) {
        if (auto r = c.exec("ROLLBACK TO SAVEPOINT import_row"); !r)
          return r.error();
        reject(!badge ? "badge " + row["badge"].get<std::string>() +
                            " is already assigned"
                      : describe(added.error()));
        continue;
      }
      auto added_json = read_participant(c, added->i64(0, 0));
      if (!added_json) return added_json.error();
      imported.push_back(std::move(*added_json));
    }
    if (!rejected.empty())
      return make_error(errc::rejected, json{{"rejected", rejected}}.dump());
    json after{{"imported", imported.size()}};
    if (auto e = audit(c, why, nullptr, after)) return e;
    after["participants"] = std::move(imported);
    return after;
  });
}

caf::expected<json> admin_store::history(
    const std::string& kind, const std::string& key,
    const std::optional<std::string>& since, int limit) {
  auto filter = history_filter(kind);
  if (filter == nullptr)
    return make_error(errc::invalid,
                      "history of what: facility, participant"
                      " or badge");
  auto c = connection();
  if (!c) return c.error();
  std::string sql =
      "SELECT s.id, s.at, s.gateway_id, s.gateway_seq::text, s.reader_id,"
      " s.badge_uid, f.name, s.participant_id, p.name, s.outcome, s.visit_id"
      " FROM scans s LEFT JOIN facilities f ON f.id = s.facility_id"
      " LEFT JOIN participants p ON p.id = s.participant_id WHERE ";
  sql += filter;
  sql +=
      " AND ($2::timestamptz IS NULL OR s.at >= $2::timestamptz)"
      " ORDER BY s.id DESC LIMIT $3";
  auto r = (*c)->exec(sql.c_str(), {key, since ? pg_param{*since} : pg_param{},
                                    std::to_string(limit)});
  if (!r) return failed(r.error());
  json scans = json::array();
  auto text_or_null = [&](int row, int col) -> json {
    if (r->is_null(row, col)) return nullptr;
    return std::string{r->text(row, col)};
  };
  auto id_or_null = [&](int row, int col) -> json {
    if (r->is_null(row, col)) return nullptr;
    return r->i64(row, col);
  };
  for (int i = 0; i < r->rows(); ++i)
    scans.push_back({{"id", r->i64(i, 0)},
                     {"at", iso(r->text(i, 1))},
                     {"gateway", std::string{r->text(i, 2)}},
                     {"seq", std::string{r->text(i, 3)}},
                     {"reader", std::string{r->text(i, 4)}},
                     {"badge", std::string{r->text(i, 5)}},
                     {"facility", text_or_null(i, 6)},
                     {"participant", id_or_null(i, 7)},
                     {"name", text_or_null(i, 8)},
                     {"outcome", std::string{r->text(i, 9)}},
                     {"visit", id_or_null(i, 10)}});
  return json{{"scans", scans}};
}

}  // namespace facilityd
