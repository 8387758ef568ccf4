#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace facilityd {

/// Owns one PGresult.
class pg_result {
 public:
  pg_result() = default;
  explicit pg_result(PGresult* r) : res_(r) {}

  int rows() const { return PQntuples(res_.get()); }
  bool is_null(int row, int col) const {
    return PQgetisnull(res_.get(), row, col) != 0;
  }
  std::string_view text(int row, int col) const {
    return {PQgetvalue(res_.get(), row, col),
            static_cast<size_t>(PQgetlength(res_.get(), row, col))};
  }
  int64_t i64(int row, int col) const;
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  std::optional<int64_t> opt_i64(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return i64(row, col);
  }

 private:
  struct deleter {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, deleter> res_;
};

/// A statement parameter in text format; nullopt is SQL NULL.
using pg_param = std::optional<std::string>;

/// Owns one PGconn. Every call blocks the calling thread for one round
/// trip, so only threads of their own may use it (detached actors, start-up
/// code), never CAF's cooperative scheduler. Not thread-safe.
///
/// Failures come back as facilityd errc values: unavailable for a
/// connection that could not be made or broke before the request went out,
/// outcome_unknown for one that broke after, conflict, rejected, internal.
class pg_connection {
 public:
  /// Connects with libpq connection string `dsn`; an empty one means
  /// libpq's environment variables (PGHOST, PGPORT, ...) and defaults.
  /// The error message never contains the password.
  static caf::expected<pg_connection> open(const std::string& dsn,
                                           int connect_timeout_s);

  pg_connection(pg_connection&&) noexcept = default;
  pg_connection& operator=(pg_connection&&) noexcept = default;

  /// Runs one or more statements without parameters.
  caf::expected<pg_result> exec(const char* sql);

  /// Runs one statement with parameters.
  caf::expected<pg_result> exec(const char* sql,
                                const std::vector<pg_param>& params);

  caf::error prepare(const char* name, const char* sql);

  /// Runs a statement made by prepare().
  caf::expected<pg_result> exec_prepared(const char* name,
                                         const std::vector<pg_param>& params);

  /// False once the connection has broken; it stays broken.
  bool ok() const { return PQstatus(conn_.get()) == CONNECTION_OK; }

 private:
  explicit pg_connection(PGconn* c) : conn_(c) {}

  caf::expected<pg_result> check(PGresult* r);

  struct deleter {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::unique_ptr<PGconn, deleter> conn_;
};

/// Formats ids as a PostgreSQL array literal: {1,2,3}.
std::string pg_array(const std::vector<int64_t>& xs);

}  // namespace facilityd
