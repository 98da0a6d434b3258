// A latency histogram with fixed buckets that any thread records into with
// relaxed atomics (no lock, no allocation); /metrics reads it as a
// Prometheus histogram (cumulative buckets, sum, count).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace starling {

/// Durations recorded into fixed buckets (upper bounds in seconds below).
class latency_histogram {
public:
  /// Upper bounds of the buckets in seconds (the +Inf bucket follows).
  static constexpr std::array<double, 12> bounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  /// Records one duration.
  void record(std::chrono::nanoseconds d) {
    auto ns = d.count() < 0 ? 0 : static_cast<uint64_t>(d.count());
    auto s = static_cast<double>(ns) / 1e9;
    std::size_t i = 0;
    while (i < bounds.size() && s > bounds[i])
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(ns, std::memory_order_relaxed);
  }

  /// Records the time since `start`.
  void record_since(std::chrono::steady_clock::time_point start) {
    record(std::chrono::steady_clock::now() - start);
  }

  /// Observations in bucket `i` alone (not cumulative); i == bounds.size()
  /// is the +Inf bucket.
  uint64_t bucket(std::size_t i) const {
    return counts_[i].load(std::memory_order_relaxed);
  }

  /// Sum of the observations in seconds.
  double sum_seconds() const {
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  }

private:
  std::array<std::atomic<uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

} // namespace starling
