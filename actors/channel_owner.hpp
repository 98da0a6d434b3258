// The channel owner: the one authoritative place for a channel's state
// (interest per node, presence roster, cached event, sequence numbers).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/app_context.hpp"
#include "actors/messages.hpp"
#include "actors/logic_runtime.hpp"
#include "actors/presence_roster.hpp"
#include "pusher/channel_name.hpp"

namespace starling {

/// One node's interest in a channel.
struct node_interest {
  std::size_t subscribers = 0; ///< Connections of that node on the channel.
  caf::actor channel;          ///< That node's local channel actor.
  bool synced = false;         ///< Told by the node itself (beats a handoff).
  uint64_t generation = 0;     ///< Bumped by each join or sync of the node.
};

/// State of a channel owner actor.
struct channel_owner_state {
  static inline const char* name = "owner";
  std::string channel;          ///< Channel name.
  pusher::channel_traits traits; ///< Kind and cache attribute.
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
  /// When this owner started: a young owner without a handoff is being
  /// rebuilt from the edges (its predecessor died).
  std::chrono::steady_clock::time_point born;
  bool handed_in = false; ///< Got its predecessor's state in a handoff.
  bool settling = false;  ///< Waiting for a handoff: events are held.
  bool recount_pending = false; ///< A subscription_count is scheduled.
  bool fanned_out = false; ///< Numbered an event (a handoff then cannot reset the numbers).
  std::vector<channel_event> held; ///< Events held while settling.
  /// App logic hooks for this channel and the channel-bound instances
  /// beside this owner (inactive when the app binds no logic).
  owner_logic logic;
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
/// - `(sync_atom, owner_sync)` from a channel -> `owner_joined`: replaces
///   what the owner knew of that node (idempotent, silent);
/// - `(caf::put_atom, uint64_t)`: the first sequence number to continue
///   from (clustered owners start from the clock, so a successor's numbers
///   are higher than a dead predecessor's);
/// - `(handoff_atom, actor node)` from the app: hand the state to the owner
///   on `node`, then forward every message to it (a redirect that callers
///   with an older view do not notice) until idle for 30 s;
/// - `(handoff_atom, owner_handoff)` -> `actor`: take over a predecessor's
///   state (nodes that synced themselves already win);
/// - `(settle_atom, timespan)` from the app, right after a view change: hold
///   events until a handoff arrives or the time is up;
/// - app logic (logic_runtime.hpp): `(logic_atom, std::vector<actor>)`
///   app-bound handles from the app; `(logic_atom, restart_atom, uint64_t)`
///   restart tick; `crash_request` (kind logic) -> ok_atom;
/// - `(expire_atom)`, `(stop_atom)`, `(stats_atom)`.
caf::behavior channel_owner_behavior(caf::stateful_actor<channel_owner_state>* self,
                                     std::string channel, app_context_ptr ctx,
                                     caf::actor app);

} // namespace starling
