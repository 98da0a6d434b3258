// Where a channel hands each encoded event: once per event, with the list of
// its subscribers' sessions. Declared here, implemented by transport (one
// hand-off per I/O thread, each thread writing its own sockets), faked in
// tests.
#pragma once

#include <memory>
#include <vector>

#include "actors/session_link.hpp"

namespace starling {

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
  /// transport, as with session_link::send.
  virtual void deliver(const frame_ptr& frame, const subscriber_list& to,
                       const session_link* exclude) = 0;
};

/// Shared handle to a sink.
using fanout_sink_ptr = std::shared_ptr<fanout_sink>;

/// A sink that calls session_link::send on each session, on the caller's
/// thread. For tests and tools; transport has its own.
class direct_fanout_sink final : public fanout_sink {
public:
  void deliver(const frame_ptr& frame, const subscriber_list& to,
               const session_link* exclude) override;
};

} // namespace starling
