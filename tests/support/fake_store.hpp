#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "persistence/errc.hpp"
#include "persistence/store.hpp"

namespace facilityd::test {

/// An in-memory stand-in for the database, for unit tests of the actors
/// only: it keeps scans, visits and versions the way record_scan does
/// (replays, the version fence) and fails on request. Every store made by
/// factory() shares this one state. Thread-safe.
class fake_store {
 public:
  /// What the next calls of record_scan do, in order; once the script is
  /// used up they succeed.
  enum class step {
    fail_before,       // fails with the given errc, writes nothing
    commit_then_lose,  // writes, then reports outcome_unknown
    hold,              // waits until release(), then goes on as usual
  };

  explicit fake_store(std::vector<facility_state> facilities);

  void script(step s, errc code = errc::unavailable);
  void clear_script();

  /// Lets every call waiting in a `hold` step go on.
  void release();

  /// Waits until a call is held in a `hold` step.
  void wait_until_held();

  /// Changes a facility as another server would: version and all.
  void change_behind_the_back(facility_id id,
                              const std::function<void(facility_state&)>& f);

  store_factory factory();

  facility_state facility(facility_id id);
  size_t scans_recorded();

  caf::expected<recorded_scan> record_scan(const scan_request& s,
                                           const decision& d);
  caf::expected<facility_state> load_facility(facility_id id);
  caf::expected<commit> change_visits(const visit_change& c);

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool released_ = false;
  int held_ = 0;
  std::map<facility_id, facility_state> facilities_;
  std::map<std::pair<std::string, uint64_t>, recorded_scan> scans_;
  std::deque<std::pair<step, errc>> script_;
  visit_id next_visit_ = 1;
  int64_t clock_us_ = 1'000'000;
};

}  // namespace facilityd::test
