#pragma once

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

#define LOG_DEBUG(component, x) \
  FACILITYD_LOG(::facilityd::log_level::debug, component, x)
#define LOG_INFO(component, x) \
  FACILITYD_LOG(::facilityd::log_level::info, component, x)
#define LOG_WARNING(component, x) \
  FACILITYD_LOG(::facilityd::log_level::warning, component, x)
#define LOG_ERROR(component, x) \
  FACILITYD_LOG(::facilityd::log_level::error, component, x)
