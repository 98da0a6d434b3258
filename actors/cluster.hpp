// The cluster bridge as actors see it: interest per node, fan-out of owner
// events to other nodes, and the membership view. Two implementations:
// bridge/local_bridge (one node, the embedded default) and
// bridge/nats_bridge (NATS).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
  return f(caf::meta::type_name("cluster_view"), x.members, x.epoch);
}

/// Bridge -> listeners: the membership view changed.
using view_atom = caf::atom_constant<caf::atom("view")>;
/// Query: the node actors of the other live members.
using peers_atom = caf::atom_constant<caf::atom("peers")>;

// The cluster_actor contract (both bridges implement exactly this):
//
// - `(subscribe_atom, std::string app_id, std::string channel, caf::actor
//   local_channel)`: this node has subscribers of the channel. Events that
//   an owner on ANOTHER node publishes for it reach `local_channel` as
//   `(deliver_atom, channel_event)`, in the owner's order. Idempotent; the
//   last handle wins. Reply: ok_atom.
// - `(unsubscribe_atom, std::string app_id, std::string channel)`: no more
//   local subscribers. Reply: ok_atom.
// - `(publish_atom, std::string app_id, std::string channel,
//   channel_event)`: an owner on this node fans out to every OTHER node
//   that subscribed; never delivered back to this node (the owner hands it
//   to its local channel itself, so local delivery never waits on the
//   bridge). At most once per node; no reply.
// - `(join_atom, caf::actor listener)`: `listener` gets `(view_atom,
//   cluster_view)` now and after every change. Reply: ok_atom.
// - `(caf::get_atom)`: reply cluster_view.
// - `(leave_atom)`: this node is leaving; owner lookups leave it out of
//   the ring from now on (so its owners can hand over first). Reply: ok_atom.
// - `(owner_atom, std::string app_id, std::string channel)`: the node actor
//   of the channel's owner node, or an invalid handle for this node.
// - `(peers_atom)`: reply std::vector<caf::actor>, the published node actors
//   of the other live members (for cluster-wide HTTP API queries).
//
// Delivery is at most once: events published while the bus is away are
// lost for other nodes (local delivery goes on). A backend that cannot do
// something answers with a named error (errc::not_available).

} // namespace starling
