#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

#include "rules/directory.hpp"
#include "rules/facility_state.hpp"
#include "rules/scan.hpp"
#include "rules/visit_change.hpp"

namespace facilityd {

/// Everything the server rebuilds its memory from at start-up.
struct world {
  directory dir;
  /// Gateway id to the hash of its token (see net/token.hpp).
  std::unordered_map<std::string, std::string> gateway_tokens;
  std::vector<facility_state> facilities;
  size_t open_visits = 0;
};

/// One line of the admin audit trail: who did what to which thing, and the
/// thing before and after as JSON. An empty action writes no audit row.
struct audit_entry {
  std::string actor;
  std::string action;
  std::string target;
  std::string before;
  std::string after;
};

/// A change of a facility's own settings.
struct facility_edit {
  std::optional<std::string> name;  // none: unchanged
  bool set_capacity = false;
  std::optional<int32_t> capacity;  // with set_capacity; none: no limit
};

/// The durable side of the facility state. Each call is one transaction.
/// Calls block; an instance is used by one thread at a time. Failures are
/// facilityd errc values (see persistence/errc.hpp).
class store {
 public:
  virtual ~store() = default;

  /// Writes decision `d` for scan `s` in one transaction, or returns the
  /// stored result when (s.gateway, s.seq) was recorded before.
  virtual caf::expected<recorded_scan> record_scan(const scan_request& s,
                                                   const decision& d) = 0;

  /// Writes a change to a facility's open visits in one transaction, fenced
  /// on its version like a scan, with `why` in the audit trail.
  virtual caf::expected<commit> change_visits(const visit_change& c,
                                              const audit_entry& why) = 0;

  /// Renames a facility or changes its capacity, fenced on `f.version`.
  virtual caf::expected<commit> edit_facility(const facility_state& f,
                                              const facility_edit& e,
                                              const audit_entry& why) = 0;

  /// Removes facility `f`, fenced on its version; errc::rejected while
  /// people are inside or readers point at it.
  virtual caf::expected<commit> remove_facility(const facility_state& f,
                                                const audit_entry& why) = 0;

  /// Reads one facility and its open visits in one snapshot.
  virtual caf::expected<facility_state> load_facility(facility_id id) = 0;

  /// Reads the directory and every facility in one snapshot.
  virtual caf::expected<world> load_world() = 0;
};

/// Makes a store for one database worker.
using store_factory = std::function<std::unique_ptr<store>()>;

struct pg_store_options {
  /// libpq connection string; empty: libpq's environment variables.
  std::string dsn;
  int connect_timeout_s = 5;
  /// PostgreSQL cancels a statement that runs longer than this.
  std::chrono::milliseconds statement_timeout{5000};
  /// Waits between reconnect attempts grow from the first to the last.
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

/// The PostgreSQL store: one connection, made on first use and again after
/// it breaks, with growing waits between failed attempts. A call made
/// during a wait fails at once with errc::unavailable.
std::unique_ptr<store> make_pg_store(pg_store_options opts);

}  // namespace facilityd
