// The connection actor: one per WebSocket. Parses client frames, checks auth
// and limits, owns the client's subscriptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/app_context.hpp"
#include "actors/session_link.hpp"
#include "pusher/channel_name.hpp"

namespace starling {

/// One channel the client asked for.
struct connection_subscription {
  caf::actor channel;           ///< Local channel, once subscribed.
  pusher::channel_traits traits; ///< Kind of the channel.
  std::string user_id;          ///< Presence user id on this channel.
  std::string user_info;        ///< Presence user info (for re-joins).
  uint8_t rejoin_attempts = 0;  ///< Re-joins tried since the channel crashed.
  bool active = false;          ///< subscription_succeeded was sent.
  bool cancelled = false;       ///< Unsubscribed while the join was pending.
};

/// State of a connection actor.
struct connection_state {
  static inline const char* name = "connection";
  app_context_ptr ctx;   ///< App and node facts.
  caf::actor app;        ///< Routes joins to channels.
  session_link_ptr link; ///< The socket.
  std::string socket_id; ///< This connection's id.
  std::unordered_map<std::string, connection_subscription> subscriptions;
  std::string user_id;   ///< Signed-in user (pusher:signin), or empty.
  std::chrono::steady_clock::time_point rate_window; ///< Client-event window start.
  uint32_t rate_count = 0; ///< Client events in the current window.
};

/// Connection actor messages:
/// - `(ws_frame_atom, std::string text, bool binary)` from the session;
/// - `(ws_closed_atom)` from the session: quit, and every channel drops us;
/// - `(stats_atom)` -> number of subscriptions.
/// It sends `connection_established` on start; if it ends abnormally the
/// socket is closed with 4200 so the client reconnects.
caf::behavior connection_behavior(caf::stateful_actor<connection_state>* self,
                                  app_context_ptr ctx, caf::actor app,
                                  session_link_ptr link, std::string socket_id);

} // namespace starling
