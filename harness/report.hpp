#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/answer.hpp"

namespace facility_sim {

/// Every broken promise the harness finds, in the order found. Keeps the
/// first few texts and counts the rest.
class violation_log {
 public:
  explicit violation_log(size_t kept = 40) : kept_limit_(kept) {}

  void add(std::string what);

  size_t count() const { return count_; }
  const std::vector<std::string>& kept() const { return kept_; }

 private:
  size_t kept_limit_;
  size_t count_ = 0;
  std::vector<std::string> kept_;
};

/// What happened during a run, counted as it happens.
struct run_stats {
  int64_t first_sends = 0;       // scans written for the first time
  int64_t resends = 0;           // writes of a scan written before
  int64_t acked = 0;             // scans with an ACK
  int64_t replays_compared = 0;  // later ACKs compared with the first
  std::array<int64_t, outcome_count> by_outcome{};
  std::map<std::string, int64_t> errors;  // ERR lines by code
  int64_t logins = 0;
  int64_t connection_losses = 0;
  int64_t in_flight = 0;  // updated by the simulation for the progress line

  int server_kills = 0;
  int server_crashes = 0;
  int db_restarts = 0;
  int cuts = 0;
  int64_t history_resent = 0;  // scans queued by --resend-history

  std::vector<int64_t> latency_us;  // send to ACK, scans sent once only
  std::vector<int64_t> login_us;    // connect to WELCOME (TLS included)

  int64_t error_count() const;
};

/// The database side of the summary, filled in by the checks.
struct db_counts {
  int64_t scans = 0;
  int64_t visits = 0;
  int64_t open_visits = 0;
};

/// The p-th percentile (0..1) of `xs` (sorted in place), 0 when empty.
int64_t percentile(std::vector<int64_t>& xs, double p);

/// One progress line: seconds since the start and the counters.
std::string progress_line(double seconds, const run_stats& s,
                          const std::string& server_state, size_t violations);

struct summary_input {
  std::string world;     // one line describing the world
  std::string faults;    // one line describing the faults done
  double traffic_s = 0;  // first send to last ACK
  double drain_s = 0;
  db_counts db;
};

/// The end-of-run report: counts, outcomes, errors, throughput, latency
/// percentiles and the violations (the first ones kept, then the count).
std::string summary(run_stats& s, const summary_input& in,
                    const violation_log& v);

}  // namespace facility_sim
