// The node actor: root of the process's actor tree. Routes WebSocket
// handshakes and HTTP API calls to apps and restarts crashed apps.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <functional>

#include "actors/app_context.hpp"
#include "actors/cluster.hpp"
#include "actors/http_poster.hpp"
#include "actors/supervisor.hpp"

#include <memory>
#include "config/settings.hpp"

namespace starling {

class logic_registry;

/// What main hands the node at start.
struct node_init {
  std::vector<config::app_settings> apps; ///< Configured apps.
  std::string node_id;                    ///< This node's id.
  uint32_t activity_timeout_s = 120;      ///< Sent to clients.
  uint64_t socket_prefix = 0;             ///< Random first half of socket ids.
  http_poster_ptr poster;                 ///< HTTP client for webhooks.
  /// Spawns this node's cluster bridge (local or NATS; main decides) for
  /// the node as it announces itself; called again to restart it.
  std::function<caf::actor(caf::local_actor*, const cluster_member&)>
    bridge_factory;
  /// The app logic actors the binary registered (apps[].logic binds them);
  /// null or empty: no app logic.
  std::shared_ptr<const logic_registry> logic;
};

/// One supervised app.
struct app_slot {
  app_context_ptr ctx;   ///< The app's context (kept across restarts).
  caf::actor actor;      ///< Current app actor; changes on restart.
  restart_budget budget; ///< At most 5 restarts in 10 s.
  bool failed = false;   ///< Past its restart limit: refused with 4200/503.
};

/// What a restarted webhook actor needs.
struct webhook_slot {
  config::app_settings app; ///< The app (targets, secret).
  caf::actor actor;         ///< Current webhook actor.
};

/// State of the node actor.
struct node_state {
  static inline const char* name = "node";
  std::vector<app_slot> apps;                     ///< One per configured app.
  std::vector<webhook_slot> webhooks;             ///< Apps with webhooks.
  http_poster_ptr poster;                         ///< For restarting webhooks.
  std::string node_id;                            ///< This node's id.
  /// Spawns the bridge (see node_init).
  std::function<caf::actor(caf::local_actor*, const cluster_member&)>
    bridge_factory;
  cluster_member self_member; ///< This node as the cluster sees it.
  caf::actor bridge;          ///< The cluster bridge, once started.
  bool bridge_started = false; ///< Started before: a restart is a new epoch.
  restart_budget bridge_budget; ///< Restarts of the bridge.
  uint64_t bridge_restarts = 0; ///< Bridges started after the first.
  cluster_view view;          ///< Latest membership view.
  bool handed_over = false;   ///< Owners went to other nodes (leaving).
  std::unordered_map<std::string, std::size_t> by_key; ///< key -> slot.
  std::unordered_map<std::string, std::size_t> by_id;  ///< id -> slot.
};

/// Node actor messages:
/// - `ws_opened`: checks the protocol version (4007/4008) and the app key
///   (4001), then hands the socket to the app;
/// - `publish_request`: routed to the app by id;
/// - `(stats_atom, std::string app_id)` -> the app's stats, or an error;
/// - `(caf::put_atom, cluster_member)` from main: start the bridge
///   (supervised: restarted with back-off, 5 in 10 s, then the node runs
///   alone; each restart announces the next start epoch);
///   `(view_atom, cluster_view)` from the bridge;
/// - `crash_request` (fault injection) with kind `bridge`: the bridge is
///   sent `crash_atom` and throws -> ok_atom (an error while no bridge
///   runs); other kinds go to the app.
/// Crashed apps restart (one_for_one, 5 in 10 s); past the limit the app is
/// marked failed and the node keeps serving the others.
caf::behavior node_behavior(caf::stateful_actor<node_state>* self,
                            node_init init);

} // namespace starling
