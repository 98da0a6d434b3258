// Messages of the admin conversation: fault injection, supervision timers,
// logic supervision and the node's counters.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/fwd.hpp"
#include "actors/protocol/cluster.hpp"

namespace starling {

/// Admin fault injection: make one actor throw. `kind` is app, channel,
/// owner, connection (name = socket id), webhooks, logic (name = actor for
/// an app-bound instance, actor/channel for a channel-bound one) or bridge
/// (no app, no name). Reply: ok_atom, or an error naming what is missing.
struct crash_request {
  std::string app_id; ///< App.
  std::string kind;   ///< Which actor kind.
  std::string name;   ///< Channel name, socket id or logic instance.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, crash_request& x) {
  return f(caf::meta::type_name("crash_request"), x.app_id, x.kind, x.name);
}

/// Admin (or a peer's admin) -> node -> apps: the live actor tree of one
/// node as JSON text. Lists are sorted by name and paged: at most `limit`
/// entries after `after` in each list, so a node with 100,000 connections
/// answers small. Crosses nodes (scope=cluster).
struct topology_request {
  std::string app;    ///< Only this app; empty: every app.
  std::string search; ///< Only names (channel, socket id, user) containing it.
  std::string after;  ///< Paging cursor: names greater than this.
  uint32_t limit = 100; ///< Entries per list at most.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topology_request& x) {
  return f(caf::meta::type_name("topology_request"), x.app, x.search,
           x.after, x.limit);
}

/// Admin -> node -> app: close connection `socket_id` of this node (4009,
/// like a terminated user). Reply: whether it was here. Crosses nodes.
struct disconnect_request {
  std::string app_id;    ///< App.
  std::string socket_id; ///< The connection.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, disconnect_request& x) {
  return f(caf::meta::type_name("disconnect_request"), x.app_id, x.socket_id);
}

/// What a supervisor restarts after a back-off.
enum class child_kind : uint8_t {
  app,      ///< The app at `index`.
  webhooks, ///< The webhook actor of the app at `index`.
  bridge,   ///< The cluster bridge.
};

/// Supervisor timer: restart a child after its back-off.
struct restart_child {
  child_kind kind = child_kind::app; ///< Which kind of child.
  uint32_t index = 0;                ///< Which one (apps and webhooks).
};

/// App -> owners: the handles of the app-bound logic instances, indexed by
/// binding (invalid where a binding is channel-bound or restarting).
struct logic_handles {
  std::vector<caf::actor> handles; ///< One per binding.
};

/// Logic supervision timer: restart instance `index` after its back-off.
struct logic_restart {
  uint64_t index = 0; ///< Instance index in the supervising actor.
};

/// Counters of the node and its bridge (not of its apps).
struct node_stats {
  bool bridge_up = false;       ///< The cluster bridge runs.
  uint64_t bridge_restarts = 0; ///< Bridges started after the first.
  uint64_t view_changes = 0;    ///< Membership views seen.
  uint64_t members = 1;         ///< Members of the latest view (1 alone).
  /// Views seen by why they came (cluster_view::reason).
  std::map<std::string, uint64_t> view_reasons;
  bridge_stats bus; ///< The running bridge's counters (zero without one).
};

} // namespace starling

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::restart_child)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::logic_handles)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::logic_restart)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::node_stats)
