// Restart intensity, back-off and the failed state (supervision.hpp).
#include "actors/supervision.hpp"

#include <algorithm>

namespace starling {

restart_decision restart_tracker::child_failed(clock::time_point now) {
  while (!recent_.empty() && now - recent_.front() > policy_.window)
    recent_.pop_front();
  if (failed_ || recent_.size() >= policy_.max_restarts) {
    failed_ = true;
    return {false, policy_.retry_failed_after};
  }
  recent_.push_back(now);
  ++restarts_;
  if (recent_.size() <= 1)
    return {true, policy_.base_delay + policy_.first_delay};
  auto shift = std::min<std::size_t>(recent_.size() - 2, 30);
  auto delay = policy_.backoff * (int64_t{1} << shift);
  return {true, policy_.base_delay + std::min(delay, policy_.max_delay)};
}

bool restart_tracker::retry() {
  if (!failed_)
    return false;
  failed_ = false;
  recent_.clear();
  return true;
}

namespace policies {

restart_policy app() {
  restart_policy p;
  // A failed app is tried again: the fault that took it down may be gone.
  p.retry_failed_after = std::chrono::seconds(10);
  return p;
}

restart_policy bridge() {
  restart_policy p;
  p.base_delay = std::chrono::milliseconds(500);
  p.retry_failed_after = std::chrono::seconds(5);
  return p;
}

restart_policy webhooks() {
  restart_policy p;
  p.retry_failed_after = std::chrono::seconds(5);
  return p;
}

} // namespace policies

} // namespace starling
