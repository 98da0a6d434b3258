// Latency histogram for starling_loadgen: log-linear buckets (32 per octave,
// about 3% relative error), mergeable across worker processes as text.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace starling::bench {

/// Counts non-negative nanosecond values in log-linear buckets.
class latency_histogram {
public:
  /// Records one value; negative values (clock skew) count as zero.
  void record(int64_t ns) {
    uint64_t v = ns < 0 ? 0 : static_cast<uint64_t>(ns);
    ++counts_[index_of(v)];
    ++count_;
    max_ = std::max(max_, v);
  }

  /// Adds every count of `other`.
  void merge(const latency_histogram& other) {
    for (size_t i = 0; i < bucket_count; ++i)
      counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  /// Returns the number of recorded values.
  uint64_t count() const { return count_; }

  /// Returns the largest recorded value.
  uint64_t max() const { return max_; }

  /// Returns the upper bound of the bucket holding quantile `q` in [0, 1].
  uint64_t percentile(double q) const {
    if (count_ == 0)
      return 0;
    uint64_t rank
      = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.5);
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= rank)
        return std::min(upper_bound_of(i), max_);
    }
    return max_;
  }

  /// Returns the sparse text form "index:count,..." plus ";max".
  std::string to_text() const {
    std::string out;
    char buf[48];
    for (size_t i = 0; i < bucket_count; ++i) {
      if (counts_[i] == 0)
        continue;
      int n = snprintf(buf, sizeof buf, "%zu:%llu,", i,
                       static_cast<unsigned long long>(counts_[i]));
      out.append(buf, static_cast<size_t>(n));
    }
    int n = snprintf(buf, sizeof buf, ";%llu",
                     static_cast<unsigned long long>(max_));
    out.append(buf, static_cast<size_t>(n));
    return out;
  }

  /// Merges a to_text() form into this histogram; returns false if malformed.
  bool merge_text(std::string_view text) {
    std::string s(text);
    const char* p = s.c_str();
    while (*p && *p != ';') {
      char* end = nullptr;
      unsigned long idx = strtoul(p, &end, 10);
      if (*end != ':' || idx >= bucket_count)
        return false;
      unsigned long long c = strtoull(end + 1, &end, 10);
      if (*end != ',')
        return false;
      counts_[idx] += c;
      count_ += c;
      p = end + 1;
    }
    if (*p == ';')
      max_ = std::max<uint64_t>(max_, strtoull(p + 1, nullptr, 10));
    return true;
  }

  /// Writes "<upper bound ms> <cumulative fraction>" per non-empty bucket
  /// (a CDF for plotting); returns false if the file cannot be written.
  bool write_cdf(const std::string& path) const {
    FILE* f = fopen(path.c_str(), "w");
    if (f == nullptr)
      return false;
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
      if (counts_[i] == 0)
        continue;
      seen += counts_[i];
      fprintf(f, "%.4f %.6f\n",
              static_cast<double>(std::min(upper_bound_of(i), max_)) / 1e6,
              static_cast<double>(seen) / static_cast<double>(count_));
    }
    return fclose(f) == 0;
  }

private:
  static constexpr unsigned sub_bits = 5;
  static constexpr size_t linear_limit = 2u << sub_bits; // 64: exact below this
  static constexpr size_t bucket_count
    = linear_limit + (64 - sub_bits - 1) * (1u << sub_bits);

  static size_t index_of(uint64_t v) {
    if (v < linear_limit)
      return static_cast<size_t>(v);
    unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(v));
    unsigned shift = e - sub_bits;
    // (v >> shift) keeps the leading one plus sub_bits bits: 32..63.
    return linear_limit + (e - sub_bits - 1) * (1u << sub_bits)
           + static_cast<size_t>((v >> shift) - (1u << sub_bits));
  }

  static uint64_t upper_bound_of(size_t i) {
    if (i < linear_limit)
      return i;
    size_t k = i - linear_limit;
    unsigned e = static_cast<unsigned>(k >> sub_bits) + sub_bits + 1;
    uint64_t m = (k & ((1u << sub_bits) - 1)) + (1u << sub_bits);
    unsigned shift = e - sub_bits;
    return ((m + 1) << shift) - 1;
  }

  std::array<uint64_t, bucket_count> counts_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

} // namespace starling::bench
