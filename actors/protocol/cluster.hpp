// The cluster bridge contract (cluster_actor in actors/fwd.hpp) and the
// membership values it speaks about. Two implementations:
// bridge/local_bridge (one node, the embedded default) and
// bridge/nats_bridge (NATS); tests/unit/bridge/bridge_contract_test.cpp runs
// every check below against both.
//
// - `(subscribe_atom, app_id, channel, channel_actor)`: this node has
//   subscribers of the channel. Events that an owner on ANOTHER node fans
//   out for it reach the channel actor as `channel_event`, in the owner's
//   order. Idempotent; the last handle wins. Reply: ok_atom, once the bus
//   has the interest (an event fanned out after the reply is not missed).
// - `(unsubscribe_atom, app_id, channel)`: no more local subscribers; no
//   event reaches the old handle after the reply. Reply: ok_atom.
// - `fan_out_event`: an owner on this node sends one ordered event to every
//   OTHER node that subscribed; never back to this node (the owner hands it
//   to its local channel itself, so local delivery never waits on the bus).
//   At most once per node.
// - `(join_atom, node_actor listener)`: the listener gets `cluster_view`
//   now and after every change, until it ends. Reply: ok_atom.
// - `(get_atom)`: reply cluster_view.
// - `(leave_atom)`: this node is leaving; owner lookups leave it out of the
//   ring from now on (so its owners can hand over first). Reply: ok_atom.
// - `owner_node_request`: the node actor of the channel's owner node
//   (rendezvous hashing over the live members), or an invalid handle when
//   this node owns it.
// - `standby_node_request`: the node actor of the node that would own the
//   channel if this node were gone (rendezvous over the other live
//   members), or an invalid handle when there is none (alone, or the
//   local bridge). Owners copy their logic snapshots there.
// - `(peers_atom)`: the node actors of the other live members.
// - `(stats_atom)`: bridge_stats. `(close_atom)`: goodbye, then quit.
// - `(crash_atom)`: throws (fault injection); the node restarts the bridge
//   under the next start epoch.
//
// Delivery is at most once: events fanned out while the bus is away are
// lost for other nodes (local delivery goes on). A backend that cannot do
// something answers with a named error (errc::not_available).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/fwd.hpp"

namespace starling {

/// One node of the cluster as the membership view knows it.
struct cluster_member {
  std::string node_id;         ///< Unique node id.
  std::string middleman_host;  ///< Where its CAF node actor is published.
  uint16_t middleman_port = 0; ///< Port of that publication.
  uint64_t start_epoch = 0;    ///< Start time; a restart has a higher one.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_member& x) {
  return f(caf::meta::type_name("cluster_member"), x.node_id,
           x.middleman_host, x.middleman_port, x.start_epoch);
}

/// The live members, sorted by node id, with a counter that grows on every
/// change.
struct cluster_view {
  std::vector<cluster_member> members; ///< Live nodes, this one included.
  uint64_t epoch = 0;                  ///< Changes with every join or leave.
  /// Why this view was sent: start, joined, goodbye, timeout,
  /// connection_lost, restarted, bus_back (logged and counted by the node).
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
  return f(caf::meta::type_name("cluster_view"), x.members, x.epoch, x.reason);
}

/// Which node owns `channel` of `app_id` under the current view. Reply:
/// node_actor, invalid for this node.
struct owner_node_request {
  std::string app_id;  ///< App.
  std::string channel; ///< Channel.
};

/// Which node would own `channel` of `app_id` if this node were gone (the
/// rendezvous runner-up when this node owns it). Reply: node_actor,
/// invalid when no other node is live.
struct standby_node_request {
  std::string app_id;  ///< App.
  std::string channel; ///< Channel.
};

/// Node -> app -> directory: a new view, and the bridge that serves it
/// (invalid while the bridge restarts: this node owns everything then).
struct cluster_changed {
  cluster_view view;    ///< Live members.
  cluster_actor bridge; ///< The bridge.
};

/// Main -> node: start the bridge, announcing this node as `self`.
struct join_cluster {
  cluster_member self; ///< This node as the cluster sees it.
};

/// Counters of one bridge. The local bridge has no bus and fills only
/// `subscriptions`.
struct bridge_stats {
  uint64_t subscriptions = 0;    ///< Channels with local interest now.
  uint64_t published = 0;        ///< Events handed to the bus.
  uint64_t publish_failures = 0; ///< Events the bus refused: lost elsewhere.
  uint64_t delivered = 0;        ///< Events of other nodes handed to channels.
  uint64_t echoes = 0;           ///< Own events that came back, dropped.
  uint64_t bad_payloads = 0;     ///< Undecodable or misaddressed, dropped.
  uint64_t disconnects = 0;      ///< Times the bus connection was lost.
  uint64_t reconnects = 0;       ///< Times it came back.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bridge_stats& x) {
  return f(caf::meta::type_name("bridge_stats"), x.subscriptions, x.published,
           x.publish_failures, x.delivered, x.echoes, x.bad_payloads,
           x.disconnects, x.reconnects);
}

} // namespace starling

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::owner_node_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::standby_node_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::cluster_changed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::join_cluster)
