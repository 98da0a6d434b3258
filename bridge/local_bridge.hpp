// The embedded default bridge: a cluster of one node. It keeps the
// cluster_actor contract (actors/cluster.hpp) without a bus: the view is this
// node alone and publishes go nowhere, because every channel is owned here
// and the owner hands its events to the local channel itself.
#pragma once

#include <map>
#include <string>
#include <utility>

#include <caf/actor_addr.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cluster.hpp"

namespace starling::bridge {

/// State of the local bridge actor.
struct local_bridge_state {
  static inline const char* name = "bridge";
  cluster_member local; ///< This node, the only member.
  /// (app id, channel) -> the local channel that has interest. Weak: the
  /// bridge must not keep a stopped channel alive.
  std::map<std::pair<std::string, std::string>, caf::actor_addr> channels;
};

/// Local bridge messages, the cluster_actor contract for a single node:
/// - `(subscribe_atom, app, channel, actor)` records the interest -> ok_atom;
/// - `(unsubscribe_atom, app, channel)` drops it -> ok_atom;
/// - `(publish_atom, app, channel, channel_event)` goes nowhere: there is no
///   other node;
/// - `(join_atom, actor listener)`: the listener gets `(view_atom,
///   cluster_view)` once, since the view never changes -> ok_atom;
/// - `(caf::get_atom)` -> cluster_view: `[local]`, epoch 1;
/// - `(stats_atom)` -> bridge_stats; `(caf::close_atom)` -> ok_atom, quits;
/// - `(crash_atom)` throws (fault injection): the bridge ends with
///   `sec::runtime_error` and the node restarts it.
caf::behavior local_bridge_behavior(
  caf::stateful_actor<local_bridge_state>* self, cluster_member local);

} // namespace starling::bridge
