#include "persistence/db_health.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>

#include "util/log.hpp"

namespace facilityd {

namespace {

using std::chrono::steady_clock;

std::string first_line(const char* msg) {
  std::string s = msg ? msg : "";
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

// Waits until the connection's socket is ready for `events`; false when
// the deadline passes first or the socket is gone.
bool wait_socket(PGconn* c, short events, steady_clock::time_point deadline) {
  int fd = PQsocket(c);
  if (fd < 0) return false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace

struct db_health::connection {
  explicit connection(PGconn* c) : raw(c) {}
  ~connection() { PQfinish(raw); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  PGconn* raw;
};

db_health::db_health(pg_store_options db, db_health_options opts,
                     std::function<void(const health_report&)> observer)
    : db_(std::move(db)), opts_(opts), observer_(std::move(observer)) {}

db_health::~db_health() = default;

health_report db_health::check() {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = steady_clock::now();
  if (last_ && now - last_->checked_at < opts_.cache_for) return *last_;
  auto r = probe();
  // Said once per change, not once per check.
  bool was_reachable = !last_ || last_->reachable;
  if (was_reachable && !r.reachable)
    LOG_WARNING("health", "database unreachable: " << r.error);
  else if (!was_reachable && r.reachable)
    LOG_INFO("health", "database reachable again");
  last_ = r;
  if (observer_) observer_(r);
  return r;
}

health_report db_health::probe() {
  auto start = steady_clock::now();
  auto deadline = start + opts_.timeout;
  health_report out;
  std::string error;
  auto result = step::failed;
  if (conn_ && PQstatus(conn_->raw) == CONNECTION_OK)
    result = query(deadline, error);
  // A kept connection may have broken since the last check (a database
  // restart, say): one fresh attempt in the time that is left. One that
  // timed out used that time up.
  if (result == step::failed) {
    conn_.reset();
    error.clear();
    result = connect(deadline, error);
    if (result == step::done) result = query(deadline, error);
  }
  if (result != step::done) conn_.reset();
  out.reachable = result == step::done;
  out.error = out.reachable ? std::string{} : error;
  out.checked_at = steady_clock::now();
  out.round_trip = std::chrono::duration_cast<std::chrono::microseconds>(
      out.checked_at - start);
  return out;
}

db_health::step db_health::connect(steady_clock::time_point deadline,
                                   std::string& error) {
  // Keywords before "dbname" are defaults the connection string may
  // override; libpq's own connect_timeout does not apply to the
  // non-blocking calls, the deadline does.
  const char* keys[] = {"fallback_application_name", "keepalives", "dbname",
                        nullptr};
  const char* values[] = {"facilityd-health", "1", db_.dsn.c_str(), nullptr};
  PGconn* raw = PQconnectStartParams(keys, values, 1);
  if (raw == nullptr) {
    error = "cannot allocate a connection";
    return step::failed;
  }
  auto c = std::make_unique<connection>(raw);
  if (PQstatus(raw) == CONNECTION_BAD) {
    error = "cannot connect to PostgreSQL: " + first_line(PQerrorMessage(raw));
    return step::failed;
  }
  auto state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      error =
          "cannot connect to PostgreSQL: " + first_line(PQerrorMessage(raw));
      return step::failed;
    }
    short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!wait_socket(raw, events, deadline)) {
      error = "no connection to PostgreSQL within " +
              std::to_string(opts_.timeout.count()) + " ms";
      return step::timed_out;
    }
    state = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) {
    error = "cannot make the connection non-blocking";
    return step::failed;
  }
  conn_ = std::move(c);
  return step::done;
}

db_health::step db_health::query(steady_clock::time_point deadline,
                                 std::string& error) {
  PGconn* c = conn_->raw;
  auto timed_out = [&] {
    error = "no answer from PostgreSQL within " +
            std::to_string(opts_.timeout.count()) + " ms";
    return step::timed_out;
  };
  auto broken = [&] {
    error = "connection lost: " + first_line(PQerrorMessage(c));
    return step::failed;
  };
  if (PQsendQuery(c, "SELECT 1") == 0) return broken();
  for (int f = PQflush(c); f != 0; f = PQflush(c)) {
    if (f < 0) return broken();
    if (!wait_socket(c, POLLIN | POLLOUT, deadline)) return timed_out();
    if (PQconsumeInput(c) == 0) return broken();
  }
  bool answered = false;
  for (;;) {
    while (PQisBusy(c)) {
      if (!wait_socket(c, POLLIN, deadline)) return timed_out();
      if (PQconsumeInput(c) == 0) return broken();
    }
    PGresult* r = PQgetResult(c);
    if (r == nullptr) break;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
      answered = true;
    else if (error.empty())
      error = first_line(PQresultErrorMessage(r));
    PQclear(r);
  }
  if (!answered && error.empty()) error = "SELECT 1 returned nothing";
  return answered && error.empty() ? step::done : step::failed;
}

}  // namespace facilityd
