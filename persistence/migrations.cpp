#include "persistence/migrations.hpp"

#include <string>

#include "persistence/errc.hpp"

namespace facilityd {

namespace {

// Any constant works; it only has to be the same for every server.
constexpr const char* lock_sql = "SELECT pg_advisory_xact_lock(7410266)";

constexpr const char* create_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

constexpr const char* is_applied_sql =
    "SELECT 1 FROM schema_migrations WHERE version = $1";

constexpr const char* record_sql =
    "INSERT INTO schema_migrations (version) VALUES ($1)";

caf::expected<size_t> apply_pending(pg_connection& conn) {
  for (auto sql : {lock_sql, create_table_sql})
    if (auto res = conn.exec(sql); !res) return res.error();
  size_t applied = 0;
  for (size_t i = 0; i < all_migrations_count; ++i) {
    const auto& m = all_migrations[i];
    std::vector<pg_param> version{std::string{m.version}};
    auto found = conn.exec(is_applied_sql, version);
    if (!found) return found.error();
    if (found->rows() > 0) continue;
    std::string sql{m.sql};
    if (auto res = conn.exec(sql.c_str()); !res)
      return make_error(errc::internal,
                        "migration " + std::string{m.version} +
                            " failed: " + describe(res.error()));
    if (auto res = conn.exec(record_sql, version); !res) return res.error();
    ++applied;
  }
  return applied;
}

}  // namespace

caf::expected<size_t> apply_migrations(pg_connection& conn) {
  if (auto res = conn.exec("BEGIN"); !res) return res.error();
  auto applied = apply_pending(conn);
  auto end = conn.exec(applied ? "COMMIT" : "ROLLBACK");
  if (!applied) return applied;
  if (!end) return end.error();
  return applied;
}

}  // namespace facilityd
