// Messages between the transport and the actors, and between a connection,
// its app and the channels it joins. Local to one node, except where a
// struct has an inspect() overload and is registered (register.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/fwd.hpp"
#include "actors/session_link.hpp"
#include "pusher/http_api.hpp"

namespace starling {

/// Transport -> app: a WebSocket handshake completed on `/app/<key>` (the
/// transport already checked the protocol version and found the app).
struct ws_opened {
  std::string query;     ///< Raw query string (protocol, client, version).
  session_link_ptr link; ///< The socket.
};

/// Connection -> app -> channel: join a channel.
struct channel_join {
  std::string channel;   ///< Validated and authorized channel name.
  std::string socket_id; ///< The joining connection.
  /// A roster member (presence; on a watchlist channel: the signed-in
  /// user itself). `user_id` and `user_info` are meaningful then.
  bool member = false;
  /// Receives nothing (a watchlist channel's member that does not watch
  /// itself).
  bool silent = false;
  std::string user_id;   ///< Roster user id; otherwise a signed-in user id.
  std::string user_info; ///< Roster user info JSON text, or empty.
  session_link_ptr link; ///< Where the channel writes frames.
  /// Silent re-join after a channel crash: the client is already
  /// subscribed, so no subscription_succeeded and no member events.
  bool rejoin = false;
};

/// Channel -> connection: the answer to a channel_join.
struct channel_joined {
  channel_actor channel; ///< The channel, to leave it and send to it.
  uint64_t members = 0;  ///< Roster size at the join (watchlist: online).
};

/// Watchlist channel -> a watching connection: the watched user went online
/// (its first connection anywhere signed in) or offline (its last left).
struct watch_event {
  std::string user_id; ///< The watched user.
  bool online = false; ///< True: online; false: offline.
};

/// Connection -> app: this connection signed in as `user_id` (for
/// terminate_connections). Reply: ok_atom.
struct user_signed_in {
  std::string user_id;                 ///< Signed-in user.
  pusher::compact_socket_id socket_id; ///< The connection.
};

/// Connection -> app: may this connection sign in as `user_id`? Asked only
/// when an app-bound logic binding handles signin_hook. Reply:
/// signin_verdict (actors/logic.hpp); an error means no verdict in time.
struct signin_request {
  std::string socket_id; ///< The connection.
  std::string user_id;   ///< The user it signs in as.
  std::string user_data; ///< The signin's `user_data` JSON text.
};

/// An HTTP API trigger or a logic publish, already validated. Reply:
/// ok_atom once handed to the owners.
struct publish_request {
  std::string app_id;                ///< App from the path.
  std::vector<std::string> channels; ///< 1..100 validated channel names.
  std::string event;                 ///< Event name.
  std::string data;                  ///< Data string, delivered unchanged.
  std::string socket_id;             ///< Excluded connection; empty for none.
  uint64_t published_ns = 0; ///< When the API accepted it (channel_event).
  /// A logic actor's own publish: no publish hook is asked about it (a
  /// hook publishing on its own channel would otherwise ask itself).
  bool from_logic = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_request& x) {
  return f(caf::meta::type_name("publish_request"), x.app_id, x.channels,
           x.event, x.data, x.socket_id, x.published_ns, x.from_logic);
}

/// The ack of a publish_event: the owner numbered it.
struct publish_ack {
  uint64_t seq = 0; ///< The owner's sequence number of the event.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_ack& x) {
  return f(caf::meta::type_name("publish_ack"), x.seq);
}

/// What the HTTP API reports about one channel.
struct channel_report_msg : pusher::channel_report {};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_report_msg& x) {
  return f(caf::meta::type_name("channel_report"), x.name, x.occupied,
           x.subscription_count, x.user_count, x.cache_hit, x.cache_event,
           x.cache_data, x.cache_ttl_s);
}

/// GET /channels/<name>. Reply: channel_report (answered by the owner,
/// wherever it lives).
struct channel_request {
  std::string app_id;  ///< App.
  std::string channel; ///< Channel name.
};

/// GET /channels/<name>/users. Reply: the presence user ids.
struct users_request {
  std::string app_id;  ///< App.
  std::string channel; ///< Presence channel name.
};

/// GET /channels: occupied channels whose name starts with `prefix`.
/// Reply: std::vector<channel_report>.
struct channels_request {
  std::string app_id;      ///< App.
  std::string prefix;      ///< filter_by_prefix, or empty.
  bool local_only = false; ///< This node's owners only (asked by a peer).
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channels_request& x) {
  return f(caf::meta::type_name("channels_request"), x.app_id, x.prefix,
           x.local_only);
}

/// POST /users/<id>/terminate_connections: close every signed-in
/// connection of `user_id`. Reply: ok_atom.
struct terminate_request {
  std::string app_id;      ///< App.
  std::string user_id;     ///< Signed-in user.
  bool local_only = false; ///< This node's connections only (asked by a peer).
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, terminate_request& x) {
  return f(caf::meta::type_name("terminate_request"), x.app_id, x.user_id,
           x.local_only);
}

/// Channel -> app: no local subscribers left after `joins` routed joins.
struct channel_idle {
  std::string channel; ///< The channel.
  uint64_t joins = 0;  ///< Joins the channel has seen in its lifetime.
};

/// Channel -> app and each subscriber, as it crashes: the last number it
/// delivered, so its replacement resumes after it (nothing numbered
/// meanwhile is skipped); subscribers re-join the replacement silently.
/// (Told, not monitored: a monitor per subscription costs 40 B each.)
struct channel_crashed {
  std::string channel;   ///< The channel.
  uint64_t last_seq = 0; ///< Last number delivered to its subscribers.
};

/// Connection -> app, however the connection ends (its attached functor):
/// forget its socket id. (A connection's exit_msg names only its address;
/// mapping addresses back to socket ids cost 64 B per connection.)
struct connection_ended {
  pusher::compact_socket_id socket_id; ///< The ended connection.
};

/// Counters of a local channel.
struct channel_stats {
  uint64_t subscribers = 0; ///< Local subscribers.
  uint64_t delivered = 0;   ///< Frames handed to the transport.
};

/// What a connection tells the admin topology about itself.
struct connection_stats {
  uint64_t subscriptions = 0;        ///< Channels subscribed (internal ones too).
  std::vector<std::string> channels; ///< Their names, sorted, at most max_listed.
  uint64_t queued_bytes = 0;         ///< Outbound bytes not yet written.
  uint64_t age_s = 0;                ///< Seconds since the connection opened.
  /// Channel names listed at most.
  static constexpr std::size_t max_listed = 20;
};

/// Counters of an app on this node.
struct app_stats {
  uint64_t connections = 0; ///< Open connections.
  uint64_t channels = 0;    ///< Local channel actors.
  uint64_t owners = 0;      ///< Channel owners running here.
};

} // namespace starling

// Local-only: they carry a session_link_ptr or local handles only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::ws_opened)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::channel_join)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::channel_joined)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::watch_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::user_signed_in)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::signin_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::channel_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::users_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::channel_idle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::channel_crashed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::connection_ended)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::channel_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::connection_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::app_stats)
