#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/child_process.hpp"

namespace facility_sim {

/// facilityd as a child of the harness, on the harness's schema, taking
/// gateways on 127.0.0.1 at a port the system picks anew at every start.
/// Every start appends to the same log file. Single-threaded.
class facilityd_child {
 public:
  using clock = std::chrono::steady_clock;

  /// `dsn` reaches the harness's schema; `dir` is a directory of the
  /// harness's own where the server runs and keeps its log (facilityd.log)
  /// and any file it makes. `extra_args` go after the harness's own
  /// arguments, so they win.
  facilityd_child(std::string binary, std::string dsn,
                  std::vector<std::string> extra_args, std::string dir);

  /// Starts the server. It is listening once port() is not 0, which
  /// poll() finds out from the log. Precondition: it is not running.
  void start();

  /// Reads the log written since the last call. Returns the exit status
  /// when the server ended without being told to (a crash).
  std::optional<int> poll();

  /// The port it listens on; 0 while starting or down.
  uint16_t port() const { return port_; }

  bool running() const { return process_.running(); }

  /// When the current start began.
  clock::time_point started_at() const { return started_at_; }

  void kill9();

  /// SIGTERM, and SIGKILL when it has not ended after `grace`. Returns the
  /// exit status of the SIGTERM'd process, or nothing if it needed the kill.
  std::optional<int> stop(std::chrono::milliseconds grace);

  const std::string& log_path() const { return log_path_; }

  /// The last `lines` lines of the log, for error messages.
  std::string log_tail(size_t lines) const;

 private:
  void read_log();
  void take_line(const std::string& line);

  std::string binary_;
  std::vector<std::string> args_;
  std::string dir_;
  std::string log_path_;
  child_process process_;
  uint16_t port_ = 0;
  clock::time_point started_at_{};
  size_t read_offset_ = 0;  // of the log, read up to here
  std::string partial_;     // the log's unfinished last line
};

}  // namespace facility_sim
