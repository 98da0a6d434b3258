// The owner directory of one app on this node: where each channel's owner
// lives. It hides the ring, remote owners, forwarders and handoff from the
// rest of the app: local channels ask it for their owner, publishes and
// queries find their owner through it, and it spawns and supervises the
// owners that live here.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/actor_addr.hpp>
#include <caf/expected.hpp>

#include "actors/app_context.hpp"
#include "actors/logic_state_store.hpp"
#include "actors/messages.hpp"

namespace starling {

/// Called with the owner of a channel, or why there is none.
using owner_callback = std::function<void(caf::expected<owner_actor>)>;

/// The owners and forwarders living here. Shared with the functor that ends
/// them when the directory fails: they are not linked to it
/// (actors/unlinked_child.hpp).
struct directory_children {
  std::unordered_map<std::string, owner_actor> owners; ///< Living here.
  /// Owners handed off to another node, still forwarding for callers with
  /// an older view (they quit when idle).
  std::unordered_map<std::string, owner_actor> forwarders;
};

/// State of an owner directory.
struct directory_state {
  static inline const char* name = "owner_directory";
  app_context_ptr ctx;  ///< App and node facts.
  app_actor app;        ///< Parent (logic instances publish through it).
  cluster_view view;    ///< Latest membership view.
  cluster_actor bridge; ///< With more than one member, owners may be remote.
  /// When the members last changed: owners spawned soon after may get a
  /// handoff from a predecessor and settle until it arrives.
  std::chrono::steady_clock::time_point members_changed;
  /// Until when a node on a shared bus, still alone in its view, waits for
  /// its peers' answers before it believes it is alone (from its start,
  /// and again from each view while none was seen); `discovered` once a
  /// peer was seen.
  std::chrono::steady_clock::time_point discovery_ends;
  bool discovered = false;
  /// See directory_children. An owner says `owner_ended` as it ends; the
  /// directory keeps no address map per owner.
  std::shared_ptr<directory_children> children
    = std::make_shared<directory_children>();
  /// Owners living here (in `children`).
  std::unordered_map<std::string, owner_actor>& owners = children->owners;
  /// Forwarders living here (in `children`).
  std::unordered_map<std::string, owner_actor>& forwarders
    = children->forwarders;
  /// Owners on other nodes resolved under the current view (monitored;
  /// cleared on every view change).
  std::unordered_map<std::string, owner_actor> remote_owners;
  /// Remote owner -> channel, to forget it when it ends.
  std::unordered_map<caf::actor_addr, std::string> remote_names;
  /// This node's channels whose interest is on the bus (re-registered on
  /// every view change and bridge restart).
  std::unordered_map<std::string, channel_actor> local_channels;
  /// Owner lookups under way, with everyone waiting for each (in order).
  /// A view change starts them again (the node asked may be gone); the
  /// id tells a current answer from a stale one.
  struct lookup {
    uint64_t id = 0;
    std::vector<owner_callback> waiting;
  };
  std::unordered_map<std::string, lookup> lookups;
  uint64_t next_lookup = 0;
  /// Channels whose owner here crashed while this node had subscribers:
  /// their next owner is rebuilt (it holds events until synced). The value:
  /// the number it continues from (a hosted owner; else 0).
  std::unordered_map<std::string, uint64_t> orphans;
  /// Publishes whose owner was unreachable: tried again on the next view
  /// change or retry tick, until their deadline.
  std::vector<std::function<void()>> parked;
  /// App-bound logic handles, handed to every new owner.
  std::vector<caf::actor> app_bound_logic;
  /// Latest logic snapshots of channels beyond their owners: this node's
  /// owners' (a rebuilt owner restores from them) and copies peers sent
  /// (this node takes their channels over if they die).
  logic_state_store logic_states;
  gauge_share logic_states_gauge; ///< Snapshots kept, in the app's gauge.
  gauge_share logic_bytes_gauge;  ///< Their bytes, in the app's gauge.
  /// When each own channel's snapshots last went to its standby node, and
  /// whether newer ones wait for the rate limit (apps[].logic_state).
  struct copy_slot {
    caf::actor_clock::time_point last; ///< Last copy sent.
    bool due = false;                           ///< Newer ones wait.
  };
  std::unordered_map<std::string, copy_slot> copies;
  bool copy_tick = false; ///< A copy_atom is on its way.
  /// Apps with webhooks: this node's owners' occupied channels and their
  /// members, for the standby copies.
  std::unordered_map<std::string, std::vector<std::string>> occupied_here;
  /// Apps with webhooks: occupied channels of owners on other nodes that
  /// named this node their standby. When such a node leaves the view, the
  /// channel's new owner gets the copy and sends the leave webhooks.
  struct occupancy_copy {
    std::string from;                 ///< Node id of the owner's node.
    std::vector<std::string> members; ///< Presence user ids.
  };
  std::unordered_map<std::string, occupancy_copy> occupancy_copies;
  bool occupancy_copies_warned = false; ///< Their bound was hit once.
};

/// Spawned by the app (linked). Messages: owner_directory_actor in
/// actors/fwd.hpp:
/// - `resolve_owner` from a local channel: its interest goes on the bus (in
///   a cluster), then the owner (spawned here when the ring says so);
/// - `channel_gone` from the app: the interest leaves the bus;
/// - `owner_request`: the owner anywhere (cached per view);
///   `local_owner_request` from a peer: the owner here, or the forwarder of
///   a channel handed off from here (a redirect);
/// - `owner_handoff` from a peer: the owner here takes the state (passed on
///   once more if this node's ring names yet another node);
/// - `publish_request`, `channel_request`, `users_request`,
///   `channels_request`: the HTTP API, answered by the owners;
/// - `cluster_changed` from the app: re-register interest, move owners;
/// - `leave_atom`: this node leaves: every owner hands over.
/// - `logic_snapshot_kept` and `occupancy_kept` from an owner here,
///   `logic_state_request` from a new owner, `standby_copy` from a peer,
///   `copy_atom` (own timer): logic state and occupancy kept beyond owners
///   and nodes (owner_snapshots.cpp).
owner_directory_actor::behavior_type
owner_directory_behavior(owner_directory_actor::stateful_pointer<directory_state> self,
                         app_context_ptr ctx, app_actor app);

} // namespace starling
