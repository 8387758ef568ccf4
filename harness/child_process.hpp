#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace facility_sim {

/// One child process whose output is appended to a file. Single-threaded:
/// whoever owns it reaps it, through poll() or wait_for().
class child_process {
 public:
  child_process() = default;
  /// Kills (SIGKILL) and reaps a child still running.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Runs `argv` (argv[0] a path) with stdout and stderr appended to
  /// `output_path`, in working directory `dir`. Precondition: no child is
  /// running. Throws std::runtime_error when fork fails.
  void spawn(const std::vector<std::string>& argv,
             const std::string& output_path, const std::string& dir);

  bool running() const { return pid_ > 0; }

  /// The child's exit status (exit code, or 128 + signal) if it has ended
  /// since the last call; nothing while it runs or when there is none.
  std::optional<int> poll();

  /// Sends `sig` to the child, if there is one.
  void signal(int sig);

  /// Waits up to `timeout` for the child to end; its status, or nothing.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

  /// SIGKILL, then waits for it; the status, or nothing without a child.
  std::optional<int> kill9();

 private:
  int pid_ = -1;
};

/// The last `lines` lines of the file at `path`, each indented with "  | ",
/// for error messages; empty when it cannot be read.
std::string file_tail(const std::string& path, size_t lines);

}  // namespace facility_sim
