// The message catalogue: atoms and message structs with their inspect()
// overloads. Types that cross nodes (owner calls) must be registered on every
// node with add_message_types().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/session_link.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace starling {

// -- atoms (payload-free commands; 10 characters at most) ---------------------

/// Session -> connection: one inbound WebSocket message (text, is_binary).
using ws_frame_atom = caf::atom_constant<caf::atom("ws_frame")>;
/// Session -> connection: the socket is closed.
using ws_closed_atom = caf::atom_constant<caf::atom("ws_closed")>;
/// App -> channel/owner: quit if nothing happened since the idle report.
using stop_atom = caf::atom_constant<caf::atom("stop")>;
/// Channel -> owner: a client event to order and fan out.
using client_event_atom = caf::atom_constant<caf::atom("client_ev")>;
/// Owner -> channel: one event to deliver to local subscribers.
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
/// Query of counters (admin, tests).
using stats_atom = caf::atom_constant<caf::atom("stats")>;
/// Owner self-tick: expire the cached event.
using expire_atom = caf::atom_constant<caf::atom("expire")>;
/// Owner query: the presence user ids.
using users_atom = caf::atom_constant<caf::atom("users")>;
/// App -> connection: a watched user went online or offline.
using watchlist_atom = caf::atom_constant<caf::atom("watchlist")>;
/// App -> connection: the app terminated this user's connections (4009).
using terminate_atom = caf::atom_constant<caf::atom("terminate")>;
/// Connection self-tick: the user-authentication timeout elapsed.
using auth_check_atom = caf::atom_constant<caf::atom("auth_check")>;
/// Webhook actor self-tick: send due events, retry failed requests.
using flush_atom = caf::atom_constant<caf::atom("wh_flush")>;
/// Webhook actor: an HTTP request finished (request id, status).
using posted_atom = caf::atom_constant<caf::atom("wh_posted")>;
/// Owner self-tick: members of a lost channel that did not come back leave.
using departed_atom = caf::atom_constant<caf::atom("departed")>;
/// Channel -> app: the current owner of a channel (after an owner crash).
using owner_atom = caf::atom_constant<caf::atom("owner")>;
/// Connection self-tick: retry a silent re-join.
using rejoin_atom = caf::atom_constant<caf::atom("rejoin")>;
/// Admin: the live actor topology as JSON.
using topology_atom = caf::atom_constant<caf::atom("topology")>;
/// Shutdown: webhook actors send what they hold and report when done.
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// Node self-tick: restart an app after its back-off.
using restart_atom = caf::atom_constant<caf::atom("restart")>;
/// Fault injection: the receiver throws.
using crash_atom = caf::atom_constant<caf::atom("crash")>;
/// Owner state moving to the channel's new owner node (ring change, leave).
using handoff_atom = caf::atom_constant<caf::atom("handoff")>;
/// Channel -> owner: this node's whole interest in the channel (idempotent).
using sync_atom = caf::atom_constant<caf::atom("sync")>;
/// Channel self-tick: stop waiting for missing event numbers.
using gap_atom = caf::atom_constant<caf::atom("gap")>;
/// Owner self-tick: tell the subscription count after a rebuild.
using recount_atom = caf::atom_constant<caf::atom("recount")>;
/// App -> new owner: hold events until the predecessor's handoff arrives.
using settle_atom = caf::atom_constant<caf::atom("settle")>;

// -- transport -> actors ------------------------------------------------------

/// A WebSocket handshake completed on `/app/<app_key>?<query>`.
struct ws_opened {
  std::string app_key;   ///< Key from the path.
  std::string query;     ///< Raw query string (protocol, client, version).
  session_link_ptr link; ///< The socket.
};

/// An HTTP API trigger, already authenticated by the transport.
struct publish_request {
  std::string app_id;                ///< App from the path.
  std::vector<std::string> channels; ///< 1..100 validated channel names.
  std::string event;                 ///< Event name.
  std::string data;                  ///< Data string, delivered unchanged.
  std::string socket_id;             ///< Excluded connection; empty for none.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_request& x) {
  return f(caf::meta::type_name("publish_request"), x.app_id, x.channels,
           x.event, x.data, x.socket_id);
}

// -- HTTP API queries (transport -> node -> app -> owners) ---------------------

/// What the HTTP API reports about one channel.
struct channel_info {
  std::string channel;             ///< Channel name.
  bool occupied = false;           ///< At least one subscriber cluster-wide.
  uint64_t subscription_count = 0; ///< Connections subscribed.
  uint64_t user_count = 0;         ///< Distinct presence users.
  bool cache_hit = false;          ///< A cached event is held.
  std::string cache_event;         ///< Cached event name.
  std::string cache_data;          ///< Cached data string.
  uint64_t cache_ttl_s = 0;        ///< Seconds the cached event has left.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_info& x) {
  return f(caf::meta::type_name("channel_info"), x.channel, x.occupied,
           x.subscription_count, x.user_count, x.cache_hit, x.cache_event,
           x.cache_data, x.cache_ttl_s);
}

/// GET /channels: occupied channels whose name starts with `prefix`.
/// Reply: std::vector<channel_info>.
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

/// GET /channels/<name>: reply channel_info. With `users`, GET
/// /channels/<name>/users: reply std::vector<std::string> (user ids).
struct channel_request {
  std::string app_id;  ///< App.
  std::string channel; ///< Channel name.
  bool users = false;  ///< Ask for the presence user ids instead.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_request& x) {
  return f(caf::meta::type_name("channel_request"), x.app_id, x.channel,
           x.users);
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

/// One webhook event (Pusher protocol §7.2), emitted by the channel owner.
struct webhook_event {
  std::string name;      ///< channel_occupied, member_added, client_event, ...
  std::string channel;   ///< Channel.
  std::string user_id;   ///< member_*; client_event on presence channels.
  std::string event;     ///< client_event: the event name.
  std::string data;      ///< client_event: the data as JSON text.
  std::string socket_id; ///< client_event: the sender.
  int64_t subscription_count = -1; ///< subscription_count events.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_event& x) {
  return f(caf::meta::type_name("webhook_event"), x.name, x.channel, x.user_id,
           x.event, x.data, x.socket_id, x.subscription_count);
}

/// Admin fault injection: make one actor throw. `kind` is app, channel,
/// owner, connection (name = socket id), webhooks or logic (name = actor
/// for an app-bound instance, actor/channel for a channel-bound one; ended
/// with errc::injected_fault) or bridge (the node's cluster bridge; app and
/// name unused). Reply: ok_atom.
struct crash_request {
  std::string app_id; ///< App.
  std::string kind;   ///< Which actor kind.
  std::string name;   ///< Channel name or socket id.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, crash_request& x) {
  return f(caf::meta::type_name("crash_request"), x.app_id, x.kind, x.name);
}

// -- connection <-> app / channel ---------------------------------------------

/// A connection asks to join a channel (routed by the app to the channel).
struct channel_join {
  std::string channel;   ///< Validated and authorized channel name.
  std::string socket_id; ///< The joining connection.
  bool presence = false; ///< Whether `user_id`/`user_info` are meaningful.
  std::string user_id;   ///< Presence user id (string form).
  std::string user_info; ///< Presence user info JSON text, or empty.
  session_link_ptr link; ///< Where the channel writes frames.
  /// Silent re-join after a channel crash: the client is already
  /// subscribed, so no subscription_succeeded and no member events.
  bool rejoin = false;
};

/// Connection -> app: this connection signed in. Reply: the ids of
/// `watchlist` that are online now (std::vector<std::string>).
struct user_signed_in {
  std::string user_id;                ///< Signed-in user.
  std::vector<std::string> watchlist; ///< Users whose presence it watches.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_signed_in& x) {
  return f(caf::meta::type_name("user_signed_in"), x.user_id, x.watchlist);
}

/// A client event a connection sends on a channel it is subscribed to.
struct client_event {
  std::string event;     ///< `client-...` name.
  std::string data;      ///< JSON text, relayed as received.
  std::string socket_id; ///< The sender: never receives its own event.
  std::string user_id;   ///< Sender's presence user id, or empty.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_event& x) {
  return f(caf::meta::type_name("client_event"), x.event, x.data, x.socket_id,
           x.user_id);
}

// -- channel <-> owner (crosses nodes) -----------------------------------------

/// Channel -> owner: one subscriber of `node` joins.
struct owner_join {
  std::string node;      ///< Node of the subscriber.
  std::string socket_id; ///< The subscriber.
  bool presence = false; ///< Presence join.
  std::string user_id;   ///< Presence user id.
  std::string user_info; ///< Presence user info JSON text.
  bool rejoin = false;   ///< Rebuilding after a crash: no events for it.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_join& x) {
  return f(caf::meta::type_name("owner_join"), x.node, x.socket_id, x.presence,
           x.user_id, x.user_info, x.rejoin);
}

/// Owner -> channel: the answer to an owner_join.
struct owner_joined {
  bool ok = true;             ///< False: refused (see status/error).
  int status = 0;             ///< subscription_error status when refused.
  std::string error_type;     ///< subscription_error type when refused.
  std::string error;          ///< Human-readable reason when refused.
  std::string data_json;      ///< subscription_succeeded data ("{}" or presence).
  bool cache_channel = false; ///< Whether to send the cached event or cache_miss.
  bool cache_hit = false;     ///< Whether `cache_event`/`cache_data` are set.
  std::string cache_event;    ///< Cached event name.
  std::string cache_data;     ///< Cached data string.
  /// subscription_count including the joiner, or -1 when not sent. The
  /// joiner gets it with the reply: a remote owner's broadcast of it travels
  /// another path and may arrive before the joiner is subscribed.
  int64_t subscription_count = -1;
  std::string owner_node; ///< Node of the answering owner.
  uint64_t seq = 0;       ///< The owner's last sequence number at the reply.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_joined& x) {
  return f(caf::meta::type_name("owner_joined"), x.ok, x.status, x.error_type,
           x.error, x.data_json, x.cache_channel, x.cache_hit, x.cache_event,
           x.cache_data, x.subscription_count, x.owner_node, x.seq);
}

/// One presence connection: who it is (sync and handoff carry these).
struct roster_entry {
  std::string user_id;   ///< Presence user id.
  std::string user_info; ///< Presence user info JSON text.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, roster_entry& x) {
  return f(caf::meta::type_name("roster_entry"), x.user_id, x.user_info);
}

/// Channel -> owner: everything this node has on the channel, replacing
/// what the owner knew of the node (so repeating it changes nothing). Sent
/// when the channel finds a new owner. Reply: owner_joined.
struct owner_sync {
  std::string node;                  ///< The sending node.
  uint64_t subscribers = 0;          ///< Its connections on the channel.
  std::vector<roster_entry> members; ///< One per presence connection.
  /// Presence users the node's clients were told about: a rebuilt owner
  /// removes (member_removed) those nobody has any more.
  std::vector<std::string> known_members;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_sync& x) {
  return f(caf::meta::type_name("owner_sync"), x.node, x.subscribers,
           x.members, x.known_members);
}

/// One node's share of an owner's state, in a handoff.
struct handoff_node {
  std::string node;                  ///< The node.
  uint64_t subscribers = 0;          ///< Its connections on the channel.
  caf::actor channel;                ///< Its local channel actor.
  std::vector<roster_entry> members; ///< One per presence connection.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, handoff_node& x) {
  return f(caf::meta::type_name("handoff_node"), x.node, x.subscribers,
           x.channel, x.members);
}

/// Old owner -> new owner: the authoritative state of a channel, so the
/// new owner continues the sequence and the cache and knows every node.
struct owner_handoff {
  std::string app_id;              ///< App of the channel.
  std::string channel;             ///< The channel.
  uint64_t seq = 0;                ///< Last sequence number handed out.
  bool cache_hit = false;          ///< A cached event is held.
  std::string cache_event;         ///< Cached event name.
  std::string cache_data;          ///< Cached data string.
  uint64_t cache_ttl_ms = 0;       ///< What the cached event has left.
  std::vector<handoff_node> nodes; ///< Interest and members per node.
  uint32_t hops = 0;               ///< Redirects so far (bounded).
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_handoff& x) {
  return f(caf::meta::type_name("owner_handoff"), x.app_id, x.channel, x.seq,
           x.cache_hit, x.cache_event, x.cache_data, x.cache_ttl_ms, x.nodes,
           x.hops);
}

/// Channel -> owner: one subscriber of `node` leaves.
struct owner_leave {
  std::string node;      ///< Node of the subscriber.
  std::string socket_id; ///< The subscriber.
  bool presence = false; ///< Presence leave.
  std::string user_id;   ///< Presence user id.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_leave& x) {
  return f(caf::meta::type_name("owner_leave"), x.node, x.socket_id, x.presence,
           x.user_id);
}

/// One event of a channel, as the owner orders it and channels deliver it.
struct channel_event {
  uint64_t seq = 0;          ///< Owner's per-channel sequence number.
  std::string event;         ///< Event name.
  std::string data;          ///< Data (a data string, or JSON text).
  bool data_is_json = false; ///< True for relayed client events.
  std::string user_id;       ///< Added on presence client events.
  std::string exclude;       ///< Socket id that must not receive it.
  std::string origin;        ///< Node of the owner that ordered it.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_event& x) {
  return f(caf::meta::type_name("channel_event"), x.seq, x.event, x.data,
           x.data_is_json, x.user_id, x.exclude, x.origin);
}

// -- channel / owner -> app -----------------------------------------------------

/// Channel -> app: no local subscribers left after `joins` routed joins.
struct channel_idle {
  std::string channel; ///< The channel.
  uint64_t joins = 0;  ///< Joins the channel has seen in its lifetime.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_idle& x) {
  return f(caf::meta::type_name("channel_idle"), x.channel, x.joins);
}

/// Owner -> app: no interest and nothing cached.
struct owner_idle {
  std::string channel; ///< The channel.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_idle& x) {
  return f(caf::meta::type_name("owner_idle"), x.channel);
}

/// Registers every message type that crosses nodes.
void add_message_types(caf::actor_system_config& cfg);

} // namespace starling

// Local-only: they carry a session_link_ptr, which never leaves the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::ws_opened)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::channel_join)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::frame_ptr)
