// One supervision abstraction for every supervised child (apps, the cluster
// bridge, webhook actors, logic instances): a restart intensity (at most N
// restarts in T, like OTP's one_for_one), a back-off that doubles with each
// recent restart, and a "failed" state past the limit that may be retried
// later. Pure bookkeeping on a caller-supplied clock; the supervising actor
// schedules what it decides.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

namespace starling {

/// How one kind of child is supervised.
struct restart_policy {
  using duration = std::chrono::steady_clock::duration;

  std::size_t max_restarts = 5;  ///< Restarts allowed within `window` ...
  duration window = std::chrono::seconds(10); ///< ... before the child fails.
  duration first_delay{};        ///< Back-off of the first recent restart.
  /// Back-off of the second recent restart; it doubles with each further
  /// one, up to `max_delay`.
  duration backoff = std::chrono::milliseconds(10);
  duration max_delay = std::chrono::seconds(1); ///< Cap of the back-off.
  duration base_delay{}; ///< Added to every back-off (a floor).
  /// A failed child is started again this long after it failed (its
  /// intensity window starts afresh); zero: it stays failed.
  duration retry_failed_after{};
};

/// What the supervisor does after a child ended abnormally.
struct restart_decision {
  bool restart = false; ///< Start it again after `delay` (else: failed).
  std::chrono::steady_clock::duration delay{}; ///< Back-off or retry delay.
};

/// The restart history of one child under one policy.
class restart_tracker {
public:
  using clock = std::chrono::steady_clock;

  explicit restart_tracker(restart_policy policy = {}) : policy_(policy) {
    // nop
  }

  /// Records that the child ended abnormally at `now`. Returns a restart
  /// after the back-off, or, past the intensity limit, marks the child
  /// failed and returns no restart (delay = retry_failed_after, zero when
  /// it stays failed).
  restart_decision child_failed(clock::time_point now);

  /// Clears the failed state for a retry of a failed child; the intensity
  /// window starts afresh. Returns false when it was not failed.
  bool retry();

  /// Returns whether the child is past its restart limit.
  bool failed() const { return failed_; }

  /// Returns how many restarts were decided in total.
  uint64_t restarts() const { return restarts_; }

  /// Returns how many restarts lie within the window as of the last call.
  std::size_t recent() const { return recent_.size(); }

  /// Returns the policy.
  const restart_policy& policy() const { return policy_; }

private:
  restart_policy policy_;
  std::deque<clock::time_point> recent_;
  uint64_t restarts_ = 0;
  bool failed_ = false;
};

/// Policies of the node's children.
namespace policies {

/// Apps: immediate first restart, then 10 ms doubling (cap 1 s), 5 in 10 s;
/// a failed app is tried again 10 s later.
restart_policy app();

/// The cluster bridge: 500 ms plus the app back-off, 5 in 10 s; past that
/// every 5 s (a cluster that comes back must get its node back).
restart_policy bridge();

/// Webhook actors: like apps, and retried after 5 s past the limit (the
/// app's events keep coming).
restart_policy webhooks();

} // namespace policies

} // namespace starling
