// Where a channel hands each encoded event: once per event, with the list of
// its subscribers' sessions. Declared here, implemented by transport (one
// hand-off per I/O thread, each thread writing its own sockets), faked in
// tests.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "actors/latency_histogram.hpp"
#include "actors/session_link.hpp"

namespace starling {

/// Returns the system clock now in ns since the epoch (publish_stamp's
/// clock: comparable between nodes up to their clock offset).
uint64_t system_now_ns();

/// When the event behind a hand-off was published, for the publish-to-flush
/// histogram: each I/O thread records it once, after the write pass that
/// carried the event to its sockets.
struct publish_stamp {
  /// Where to record (the app's histogram, alive as long as the server);
  /// null: not measured (member events, counts, logic publishes).
  latency_histogram* histogram = nullptr;
  /// System clock at the publish (HTTP API accept, client event taken by
  /// its connection), ns since the epoch; 0: unknown.
  uint64_t published_ns = 0;

  /// Records `now_ns - published_ns` (a clock step back counts as 0).
  void record(uint64_t now_ns) const {
    if (histogram == nullptr || published_ns == 0)
      return;
    histogram->record(std::chrono::nanoseconds{
      now_ns > published_ns ? static_cast<int64_t>(now_ns - published_ns) : 0});
  }

  /// Records the time since the publish.
  void record() const {
    if (histogram != nullptr && published_ns != 0)
      record(system_now_ns());
  }
};

/// A channel's subscribers as the transport sees them: immutable and shared,
/// rebuilt by the channel only when its membership changes, and ordered by
/// session_link::shard() (each I/O thread then takes its own range).
using subscriber_list =
  std::shared_ptr<const std::vector<session_link_ptr>>;

/// Orders `links` by I/O thread, as subscriber_list requires.
void order_by_shard(std::vector<session_link_ptr>& links);

/// Delivers one frame to many sessions.
class fanout_sink {
public:
  virtual ~fanout_sink();

  /// Queues `frame` on every session of `to` except `exclude` (may be
  /// null). Any thread; never blocks; no work per recipient on the caller's
  /// thread. Sessions over their outbound bound are closed (4100) by the
  /// transport, as with session_link::send. `stamp` is recorded once per
  /// I/O thread after the frame's write pass.
  virtual void deliver(const frame_ptr& frame, const subscriber_list& to,
                       const session_link* exclude, publish_stamp stamp) = 0;
};

/// Shared handle to a sink.
using fanout_sink_ptr = std::shared_ptr<fanout_sink>;

/// A sink that calls session_link::send on each session, on the caller's
/// thread (the stamp is recorded once they are queued). For tests and
/// tools; transport has its own.
class direct_fanout_sink final : public fanout_sink {
public:
  void deliver(const frame_ptr& frame, const subscriber_list& to,
               const session_link* exclude, publish_stamp stamp) override;
};

} // namespace starling
