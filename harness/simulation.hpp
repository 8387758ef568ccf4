#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "harness/child_process.hpp"
#include "harness/facilityd_child.hpp"
#include "harness/gateway_link.hpp"
#include "harness/options.hpp"
#include "harness/population.hpp"
#include "harness/report.hpp"
#include "harness/world.hpp"

namespace facility_sim {

enum class fault_kind {
  kill_server,
  restart_db,
  cut_connection,
  resend_history
};

/// A fault and how far into the run (0..1) it happens.
struct planned_fault {
  double at = 0;
  fault_kind kind = fault_kind::kill_server;
};

/// One run: facilityd as a child, the gateways, the population and the
/// faults, driven by one thread polling every socket. The world must
/// already be in the database.
class simulation {
 public:
  /// `server_dsn` reaches the harness's schema; `dir` is a directory of
  /// the harness's own for the server and the logs.
  simulation(const options& opts, const world& w, std::string server_dsn,
             const std::string& dir, violation_log& violations);

  /// Starts facilityd, sends until the scans or the time are used up,
  /// applying the planned faults on the way, waits for every answer (up to
  /// the drain timeout) and stops facilityd. Throws std::runtime_error
  /// when the run cannot go on: the server does not start, the database
  /// restart command fails.
  void run();

  std::vector<const gateway_log*> logs() const;
  run_stats& stats() { return stats_; }

  /// One line: the faults done.
  std::string faults_done() const;

  double traffic_seconds() const;
  double drain_seconds() const;
  const std::string& server_log() const { return server_.log_path(); }

 private:
  void start_server();
  bool sending(clock::time_point now) const;
  double progress(clock::time_point now) const;
  bool send(const scan_intent& s);
  bool finished(clock::time_point now);
  void step(clock::time_point now);
  void watch_server(clock::time_point now);
  void watch_db_restart();
  void inject_faults(clock::time_point now);
  /// False when the fault cannot happen yet.
  bool do_fault(fault_kind kind, clock::time_point now);
  void kill_server(clock::time_point now);
  void restart_db(clock::time_point now);
  bool cut_a_connection(clock::time_point now);
  void resend_history(clock::time_point now);
  void say(clock::time_point now, const std::string& what);
  void poll_sockets(clock::time_point now);
  void print_progress(clock::time_point now);
  std::string server_state() const;

  const options& opts_;
  const world& world_;
  violation_log& violations_;
  run_stats stats_;
  std::mt19937_64 rng_;

  std::unique_ptr<tls_client> tls_;  // null: the gateways speak plain TCP
  facilityd_child server_;
  child_process db_restart_;
  std::string db_restart_log_;
  std::vector<std::unique_ptr<gateway_link>> gateways_;
  population people_;

  std::vector<planned_fault> faults_;  // in order; the done ones removed
  std::vector<std::string> db_modes_;  // of the restarts done
  std::string history_gateway_;

  int64_t created_ = 0;
  clock::time_point start_{};
  std::optional<clock::time_point> drain_start_;
  clock::time_point end_{};
  clock::time_point next_server_poll_{};
  clock::time_point next_progress_{};
};

/// Draws when the requested faults happen: spread over 10% to 90% of the
/// run, in order.
std::vector<planned_fault> plan_faults(const options& opts,
                                       std::mt19937_64& rng);

}  // namespace facility_sim
