#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "persistence/pg.hpp"
#include "persistence/store.hpp"

namespace facilityd::test {

/// A schema of its own in the test database, with the migrations applied,
/// dropped again at the end. The database is the one libpq's environment
/// names (PGHOST, PGPORT, ...), or FACILITYD_TEST_DSN (key=value form) when
/// set. Each instance gets a fresh schema, so tests can run in parallel.
class test_db {
 public:
  test_db();
  /// On the database `base_dsn` names instead (key=value form).
  explicit test_db(std::string base_dsn);
  ~test_db();
  test_db(const test_db&) = delete;
  test_db& operator=(const test_db&) = delete;

  /// A connection string that reaches this schema.
  const std::string& dsn() const { return dsn_; }
  /// dsn(), but through 127.0.0.1:`port` (a tcp_proxy in front of the
  /// database, say).
  std::string dsn_via(uint16_t port) const;
  /// The port of the database server itself (PGPORT, or 5432).
  static uint16_t server_port();
  pg_store_options store_options() const;

  // -- seeding ---------------------------------------------------------------

  facility_id add_facility(const std::string& name,
                           std::optional<int32_t> capacity = std::nullopt);
  participant_id add_participant(const std::string& name, bool keyholder,
                                 bool suspended = false);
  void add_badge(const std::string& uid, participant_id owner);
  /// Adds reader `id` in facility `where`, wired to `gateway`, which is
  /// registered (without a usable token) if it is not yet.
  void add_reader(const std::string& id, facility_id where,
                  const std::string& gateway);
  /// Registers a gateway with `token` (stored hashed, as facilityd does),
  /// or gives a registered one that token.
  void add_gateway(const std::string& id, const std::string& token);

  // -- reading ---------------------------------------------------------------

  /// Runs `sql` and returns the first column of the first row as text;
  /// fails the test on error. Empty for no rows or NULL.
  std::string scalar(const std::string& sql);
  int64_t count(const std::string& sql);

  /// Runs a statement and fails the test on error.
  void exec(const std::string& sql);

  /// Lists every violation of invariants I1 and I2 in the database.
  std::vector<std::string> invariant_violations();

  /// Terminates every other connection to this database (a database
  /// crash, as far as clients can tell).
  void kill_other_connections();

  pg_connection& conn() { return *conn_; }

 private:
  std::string base_;
  std::string schema_;
  std::string dsn_;
  std::optional<pg_connection> conn_;
};

}  // namespace facilityd::test
