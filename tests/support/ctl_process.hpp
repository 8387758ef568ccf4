#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/server_process.hpp"

namespace facilityd::test {

/// What a facilityctl run left: its exit status and what it wrote.
struct ctl_result {
  int status = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

/// The environment facilityctl runs in during tests: a HOME of its own
/// (for the console's history), UTC, no FACILITYD_ADMIN_* variables from
/// outside. Removes its HOME at the end.
class ctl_env {
 public:
  ctl_env();
  ~ctl_env();
  ctl_env(const ctl_env&) = delete;
  ctl_env& operator=(const ctl_env&) = delete;

  const std::string& home() const { return home_; }

  /// Variables to set besides, "NAME=value".
  std::vector<std::string> extra;

  /// The whole environment for a child.
  std::vector<std::string> variables() const;

 private:
  std::string home_;
};

/// The options that point facilityctl at `server`'s admin endpoint, as
/// user "tester".
std::vector<std::string> ctl_options(const server_process& server);

/// Runs facilityctl with `args` as they are, waiting up to `timeout` (then
/// kills it); `input` goes to its stdin.
ctl_result run_ctl_raw(const ctl_env& env, const std::vector<std::string>& args,
                       const std::string& input = "",
                       std::chrono::milliseconds timeout = std::chrono::seconds{
                           30});

/// Runs facilityctl against `server`: ctl_options() followed by `args`.
ctl_result run_ctl(const ctl_env& env, const server_process& server,
                   const std::vector<std::string>& args);

/// facilityctl on a pseudo-terminal of its own, driven by keystrokes as a
/// person at a terminal would. Everything it writes collects in output().
class ctl_terminal {
 public:
  ctl_terminal(const ctl_env& env, const std::vector<std::string>& args);
  ~ctl_terminal();
  ctl_terminal(const ctl_terminal&) = delete;
  ctl_terminal& operator=(const ctl_terminal&) = delete;

  /// Sends keystrokes as they are ("\t" is TAB, "\x1b[A" the up arrow,
  /// "\r" Enter).
  void type(const std::string& keys);

  /// Waits until what was written since the last forget() contains
  /// `text`; false after `timeout`.
  bool wait_for(const std::string& text,
                std::chrono::milliseconds timeout = std::chrono::seconds{10});

  /// How often `text` occurs in what was written since the last forget(),
  /// after waiting `settle` for more output.
  size_t count(const std::string& text,
               std::chrono::milliseconds settle = std::chrono::milliseconds{
                   300});

  /// What was written since the last forget().
  const std::string& output() const { return output_; }

  /// Starts collecting anew.
  void forget() { output_.clear(); }

  /// Waits for the exit; its status, or nothing after `timeout`.
  std::optional<int> wait_exit(
      std::chrono::milliseconds timeout = std::chrono::seconds{10});

 private:
  void read_for(std::chrono::milliseconds timeout);

  int pid_ = -1;
  int master_ = -1;
  std::string output_;
};

}  // namespace facilityd::test
