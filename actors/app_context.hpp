// What every actor of one app shares: its settings and node-wide facts.
// Immutable after start (the slots and counters inside are thread-safe);
// passed as a shared pointer to const.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_addr.hpp>

#include "actors/actor_slot.hpp"
#include "actors/app_counters.hpp"
#include "actors/fanout_sink.hpp"
#include "actors/fwd.hpp"
#include "actors/socket_ids.hpp"
#include "config/settings.hpp"

namespace starling {

struct logic_table; // actors/logic_bindings.hpp

/// Read-only facts an app's actors need.
struct app_context {
  config::app_settings app;          ///< The app's settings and limits.
  std::string node_id;               ///< This node's id.
  uint32_t activity_timeout_s = 120; ///< Sent in connection_established.
  bool shared_bus = false;           ///< Other nodes may join (node_init).
  socket_id_source socket_ids;       ///< Node-wide (shared by all apps).
  /// The app's webhook actor (restarted by the node); null slot when the
  /// app has no webhooks.
  std::shared_ptr<actor_slot<webhook_actor>> webhooks;
  /// Counters shared by the app's actors (survive app restarts).
  std::shared_ptr<app_counters> counters = std::make_shared<app_counters>();
  /// The app's logic bindings; null when it binds none (then no actor takes
  /// any logic path: no extra message per event).
  std::shared_ptr<const logic_table> logic;
  /// Where channels hand their encoded events (the transport's sink).
  fanout_sink_ptr fanout;
  /// The node actor, the app's parent: its exit stops the app (the app's
  /// other linked actors are its children). Null in tests.
  caf::actor_addr node;
};

/// Shared, immutable app context.
using app_context_ptr = std::shared_ptr<const app_context>;

} // namespace starling
