// The app actor: one per configured app on this node. Admission (limits,
// socket ids) and the local registries: connections, channels and signed-in
// users. Owner placement is its owner directory's; the app routes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/actor_addr.hpp>

#include "actors/app_context.hpp"
#include "actors/logic_instances.hpp"
#include "actors/messages.hpp"
#include "actors/user_registry.hpp"

namespace starling {

/// A local channel and how many joins the app routed to it.
struct channel_entry {
  channel_actor actor; ///< The channel actor.
  uint64_t joins = 0;  ///< Joins routed; compared with channel_idle.
};

/// The app's connections and channels. Shared with the functor that ends
/// them when the app fails: they are not linked to it (a link is 80 B per
/// child, and they tell the app themselves how they ended).
struct app_children {
  /// Socket id -> connection (erased on connection_ended).
  std::unordered_map<pusher::compact_socket_id, connection_actor,
                     pusher::compact_socket_id_hash>
    by_socket;
  std::unordered_map<std::string, channel_entry> channels; ///< Local channels.
};

/// State of an app actor.
struct app_state {
  static inline const char* name = "app";
  app_context_ptr ctx;             ///< App and node facts.
  owner_directory_actor directory; ///< Where owners live (linked child).
  cluster_view view;               ///< Latest membership view.
  cluster_actor bridge;            ///< Peers for cluster-wide queries.
  std::size_t connections = 0;     ///< Open connections on this node.
  /// See app_children.
  std::shared_ptr<app_children> children = std::make_shared<app_children>();
  /// Local channels (in `children`).
  std::unordered_map<std::string, channel_entry>& channels = children->channels;
  /// Crashed channels' last delivered numbers, taken by their replacement
  /// (channel_crashed); bounded, as nobody may come back for one.
  std::unordered_map<std::string, uint64_t> resume_after;
  /// Socket id -> connection (in `children`).
  std::unordered_map<pusher::compact_socket_id, connection_actor,
                     pusher::compact_socket_id_hash>& by_socket
    = children->by_socket;
  user_registry users; ///< Signed-in connections of this node.
  /// App-bound logic instances this app supervises; null without any.
  logic_instances_ptr logic;
  /// Signin questions waiting for a restarting app-bound instance; run
  /// again when an instance changes or a wait deadline passes.
  std::vector<std::function<void()>> signin_waiters;
};

/// Spawned by the node (linked). Messages: app_actor in actors/fwd.hpp:
/// - `ws_opened`: admit and spawn a connection, or refuse with 4003/4004;
/// - `channel_join` from a connection: routed to the channel (spawned on
///   first use); `channel_idle`: stop it unless a join raced the report;
/// - `user_signed_in` from a connection (for terminate_connections);
///   `terminate_request`: this node's connections of the user get 4009,
///   and the peers are asked for theirs;
/// - the HTTP API and owner placement (`publish_request`, queries,
///   `local_owner_request`, `owner_handoff`, `standby_copy`, `cluster_changed`,
///   `leave_atom`) go to the owner directory;
/// - `crash_request` (fault injection), `topology_request` (its page of
///   the tree), `disconnect_request` (an operator closes a connection),
///   `stats_atom`;
/// - `logic_wait_atom` (own timer): signins waiting for a restarting
///   app-bound logic instance reached a deadline.
app_actor::behavior_type app_behavior(app_actor::stateful_pointer<app_state> self,
                                      app_context_ptr ctx);

} // namespace starling
