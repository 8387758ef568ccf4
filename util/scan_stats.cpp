#include "util/scan_stats.hpp"

#include <cmath>

namespace facilityd {

size_t scan_stats::bucket_of(int64_t us) {
  // Bucket b holds latencies up to 10 us * 1.25^b.
  if (us <= 10) return 0;
  auto b = static_cast<size_t>(
      std::ceil(std::log(static_cast<double>(us) / 10.0) / std::log(1.25)));
  return b < buckets ? b : buckets - 1;
}

double scan_stats::upper_us(size_t bucket) {
  return 10.0 * std::pow(1.25, static_cast<double>(bucket));
}

int64_t scan_stats::now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void scan_stats::record(std::chrono::microseconds latency) {
  histogram_[bucket_of(latency.count())].fetch_add(1,
                                                   std::memory_order_relaxed);
  total_.fetch_add(1, std::memory_order_relaxed);
  auto s = now_s();
  auto slot = static_cast<size_t>(s) % window;
  // A slot left from an older second starts over. Two threads racing here
  // may lose a count or two; the figure is for people, not for accounts.
  if (second_of_[slot].exchange(s, std::memory_order_relaxed) != s)
    per_second_[slot].store(0, std::memory_order_relaxed);
  per_second_[slot].fetch_add(1, std::memory_order_relaxed);
}

double scan_stats::per_second() const {
  auto s = now_s();
  uint64_t sum = 0;
  for (int64_t past = s - 10; past < s; ++past) {
    auto slot = static_cast<size_t>(past) % window;
    if (second_of_[slot].load(std::memory_order_relaxed) == past)
      sum += per_second_[slot].load(std::memory_order_relaxed);
  }
  return static_cast<double>(sum) / 10.0;
}

double scan_stats::p99_ms() const {
  auto n = total();
  if (n == 0) return 0;
  auto want = n - n / 100;
  uint64_t seen = 0;
  for (size_t b = 0; b < buckets; ++b) {
    seen += histogram_[b].load(std::memory_order_relaxed);
    if (seen >= want) return upper_us(b) / 1000.0;
  }
  return upper_us(buckets - 1) / 1000.0;
}

}  // namespace facilityd
