#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>

namespace facilityd {

enum class log_level { debug, info, warning, error };

/// Sets the lowest level that is written. Thread-safe.
void set_log_level(log_level x);

bool log_enabled(log_level x);

/// Parses "debug", "info", "warning" or "error".
bool parse_log_level(std::string_view name, log_level& out);

/// Writes one line to stderr: UTC time, level, component and message.
/// Lines from several threads never interleave.
void write_log(log_level level, std::string_view component,
               std::string_view message);

/// Lets at most `burst` lines through per `period`, so that one place in
/// the code cannot flood the log (a storm of connections, an outage seen
/// by every worker). What it holds back is counted and reported with the
/// next line it lets through. Thread-safe.
class log_limiter {
 public:
  using clock = std::chrono::steady_clock;

  log_limiter(uint32_t burst, std::chrono::milliseconds period)
      : burst_(burst), period_(period) {}

  /// Whether a line may be written at `now`; if so, `held_back` is set to
  /// the number of lines held back since the last one written.
  bool allow(clock::time_point now, uint64_t& held_back);

 private:
  const uint32_t burst_;
  const std::chrono::milliseconds period_;
  std::mutex mtx_;
  clock::time_point window_{};
  uint32_t in_window_ = 0;
  uint64_t held_back_ = 0;
};

}  // namespace facilityd

// The stream expression is evaluated only when the level is enabled, so a
// debug line on the scan path costs one comparison when debug is off.
#define FACILITYD_LOG(level, component, stream_expr)                         \
  do {                                                                       \
    if (::facilityd::log_enabled(level)) {                                   \
      std::ostringstream facilityd_log_stream_;                              \
      facilityd_log_stream_ << stream_expr;                                  \
      ::facilityd::write_log(level, component, facilityd_log_stream_.str()); \
    }                                                                        \
  } while (false)

// Like FACILITYD_LOG, for lines that can repeat without bound: each place
// in the code writes at most 20 of them every 10 seconds.
#define FACILITYD_LOG_LIMITED(level, component, stream_expr)                 \
  do {                                                                       \
    static ::facilityd::log_limiter facilityd_log_limiter_{                  \
        20, std::chrono::seconds{10}};                                       \
    uint64_t facilityd_log_held_back_ = 0;                                   \
    if (::facilityd::log_enabled(level) &&                                   \
        facilityd_log_limiter_.allow(::facilityd::log_limiter::clock::now(), \
                                     facilityd_log_held_back_)) {            \
      std::ostringstream facilityd_log_stream_;                              \
      facilityd_log_stream_ << stream_expr;                                  \
      if (facilityd_log_held_back_ > 0)                                      \
        facilityd_log_stream_ << " (and " << facilityd_log_held_back_        \
                              << " more like it not logged)";                \
      ::facilityd::write_log(level, component, facilityd_log_stream_.str()); \
    }                                                                        \
  } while (false)

#define LOG_INFO_LIMITED(component, x) \
  FACILITYD_LOG_LIMITED(::facilityd::log_level::info, component, x)
#define LOG_WARNING_LIMITED(component, x) \
  FACILITYD_LOG_LIMITED(::facilityd::log_level::warning, component, x)

#define LOG_DEBUG(component, x) \
  FACILITYD_LOG(::facilityd::log_level::debug, component, x)
#define LOG_INFO(component, x) \
  FACILITYD_LOG(::facilityd::log_level::info, component, x)
#define LOG_WARNING(component, x) \
  FACILITYD_LOG(::facilityd::log_level::warning, component, x)
#define LOG_ERROR(component, x) \
  FACILITYD_LOG(::facilityd::log_level::error, component, x)
