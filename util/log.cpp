#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <utility>

namespace facilityd {

namespace {

std::atomic<log_level> threshold{log_level::info};
std::mutex write_mutex;

std::string_view label(log_level x) {
  switch (x) {
    case log_level::debug:
      return "DEBUG";
    case log_level::info:
      return "INFO ";
    case log_level::warning:
      return "WARN ";
    case log_level::error:
      return "ERROR";
  }
  return "?    ";
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

}  // namespace

void set_log_level(log_level x) {
  threshold = x;
}

bool log_enabled(log_level x) {
  return x >= threshold.load(std::memory_order_relaxed);
}

bool parse_log_level(std::string_view name, log_level& out) {
  static constexpr std::pair<std::string_view, log_level> names[] = {
      {"debug", log_level::debug},
      {"info", log_level::info},
      {"warning", log_level::warning},
      {"error", log_level::error},
  };
  for (auto [n, x] : names) {
    if (n == name) {
      out = x;
      return true;
    }
  }
  return false;
}

bool log_limiter::allow(clock::time_point now, uint64_t& held_back) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (now - window_ >= period_) {
    window_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++held_back_;
    return false;
  }
  ++in_window_;
  held_back = held_back_;
  held_back_ = 0;
  return true;
}

void write_log(log_level level, std::string_view component,
               std::string_view message) {
  std::string line = timestamp();
  line += ' ';
  line += label(level);
  line += ' ';
  line += component;
  line += ": ";
  line += message;
  line += '\n';
  // One write per line keeps lines whole even when several processes share
  // the same stderr.
  std::lock_guard<std::mutex> guard{write_mutex};
  auto rest = std::string_view{line};
  while (!rest.empty()) {
    auto n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) break;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace facilityd
