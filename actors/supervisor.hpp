// Restart intensity for supervisors: at most N restarts in T, like OTP's
// one_for_one. Pure bookkeeping; the supervising actor decides what to do.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

namespace starling {

/// Tracks recent restarts of one child and says whether another is allowed.
class restart_budget {
public:
  using clock = std::chrono::steady_clock;

  /// Allows at most `max_restarts` within any `window`.
  restart_budget(std::size_t max_restarts = 5,
                 clock::duration window = std::chrono::seconds(10))
    : max_restarts_(max_restarts), window_(window) {
    // nop
  }

  /// Records a restart at `now` and returns true, or returns false when the
  /// limit is reached (the supervisor escalates instead).
  bool try_restart(clock::time_point now) {
    while (!restarts_.empty() && now - restarts_.front() > window_)
      restarts_.pop_front();
    if (restarts_.size() >= max_restarts_)
      return false;
    restarts_.push_back(now);
    return true;
  }

  /// Returns the back-off before the next restart: none while at most one
  /// restart is recent, then 10 ms doubling with each further one.
  clock::duration backoff() const {
    if (restarts_.size() <= 1)
      return clock::duration::zero();
    return std::chrono::milliseconds(10) * (1 << (restarts_.size() - 2));
  }

  /// Returns how many restarts lie within the window as of the last
  /// try_restart (for back-off schedules of one's own).
  std::size_t recent() const {
    return restarts_.size();
  }

private:
  std::size_t max_restarts_;
  clock::duration window_;
  std::deque<clock::time_point> restarts_;
};

} // namespace starling
