// The app actor: one per configured app. Admits connections (limits, socket
// ids), and keeps the registry of this node's channels and channel owners.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/app_context.hpp"
#include "actors/cluster.hpp"
#include "actors/logic_runtime.hpp"

namespace starling {

/// A local channel and how many joins the app routed to it.
struct channel_entry {
  caf::actor actor;   ///< The channel actor.
  uint64_t joins = 0; ///< Joins routed; compared with channel_idle.
};

/// A channel owner and whether it reported itself idle.
struct owner_entry {
  caf::actor actor;  ///< The owner actor.
  bool idle = false; ///< Reported idle and not used since.
};

/// A signed-in connection: who it is and whom it watches.
struct signed_in_connection {
  std::string user_id;                ///< Signed-in user.
  std::vector<std::string> watchlist; ///< Watched user ids.
};

/// State of an app actor.
struct app_state {
  static inline const char* name = "app";
  app_context_ptr ctx;          ///< App and node facts.
  std::size_t connections = 0;  ///< Open connections on this node.
  std::unordered_map<std::string, channel_entry> channels; ///< Local channels.
  std::unordered_map<std::string, owner_entry> owners;     ///< Owned channels.
  /// Owners handed off to another node, still forwarding for callers with
  /// an older view (they quit when idle).
  std::unordered_map<std::string, caf::actor> forwarders;
  /// Owners on other nodes resolved under the current view (monitored;
  /// cleared on every view change), so a publish does not ask the ring and
  /// the owner's node again each time.
  std::unordered_map<std::string, caf::actor> remote_owners;
  /// Remote owner -> channel, to forget it when it ends.
  std::unordered_map<caf::actor_addr, std::string> remote_owner_names;
  /// Connection -> its socket id (fault injection, topology).
  std::unordered_map<caf::actor_addr, std::string> sockets;
  /// Signed-in user -> its connections (terminate, watchlist online state).
  std::unordered_map<std::string, std::vector<caf::actor>> users;
  /// Signed-in connection -> user and watchlist.
  std::unordered_map<caf::actor_addr, signed_in_connection> signed_in;
  /// Watched user -> connections watching it.
  std::unordered_map<std::string, std::vector<caf::actor>> watchers;
  cluster_view view; ///< Latest membership view (from the node).
  /// When the members last changed: owners spawned soon after may get a
  /// handoff from a predecessor and hold events until it arrives.
  std::chrono::steady_clock::time_point members_changed;
  caf::actor bridge; ///< Cluster bridge; with more than one member, owners
                     ///< may live on other nodes.
  /// Children that are channels or owners (for crash handling).
  std::unordered_map<caf::actor_addr, std::string> named_children;
  /// App-bound logic instances this app supervises; null without any.
  logic_supervision_ptr logic;
};

/// App actor messages:
/// - `ws_opened` (from the node): admit and spawn a connection, or refuse
///   with 4003/4004;
/// - `(subscribe_atom, channel_join)` from a connection: routed to the
///   channel (spawned with its owner on first use);
/// - `publish_request` (HTTP API): handed to each channel's owner;
/// - `channel_idle`, `owner_idle`: stop idle actors without racing joins;
/// - `user_signed_in` (from a connection) -> online ids of its watchlist;
///   watchers hear `(watchlist_atom, "online"|"offline", user_id)`;
/// - `terminate_request` -> every connection of the user gets terminate_atom;
/// - `channels_request`, `channel_request`: HTTP API queries;
/// - `(view_atom, cluster_view, actor bridge)` from the node;
///   `(owner_atom, channel)` -> the channel's owner, on whichever node the
///   ring names; `(owner_atom, channel, true)` -> the owner here (asked by
///   other nodes);
/// - `(handoff_atom, owner_handoff)` from another node -> the owner that
///   took the state over (redirected once more if the ring here names yet
///   another node); `(handoff_atom, channel, actor)` from an owner: it
///   handed off and forwards now; `(handoff_atom)` from the node (leaving):
///   hand every owner over, reply when done;
/// - app logic (logic_runtime.hpp): supervises the app-bound instances
///   (`(logic_atom, restart_atom, uint64_t)` restart tick) and hands their
///   handles to every owner; `crash_request` kind logic: name "<actor>"
///   (app-bound) or "<actor>/<channel>" (beside that channel's owner);
/// - `(stats_atom)` -> (connections, channels, owners).
caf::behavior app_behavior(caf::stateful_actor<app_state>* self,
                           app_context_ptr ctx);

} // namespace starling
