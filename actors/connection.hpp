// The connection actor: one per WebSocket. Parses client frames through the
// Pusher codec, checks auth and limits, and owns the client's subscriptions
// (the source of truth of what its client is subscribed to), its sign-in
// and its watchlist.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/app_context.hpp"
#include "actors/flyweight_actor.hpp"
#include "actors/member_identity.hpp"
#include "actors/messages.hpp"
#include "actors/name_map.hpp"
#include "actors/watchlist.hpp"
#include "pusher/channel_kind.hpp"

namespace starling {

/// One channel the connection joined or asked for (the client's, or an
/// internal watchlist channel).
struct connection_subscription {
  channel_actor channel;          ///< Local channel, once joined.
  pusher::channel_traits traits;  ///< What the channel can do.
  bool silent = false;            ///< Joined to be counted, not to receive.
  uint8_t rejoin_attempts = 0;    ///< Re-joins tried since the channel crashed.
  bool active = false;            ///< Joined (subscription_succeeded was sent).
  bool cancelled = false;         ///< Unsubscribed while the join was pending.
  /// The roster user on this channel: set exactly when joined as a roster
  /// member (kept for re-joins).
  member_identity_ptr identity;
};

/// A signed-in connection's user (pusher:signin); most connections never
/// sign in and pay one null pointer for it.
struct signed_in_user {
  std::string id;          ///< The user id.
  class watchlist watched; ///< The user's watchlist.
};

/// State of a connection actor.
struct connection_state {
  static inline const char* name = "connection";
  app_context_ptr ctx;   ///< App and node facts.
  app_actor app;         ///< Routes joins to channels.
  session_link_ptr link; ///< The socket; it holds this connection's socket id.
  /// Channel name -> subscription (client channels and internal ones).
  name_map<connection_subscription> subscriptions;
  std::unique_ptr<signed_in_user> user; ///< Set by pusher:signin.
  bool signing_in = false; ///< App logic is deciding a pusher:signin.
  std::chrono::steady_clock::time_point rate_window; ///< Client-event window start.
  uint32_t rate_count = 0; ///< Client events in the current window.
  std::chrono::steady_clock::time_point opened; ///< When it started (admin: age).

  /// Returns the signed-in user id, or empty.
  const std::string& user_id() const {
    static const std::string none;
    return user ? user->id : none;
  }
};

/// A connection actor: its kind shares one behavior (flyweight_actor.hpp).
using connection_flyweight = flyweight_actor<connection_state, connection_actor>*;

/// Spawned by the app (linked). Messages: connection_actor in
/// actors/fwd.hpp. It sends `connection_established` on start; if it ends
/// abnormally the socket is closed with 4200 so the client reconnects.
connection_actor::behavior_type
connection_behavior(connection_flyweight self,
                    app_context_ptr ctx, app_actor app, session_link_ptr link,
                    pusher::compact_socket_id socket_id);

} // namespace starling
