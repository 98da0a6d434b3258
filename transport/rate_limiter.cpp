// Token buckets (transport/rate_limiter.hpp).
#include "transport/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace starling::transport {

rate_decision rate_limiter::take(const std::string& key, uint32_t per_second,
                                 clock::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& b = buckets_[key];
  const double cap = per_second;
  if (!b.primed) {
    b.tokens = cap;
    b.last = now;
    b.primed = true;
  } else if (now > b.last) {
    std::chrono::duration<double> dt = now - b.last;
    b.tokens = std::min(cap, b.tokens + dt.count() * cap);
    b.last = now;
  }
  rate_decision d;
  d.limit = per_second;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    d.remaining = static_cast<uint32_t>(b.tokens);
    return d;
  }
  d.allowed = false;
  d.retry_after_s
    = std::max<uint32_t>(1, static_cast<uint32_t>(std::ceil((1.0 - b.tokens) / cap)));
  return d;
}

void rate_limiter::prune(clock::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto i = buckets_.begin(); i != buckets_.end();)
    if (now - i->second.last >= std::chrono::seconds(1))
      i = buckets_.erase(i);
    else
      ++i;
}

std::size_t rate_limiter::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return buckets_.size();
}

} // namespace starling::transport
