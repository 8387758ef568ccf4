#include "persistence/pg.hpp"

#include <charconv>
#include <cstring>

#include "persistence/errc.hpp"
#include "util/log.hpp"

namespace facilityd {

namespace {

std::string first_line(const char* msg) {
  std::string s = msg ? msg : "";
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

bool starts_with(const char* s, const char* prefix) {
  return s != nullptr && std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// Sorts a failed statement by what the caller can do about it.
errc classify(const char* sqlstate) {
  if (sqlstate == nullptr) return errc::internal;
  // FD003: the request contradicts the data (a facility still in use).
  if (std::strcmp(sqlstate, "FD003") == 0) return errc::rejected;
  if (starts_with(sqlstate, "FD") || starts_with(sqlstate, "40") ||
      std::strcmp(sqlstate, "23505") == 0)
    return errc::conflict;
  if (starts_with(sqlstate, "23") || starts_with(sqlstate, "22"))
    return errc::rejected;
  // Connection exceptions, operator intervention (shutdown, statement
  // timeout) and insufficient resources: the statement did not commit.
  if (starts_with(sqlstate, "08") || starts_with(sqlstate, "57") ||
      starts_with(sqlstate, "53"))
    return errc::unavailable;
  return errc::internal;
}

// libpq prints server notices to stderr; they belong in the log instead.
void log_notice(void*, const char* message) {
  LOG_DEBUG("db", "notice: " << first_line(message));
}

std::vector<const char*> raw_params(const std::vector<pg_param>& params) {
  std::vector<const char*> out;
  out.reserve(params.size());
  for (const auto& p : params)
    out.push_back(p ? p->c_str() : nullptr);
  return out;
}

}  // namespace

int64_t pg_result::i64(int row, int col) const {
  auto s = text(row, col);
  int64_t out = 0;
  std::from_chars(s.data(), s.data() + s.size(), out);
  return out;
}

caf::expected<pg_connection> pg_connection::open(const std::string& dsn,
                                                 int connect_timeout_s) {
  auto timeout = std::to_string(connect_timeout_s);
  // Keywords before "dbname" are defaults that the connection string may
  // override; an empty connection string leaves libpq's environment in
  // charge. A database host that vanishes without closing its connections
  // (power loss, a black-holed network) is noticed within seconds rather
  // than the hours of the system's TCP defaults: keepalives probe an idle
  // connection after 5 s, and a request unacknowledged for 10 s ends it.
  const char* keys[] = {"connect_timeout",
                        "fallback_application_name",
                        "keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "tcp_user_timeout",
                        "dbname",
                        nullptr};
  const char* values[] = {timeout.c_str(), "facilityd", "1",    "5", "2", "3",
                          "10000",         dsn.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  if (c == nullptr)
    return make_error(errc::unavailable, "cannot allocate a connection");
  pg_connection conn{c};
  PQsetNoticeProcessor(c, log_notice, nullptr);
  if (PQstatus(c) != CONNECTION_OK)
    return make_error(errc::unavailable, "cannot connect to PostgreSQL: " +
                                             first_line(PQerrorMessage(c)));
  return conn;
}

caf::expected<pg_result> pg_connection::check(PGresult* raw) {
  pg_result res{raw};
  auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return res;
  if (!ok())
    // The request went out and the connection broke before the answer:
    // nobody can say whether it committed.
    return make_error(
        errc::outcome_unknown,
        "connection lost: " + first_line(PQerrorMessage(conn_.get())));
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      raw ? PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  auto msg = primary ? std::string{primary}
                     : first_line(raw ? PQresultErrorMessage(raw)
                                      : PQerrorMessage(conn_.get()));
  auto kind = classify(state);
  // The caller's own mistakes read as plain sentences; everything else
  // keeps its SQLSTATE for whoever reads the log.
  if (kind == errc::rejected) return make_error(kind, msg);
  return make_error(kind, std::string{state ? state : "?????"} + " " + msg);
}

caf::expected<pg_result> pg_connection::exec(const char* sql) {
  return check(PQexec(conn_.get(), sql));
}

caf::expected<pg_result> pg_connection::exec(
    const char* sql, const std::vector<pg_param>& params) {
  auto raw = raw_params(params);
  return check(PQexecParams(conn_.get(), sql, static_cast<int>(raw.size()),
                            nullptr, raw.data(), nullptr, nullptr, 0));
}

caf::error pg_connection::prepare(const char* name, const char* sql) {
  auto res = check(PQprepare(conn_.get(), name, sql, 0, nullptr));
  return res ? caf::error{} : res.error();
}

caf::expected<pg_result> pg_connection::exec_prepared(
    const char* name, const std::vector<pg_param>& params) {
  auto raw = raw_params(params);
  return check(PQexecPrepared(conn_.get(), name, static_cast<int>(raw.size()),
                              raw.data(), nullptr, nullptr, 0));
}

std::string pg_array(const std::vector<int64_t>& xs) {
  std::string out = "{";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(xs[i]);
  }
  out += '}';
  return out;
}

}  // namespace facilityd
