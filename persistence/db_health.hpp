#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "persistence/store.hpp"

namespace facilityd {

/// What one health check found.
struct health_report {
  bool reachable = false;
  /// Why not, when not: one line, never a password.
  std::string error;
  /// The SELECT 1 round trip (connecting included when it had to).
  std::chrono::microseconds round_trip{0};
  /// When the check ran; answers from the cache carry the time of the
  /// check that made them.
  std::chrono::steady_clock::time_point checked_at{};
};

struct db_health_options {
  /// The most one check may take, connecting included.
  std::chrono::milliseconds timeout{2000};
  /// A result younger than this is answered again without asking the
  /// database, so a flood of checks costs it one query a period.
  std::chrono::milliseconds cache_for{1000};
};

/// Whether PostgreSQL can be reached: a SELECT 1 round trip on a connection
/// of its own (never one of the scan pool's), made when first needed and
/// kept. Each check is bounded by `timeout` on our side, with libpq's
/// non-blocking calls, so a database that accepts connections but does
/// not answer cannot hold it longer.
///
/// check() blocks for up to `timeout`: call it from threads that may block
/// (the metrics endpoint's, a detached actor), never from CAF's scheduler.
/// Thread-safe; checks run one at a time.
class db_health {
 public:
  /// `observer`, if set, hears every fresh result (not the cached ones),
  /// on the thread that ran the check.
  db_health(pg_store_options db, db_health_options opts,
            std::function<void(const health_report&)> observer = {});
  ~db_health();
  db_health(const db_health&) = delete;
  db_health& operator=(const db_health&) = delete;

  /// The last result if it is recent enough, else a fresh one.
  health_report check();

 private:
  struct connection;

  enum class step { done, failed, timed_out };

  health_report probe();
  step query(std::chrono::steady_clock::time_point deadline,
             std::string& error);
  step connect(std::chrono::steady_clock::time_point deadline,
               std::string& error);

  pg_store_options db_;
  db_health_options opts_;
  std::function<void(const health_report&)> observer_;

  std::mutex mtx_;  // guards what follows; held for a whole check
  std::unique_ptr<connection> conn_;
  std::optional<health_report> last_;
};

}  // namespace facilityd
