// The admin actor: answers the admin endpoint's questions by asking the
// node, each app and their webhook actors, and reading the counters the
// actors share. It writes the topology as JSON and the actor side of
// /metrics as Prometheus text (actors/prometheus_text.hpp).
#pragma once

#include <memory>

#include "actors/app_directory.hpp"
#include "actors/messages.hpp"

namespace starling {

/// State of the admin actor.
struct admin_state {
  static inline const char* name = "admin";
  node_actor node;                    ///< The node.
  std::shared_ptr<app_directory> apps; ///< Every app and its context.
};

/// Spawned by main. Messages: admin_actor in actors/fwd.hpp:
/// - `(topology_request, cluster)` -> this node's tree (node.hpp) or, with
///   `cluster`, every node's tree gathered from the peers, unreachable ones
///   marked, and each channel's owner node, as JSON text;
/// - `disconnect_request` -> whether some node closed that connection;
/// - `metrics_atom` -> Prometheus text of the actor side;
/// - `crash_request` -> passed to the node (fault injection).
admin_actor::behavior_type admin_behavior(admin_actor::stateful_pointer<admin_state> self,
                                          node_actor node,
                                          std::shared_ptr<app_directory> apps);

} // namespace starling
