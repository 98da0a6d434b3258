// What an app's actors and its sessions count for /metrics: relaxed
// atomics and latency histograms, reached through the app's context (one
// pointer, looked up once per connection), never through a map per message.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "actors/latency_histogram.hpp"

namespace starling {

/// WebSocket close codes counted one by one; others count as "other".
inline constexpr std::array<uint16_t, 20> counted_close_codes = {
  1000, 1001, 1002, 1003, 1006, 1007, 1008, 1009, 1011, 4001,
  4003, 4004, 4005, 4007, 4009, 4100, 4200, 4201, 4202, 4301};

/// Index of `code` in counted_close_codes; counted_close_codes.size() for
/// any other code.
constexpr std::size_t close_code_index(uint16_t code) {
  for (std::size_t i = 0; i < counted_close_codes.size(); ++i)
    if (counted_close_codes[i] == code)
      return i;
  return counted_close_codes.size();
}

/// Counters and histograms of one app on this node (survive app restarts).
struct app_counters {
  using counter = std::atomic<uint64_t>;
  counter protocol_errors{0};         ///< pusher:error frames sent.
  counter subscription_errors{0};     ///< pusher:subscription_error frames.
  counter client_events{0};           ///< Client events accepted.
  counter refused_connections{0};     ///< Refused at admission.
  counter subscription_limit_hits{0}; ///< Subscribes past the per-connection cap.
  counter rate_limited_requests{0};   ///< HTTP API requests answered 429.
  counter messages_in{0};             ///< WebSocket messages from clients.
  counter bytes_in{0};                ///< Their payload bytes.
  counter messages_out{0};            ///< Frames written to clients.
  counter bytes_out{0};               ///< Bytes written to clients.
  counter publishes{0};               ///< Events accepted by the HTTP API.
  counter slow_consumer_drops{0};     ///< Closed for a full outbound queue.
  counter subscriptions{0};           ///< Gauge: subscriptions open now.
  counter presence_members{0};        ///< Gauge: roster users of owners here.
  counter handoffs_in{0};             ///< Owner handoffs taken from peers.
  counter handoffs_out{0};            ///< Owners handed to other nodes.
  counter logic_states{0};      ///< Gauge: logic snapshots the directory keeps.
  counter logic_state_bytes{0}; ///< Gauge: their bytes.
  counter logic_copies_sent{0};     ///< Standby copies a standby took.
  counter logic_copies_failed{0};   ///< Copies that did not arrive.
  counter logic_copies_received{0}; ///< Copies taken from peers.
  counter logic_states_evicted{0};  ///< Channels' snapshots dropped for room.
  /// Connections closed, by close code (index: close_code_index).
  std::array<counter, counted_close_codes.size() + 1> disconnects{};
  latency_histogram webhook_latency;  ///< Webhook request to answer.
  latency_histogram publish_latency;  ///< HTTP publish accepted to numbered by every owner.
  /// Publish (API accept, client event taken) to the write pass of its
  /// frame, once per event and I/O thread holding subscribers.
  latency_histogram flush_latency;
};

/// One actor's share of a gauge summed over many actors: set() moves the
/// shared gauge by the change, and the share is taken back when the owner
/// of this ends (also by a crash). A copy starts unattached.
class gauge_share {
public:
  gauge_share() = default;
  gauge_share(const gauge_share&) {}
  gauge_share& operator=(const gauge_share&) { return *this; }
  ~gauge_share() { set(0); }

  /// Adds this share to `gauge` from now on.
  void attach(std::atomic<uint64_t>* gauge) {
    set(0);
    gauge_ = gauge;
  }

  /// This share is now `n`.
  void set(uint64_t n) {
    if (gauge_ == nullptr || n == n_)
      return;
    if (n > n_)
      gauge_->fetch_add(n - n_, std::memory_order_relaxed);
    else
      gauge_->fetch_sub(n_ - n, std::memory_order_relaxed);
    n_ = n;
  }

private:
  std::atomic<uint64_t>* gauge_ = nullptr;
  uint64_t n_ = 0;
};

} // namespace starling
