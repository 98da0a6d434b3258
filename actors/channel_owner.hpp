// The channel owner: the one authoritative place for a channel's state
// (interest per node, presence roster, cached event, sequence numbers).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/app_context.hpp"
#include "actors/presence_roster.hpp"
#include "transport/codec/channel_name.hpp"

namespace starling {

/// One node's interest in a channel.
struct node_interest {
  std::size_t subscribers = 0; ///< Connections of that node on the channel.
  caf::actor channel;          ///< That node's local channel actor.
};

/// State of a channel owner actor.
struct channel_owner_state {
  static inline const char* name = "owner";
  std::string channel;          ///< Channel name.
  codec::channel_traits traits; ///< Kind and cache attribute.
  app_context_ptr ctx;          ///< App and node facts.
  caf::actor app;               ///< Parent: gets owner_idle.
  caf::actor bridge;            ///< Cluster bridge: fan-out to other nodes.
  std::map<std::string, node_interest> nodes; ///< node id -> interest.
  std::size_t subscribers = 0;  ///< Connections cluster-wide.
  presence_roster roster;       ///< Presence members (presence channels).
  uint64_t seq = 0;             ///< Last sequence number handed out.
  bool cache_hit = false;       ///< Whether a cached event is held.
  std::string cache_event;      ///< Cached event name.
  std::string cache_data;       ///< Cached data string.
  std::chrono::steady_clock::time_point cache_expires; ///< When it lapses.
  bool expire_pending = false;  ///< Whether an expire tick is scheduled.
  bool cache_miss_reported = false; ///< cache_miss webhook sent since the last publish.
  /// Members whose node's channel crashed, with the deadline to re-join
  /// before member_removed goes out.
  std::map<std::string, std::chrono::steady_clock::time_point> departing;
};

/// Owner messages:
/// - `(join_atom, owner_join)` from a channel -> `owner_joined`; member_added
///   and subscription_count follow the reply;
/// - `(leave_atom, owner_leave)`; member_removed and subscription_count follow;
/// - `(publish_atom, channel_event)` from the app (HTTP API): cached when the
///   channel is a cache channel, then fanned out;
/// - `(client_event_atom, client_event)` from a channel: fanned out to all
///   but the sender;
/// - `(caf::put_atom, actor bridge)`: events for other nodes' subscribers
///   go out once through this bridge;
/// - `(expire_atom)`, `(stop_atom)`, `(stats_atom)`.
caf::behavior channel_owner_behavior(caf::stateful_actor<channel_owner_state>* self,
                                     std::string channel, app_context_ptr ctx,
                                     caf::actor app);

} // namespace starling
