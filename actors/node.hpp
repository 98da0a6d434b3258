// The node actor: root supervisor of the process's actor tree. It
// supervises the apps, their webhook actors and the cluster bridge (one
// restart policy each, actors/supervision.hpp), passes membership views to
// the apps, and is the actor other nodes call (published on the CAF
// middleman).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/actor_slot.hpp"
#include "actors/app_directory.hpp"
#include "actors/http_poster.hpp"
#include "actors/messages.hpp"
#include "actors/socket_ids.hpp"
#include "actors/supervision.hpp"
#include "config/settings.hpp"

namespace starling {

class logic_registry;

/// Spawns this node's cluster bridge (local or NATS; main decides) for the
/// node as it announces itself; called again to restart it.
using bridge_factory
  = std::function<cluster_actor(caf::local_actor*, const cluster_member&)>;

/// What main hands the node at start.
struct node_init {
  std::vector<config::app_settings> apps; ///< Configured apps.
  std::string node_id;                    ///< This node's id.
  uint32_t activity_timeout_s = 120;      ///< Sent to clients.
  socket_id_source socket_ids = random_socket_ids(); ///< Ids of new sockets.
  http_poster_ptr poster;                 ///< HTTP client for webhooks.
  fanout_sink_ptr fanout;                 ///< The transport's fan-out sink.
  bridge_factory make_bridge;             ///< Spawns the bridge (linked).
  /// The bridge joins a bus other nodes share (NATS): a starting node
  /// learns its peers before it believes it is alone.
  bool shared_bus = false;
  /// The app logic actors the binary registered (apps[].logic binds them);
  /// null or empty: no app logic.
  std::shared_ptr<const logic_registry> logic;
  /// Filled by the node: where the transport finds each app.
  std::shared_ptr<app_directory> apps_out;
};

/// One supervised app.
struct app_slot {
  app_context_ptr ctx;     ///< The app's context (kept across restarts).
  app_actor actor;         ///< Current app actor; invalid while down.
  restart_tracker tracker; ///< policies::app().
};

/// One supervised webhook actor (apps with webhooks).
struct webhook_slot {
  std::size_t app = 0;     ///< Index of its app.
  webhook_actor actor;     ///< Current actor; invalid while down.
  restart_tracker tracker; ///< policies::webhooks().
};

/// One membership change as the node saw it (for /topology).
struct view_change {
  uint64_t at_ms = 0;              ///< System clock, ms since the epoch.
  uint64_t epoch = 0;              ///< The new view's epoch.
  std::string reason;              ///< Why the view came.
  std::vector<std::string> joined; ///< Members new in this view.
  std::vector<std::string> left;   ///< Members gone from the last view.
};

/// State of the node actor.
struct node_state {
  static inline const char* name = "node";
  std::vector<app_slot> apps;         ///< One per configured app.
  std::vector<webhook_slot> webhooks; ///< Apps with webhooks.
  std::shared_ptr<app_directory> directory; ///< Shared with the transport.
  http_poster_ptr poster;             ///< For (re)starting webhooks.
  std::string node_id;                ///< This node's id.
  bridge_factory make_bridge;         ///< Null once leaving.
  cluster_member self_member;         ///< This node as the cluster sees it.
  cluster_actor bridge;               ///< The cluster bridge, once started.
  bool bridge_started = false;        ///< Started before: a restart is a new epoch.
  restart_tracker bridge_tracker{policies::bridge()}; ///< Its restarts.
  uint64_t bridge_restarts = 0;       ///< Bridges started after the first.
  cluster_view view;                  ///< Latest membership view.
  uint64_t view_changes = 0;          ///< Views seen.
  std::map<std::string, uint64_t> view_reasons; ///< Views seen by reason.
  bool handed_over = false;           ///< Owners went to other nodes (leaving).
  /// The latest membership changes (oldest first, at most 20): when, epoch,
  /// reason, who joined and who left. Shown by /topology.
  std::deque<view_change> history;
  std::chrono::system_clock::time_point started; ///< For uptime.
};

/// Spawned by main. Messages: node_actor in actors/fwd.hpp:
/// - `join_cluster` from main: start the bridge (restarted with back-off;
///   each restart announces the next start epoch); `cluster_view` from it;
/// - peer calls routed to the app by id: `local_owner_request`,
///   `owner_handoff`, `standby_copy`, `channels_request`, `terminate_request`;
/// - `drain_atom` (shutdown): leave the cluster (owners hand over first),
///   flush webhooks;
/// - `crash_request` (fault injection), `topology_request` (this node's
///   tree for /topology: node, bridge, webhooks, cluster view and history,
///   each app asked), `disconnect_request` (routed to the app),
///   `peers_atom` (the other members' node actors, from the bridge),
///   `stats_atom`.
node_actor::behavior_type node_behavior(node_actor::stateful_pointer<node_state> self,
                                        node_init init);

} // namespace starling
