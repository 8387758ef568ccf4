#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace facilityd {

/// Counts answered scans and their latency, for the console's status.
/// Lock-free; any thread may record, any thread may read.
class scan_stats {
 public:
  /// One answered scan that took `latency` from arrival to answer.
  void record(std::chrono::microseconds latency);

  /// Answered scans per second over the last ten whole seconds.
  double per_second() const;

  /// The latency below which 99% of the answers since start came, in ms;
  /// 0 before the first answer. Resolution: buckets growing by 25%.
  double p99_ms() const;

  uint64_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t buckets = 96;
  static constexpr size_t window = 16;

  static size_t bucket_of(int64_t us);
  static double upper_us(size_t bucket);
  static int64_t now_s();

  std::array<std::atomic<uint64_t>, buckets> histogram_{};
  std::atomic<uint64_t> total_{0};
  // Per-second counts, slot = second % window, tagged with their second.
  std::array<std::atomic<uint64_t>, window> per_second_{};
  std::array<std::atomic<int64_t>, window> second_of_{};
};

}  // namespace facilityd
