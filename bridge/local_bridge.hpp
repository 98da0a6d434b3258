// The embedded default bridge: a cluster of one node. It keeps the
// cluster_actor contract (actors/protocol/cluster.hpp) without a bus: the
// view is this node alone and fan-outs go nowhere, because every channel is
// owned here and the owner hands its events to the local channel itself.
#pragma once

#include <map>
#include <string>
#include <utility>

#include <caf/actor_addr.hpp>

#include "actors/messages.hpp"

namespace starling::bridge {

/// State of the local bridge actor.
struct local_bridge_state {
  static inline const char* name = "bridge";
  cluster_member local; ///< This node, the only member.
  /// (app id, channel) -> the local channel that has interest. Weak: the
  /// bridge must not keep a stopped channel alive.
  std::map<std::pair<std::string, std::string>, caf::actor_addr> channels;
};

/// The cluster_actor contract for a single node: subscriptions are
/// recorded (for stats), fan-outs go nowhere, the view is `[local]` at epoch
/// 1 and never changes, every channel is owned here, there are no peers.
cluster_actor::behavior_type
local_bridge_behavior(cluster_actor::stateful_pointer<local_bridge_state> self,
                      cluster_member local);

} // namespace starling::bridge
