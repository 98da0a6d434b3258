// A token bucket per key (an app's HTTP API requests per second): a
// second's worth of burst, refilled continuously.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace starling::transport {

/// What one request got from the limiter.
struct rate_decision {
  bool allowed = true;      ///< Serve it; false: answer 429.
  uint32_t limit = 0;       ///< Requests per second (X-RateLimit-Limit).
  uint32_t remaining = 0;   ///< Whole tokens left (X-RateLimit-Remaining).
  uint32_t retry_after_s = 0; ///< Seconds until a token is back (429 only).
};

/// Per-key token buckets; thread-safe. Keys are configured apps, so the
/// map stays as small as the config.
class rate_limiter {
public:
  using clock = std::chrono::steady_clock;

  /// Takes a token of `key` whose rate is `per_second` (> 0) at `now`.
  rate_decision take(const std::string& key, uint32_t per_second,
                     clock::time_point now = clock::now());

  /// Forgets buckets untouched for a second (they are full again), so
  /// per-address keys stay as few as the addresses of the last second.
  void prune(clock::time_point now = clock::now());

  /// Keys held now.
  std::size_t size() const;

private:
  struct bucket {
    double tokens = 0;
    clock::time_point last;
    bool primed = false;
  };
  mutable std::mutex mtx_;
  std::unordered_map<std::string, bucket> buckets_;
};

} // namespace starling::transport
