// Messages of a channel's conversation: local channels, the owner, the
// owner directory and the owner's successor. Owner calls cross nodes, so
// most of these have inspect() overloads and are registered (register.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/fwd.hpp"
#include "actors/protocol/cluster.hpp"

namespace starling {

// -- channel <-> owner ------------------------------------------------------------

/// Channel -> owner: one subscriber of `node` joins. Reply: owner_joined.
struct owner_join {
  std::string node;      ///< Node of the subscriber.
  std::string socket_id; ///< The subscriber.
  bool member = false;   ///< A roster member (presence).
  std::string user_id;   ///< Roster user id (or a signed-in user id).
  std::string user_info; ///< Roster user info JSON text.
  bool rejoin = false;   ///< Rebuilding after a crash: no events for it.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_join& x) {
  return f(caf::meta::type_name("owner_join"), x.node, x.socket_id, x.member,
           x.user_id, x.user_info, x.rejoin);
}

/// One roster member: who it is (joins, syncs and handoffs carry these).
struct roster_entry {
  std::string user_id;   ///< Roster user id.
  std::string user_info; ///< Roster user info JSON text.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, roster_entry& x) {
  return f(caf::meta::type_name("roster_entry"), x.user_id, x.user_info);
}

/// Owner -> channel: the answer to an owner_join.
struct owner_joined {
  bool ok = true;             ///< False: refused (see status/error).
  int status = 0;             ///< subscription_error status when refused.
  std::string error_type;     ///< subscription_error type when refused.
  std::string error;          ///< Human-readable reason when refused.
  std::vector<roster_entry> members; ///< The roster (roster kinds).
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
           x.error, x.members, x.cache_hit, x.cache_event, x.cache_data,
           x.subscription_count, x.owner_node, x.seq);
}

/// Channel -> owner: one subscriber of `node` leaves.
struct owner_leave {
  std::string node;      ///< Node of the subscriber.
  std::string socket_id; ///< The subscriber.
  bool member = false;   ///< A roster member leaves.
  std::string user_id;   ///< Roster user id.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_leave& x) {
  return f(caf::meta::type_name("owner_leave"), x.node, x.socket_id, x.member,
           x.user_id);
}

/// Channel -> owner: everything this node has on the channel, replacing
/// what the owner knew of the node (so repeating it changes nothing). Sent
/// when the channel finds a new owner. Reply: owner_synced.
struct owner_sync {
  std::string node;                  ///< The sending node.
  uint64_t subscribers = 0;          ///< Its connections on the channel.
  std::vector<roster_entry> members; ///< One per roster connection.
  /// Roster users the node's clients were told about: a rebuilt owner
  /// removes (member_removed) those nobody has any more.
  std::vector<std::string> known_members;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_sync& x) {
  return f(caf::meta::type_name("owner_sync"), x.node, x.subscribers,
           x.members, x.known_members);
}

/// Owner -> channel: the answer to an owner_sync.
struct owner_synced {
  std::string owner_node; ///< Node of the answering owner.
  uint64_t seq = 0;       ///< Its last sequence number at the reply.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_synced& x) {
  return f(caf::meta::type_name("owner_synced"), x.owner_node, x.seq);
}

/// What a channel event is; the channel encodes each kind (typed values
/// from the owner, never JSON built and parsed back).
enum class event_kind : uint8_t {
  message = 0,            ///< Published: `data` is a data string.
  client = 1,             ///< Client event: `data` is JSON text.
  member_added = 2,       ///< `user_id` joined; `data` is its info JSON.
  member_removed = 3,     ///< `user_id` left.
  subscription_count = 4, ///< `count` connections are subscribed.
};

/// One event of a channel, as the owner orders it and channels deliver it.
struct channel_event {
  uint64_t seq = 0;                       ///< Owner's sequence number.
  event_kind kind = event_kind::message;  ///< How the channel encodes it.
  std::string event;                      ///< Event name (message, client).
  std::string data;                       ///< See event_kind.
  std::string user_id; ///< Client events on roster channels; member events.
  uint64_t count = 0;  ///< subscription_count.
  std::string exclude; ///< Socket id that must not receive it.
  std::string origin;  ///< Node of the owner that ordered it.
  /// System clock at its publish in ns (fanout_sink.hpp's publish_stamp);
  /// 0 for the owner's own events (members, counts) and logic publishes.
  uint64_t published_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, channel_event& x) {
  return f(caf::meta::type_name("channel_event"), x.seq, x.kind, x.event,
           x.data, x.user_id, x.count, x.exclude, x.origin, x.published_ns);
}

/// Owner -> bridge: send one ordered event to every other node that has
/// subscribers of the channel (actors/protocol/cluster.hpp).
struct fan_out_event {
  std::string app_id;  ///< App of the channel.
  std::string channel; ///< The channel.
  channel_event event; ///< The numbered event.
};

/// App (via the directory) -> owner: order and fan out this event (HTTP
/// API or logic publish). Reply: publish_ack.
struct publish_event {
  channel_event event; ///< The event; the owner numbers it.
  /// System clock (ms since the epoch) when the publisher stops waiting and
  /// asks a successor instead: later, the owner must not number it (it
  /// would be delivered twice). 0: no limit.
  uint64_t give_up_ms = 0;
  /// Asks the channel's publish hooks first (HTTP API publishes; false for
  /// a logic actor's own).
  bool ask_logic = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_event& x) {
  return f(caf::meta::type_name("publish_event"), x.event, x.give_up_ms,
           x.ask_logic);
}

/// Channel -> owner: the events numbered after `after` (the bus may have
/// lost them while NATS was down). Reply: replay_events.
struct replay_request {
  uint64_t after = 0; ///< Last number the channel delivered.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replay_request& x) {
  return f(caf::meta::type_name("replay_request"), x.after);
}

/// Owner -> channel: the events numbered after the request's `after`, in
/// order. `complete` is false when some of them already left the owner's
/// bounded replay buffer.
struct replay_events {
  std::vector<channel_event> events; ///< In number order.
  bool complete = true;              ///< Nothing after `after` is missing.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replay_events& x) {
  return f(caf::meta::type_name("replay_events"), x.events, x.complete);
}

/// A client event a connection sends on a channel it is subscribed to;
/// channel -> owner.
struct client_event {
  std::string event;     ///< `client-...` name.
  std::string data;      ///< JSON text, relayed as received.
  std::string socket_id; ///< The sender: never receives its own event.
  std::string user_id;   ///< Sender's roster user id, or empty.
  uint64_t published_ns = 0; ///< When its connection took it (channel_event).
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_event& x) {
  return f(caf::meta::type_name("client_event"), x.event, x.data, x.socket_id,
           x.user_id, x.published_ns);
}

/// Owner -> channel: app logic answers a client event; its sender alone
/// gets this event.
struct logic_answer {
  std::string socket_id; ///< The sender of the client event.
  std::string event;     ///< Event name.
  std::string data;      ///< Data string.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, logic_answer& x) {
  return f(caf::meta::type_name("logic_answer"), x.socket_id, x.event, x.data);
}

/// Channel -> old owner: the node's channel moved to another owner.
/// Callers with an older view may still send events here for a moment: the
/// old owner keeps delivering to the node for a grace period, then forgets
/// it silently.
struct node_moved {
  std::string node; ///< The node whose channel moved.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_moved& x) {
  return f(caf::meta::type_name("node_moved"), x.node);
}

/// Owner timer: forget `node` unless it joined or synced again since.
struct node_forget {
  std::string node;        ///< The node.
  uint64_t generation = 0; ///< Its interest generation when it moved.
};

// -- owner moves -------------------------------------------------------------------

/// One node's share of an owner's state, in a handoff.
struct handoff_node {
  std::string node;                  ///< The node.
  uint64_t subscribers = 0;          ///< Its connections on the channel.
  channel_actor channel;             ///< Its local channel actor.
  std::vector<roster_entry> members; ///< One per roster connection.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, handoff_node& x) {
  return f(caf::meta::type_name("handoff_node"), x.node, x.subscribers,
           x.channel, x.members);
}

/// The last snapshot of one channel-bound logic instance (snapshot_hook),
/// travelling with its owner's handoff.
struct logic_state {
  std::string actor;    ///< The binding's registered actor name ...
  std::string channels; ///< ... and channel glob (which instance it is).
  std::string state;    ///< The snapshot, opaque bytes.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, logic_state& x) {
  return f(caf::meta::type_name("logic_state"), x.actor, x.channels, x.state);
}

/// Owner -> its directory: the latest snapshots of the channel's logic
/// instances (after one was kept, or restored from a handoff). The
/// directory keeps them beyond the owner's life and copies them to the
/// channel's standby node.
struct logic_snapshot_kept {
  std::string channel;             ///< The channel.
  std::vector<logic_state> states; ///< One per instance that has one.
};

/// A new owner -> its directory, before its logic instances start: the
/// snapshots kept of the channel (a crashed predecessor's, or a dead
/// node's copy). Reply: std::vector<logic_state>, empty when none.
struct logic_state_request {
  std::string channel; ///< The channel.
};

/// Directory -> the standby node's directory (the node the ring names for
/// the channel should the sender's node die), through its node: keep the
/// latest of `channel` that only the owner's node has, the snapshots of its
/// logic and (apps with webhooks) that it is occupied and by which members,
/// so the standby can rebuild the one and send the leave webhooks of the
/// other. Empty `states` and not `occupied`: the channel ended, drop the
/// copy. Reply: ok_atom. Crosses nodes.
struct standby_copy {
  std::string app_id;              ///< App of the channel.
  std::string channel;             ///< The channel.
  std::string from;                ///< Node id of the sending owner's node.
  std::vector<logic_state> states; ///< Latest snapshots.
  bool occupied = false;           ///< It has subscribers (webhook apps only).
  std::vector<std::string> members; ///< Their presence user ids.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, standby_copy& x) {
  return f(caf::meta::type_name("standby_copy"), x.app_id, x.channel, x.from,
           x.states, x.occupied, x.members);
}

/// Owner -> its directory (apps with webhooks): the channel's occupancy
/// and members changed, for the standby copy.
struct occupancy_kept {
  std::string channel;              ///< The channel.
  bool occupied = false;            ///< It has subscribers.
  std::vector<std::string> members; ///< Presence user ids.
};

/// Standby directory -> the channel's owner under the new view: the node
/// that owned it died, and its last copy said the channel was occupied by
/// `members`. Those no node syncs within a grace (3 s) get member_removed,
/// then channel_vacated unless someone is subscribed. Crosses nodes (two
/// nodes gone: the ring may name a third).
struct lost_owner_copy {
  std::vector<std::string> members; ///< Presence user ids.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lost_owner_copy& x) {
  return f(caf::meta::type_name("lost_owner_copy"), x.members);
}

/// Old owner -> new owner (through the new node): the authoritative state
/// of a channel, so the new owner continues the sequence and the cache and
/// knows every node. Reply: owner_ref of the owner that took it.
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
  std::vector<channel_event> replay; ///< Recent events sent to other nodes.
  uint64_t replay_floor = 0;         ///< Highest number no longer in `replay`.
  std::vector<logic_state> logic;    ///< Snapshots of its channel-bound logic.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_handoff& x) {
  return f(caf::meta::type_name("owner_handoff"), x.app_id, x.channel, x.seq,
           x.cache_hit, x.cache_event, x.cache_data, x.cache_ttl_ms, x.nodes,
           x.hops, x.replay, x.replay_floor, x.logic);
}

/// A channel owner, as a value (an owner's interface cannot name itself).
struct owner_ref {
  owner_actor owner; ///< The owner.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, owner_ref& x) {
  return f(caf::meta::type_name("owner_ref"), x.owner);
}

/// Directory -> owner: the ring moved the channel to `target`'s node: hand
/// the state over there, then forward. Reply: ok_atom.
struct hand_off {
  node_actor target; ///< The new owner node.
};

/// Directory -> owner: events for other nodes go out through this bridge.
struct bridge_changed {
  cluster_actor bridge; ///< The current bridge (invalid while it restarts).
};

/// Counters of an owner.
struct owner_stats {
  uint64_t subscribers = 0; ///< Connections cluster-wide.
  uint64_t members = 0;     ///< Distinct roster users.
  uint64_t seq = 0;         ///< Last sequence number.
  bool cached = false;      ///< A cache channel's last event is held.
  /// Hosted by this node's channel actor (one actor for both).
  bool hosted = false;
  /// Nodes with subscribers -> how many (the owner's interest table).
  std::map<std::string, uint64_t> interest;
};

// -- channel / app <-> directory ----------------------------------------------------

/// Channel -> directory: my owner, please. Registers this node's interest
/// on the bus first (in a cluster), so no event of the owner can miss the
/// channel. Reply: the owner, local or on another node.
struct resolve_owner {
  std::string channel;   ///< The channel.
  channel_actor listener; ///< The local channel (gets the bus's events).
  /// The listener can host the owner if it is to live on this node (a
  /// channel actor asking for itself).
  bool can_host = false;
};

/// Finds the owner of a channel wherever the ring puts it (publishes,
/// queries). Reply: the owner.
struct owner_request {
  std::string channel; ///< The channel.
};

/// Another node's directory asks for the owner that lives here (spawned if
/// needed; a channel handed off from here is answered by its forwarder).
/// Reply: the owner.
struct local_owner_request {
  std::string app_id;  ///< App (the node routes by it).
  std::string channel; ///< The channel.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, local_owner_request& x) {
  return f(caf::meta::type_name("local_owner_request"), x.app_id, x.channel);
}

/// App -> directory: this node's channel stopped (no local subscribers)
/// or `failed`: its interest leaves the bus.
struct channel_gone {
  std::string channel; ///< The channel.
  /// It ended without being told to (a crash, an exit from elsewhere): an
  /// owner it hosted ended with it.
  bool failed = false;
};

/// Owner -> directory, as its last message: it ends (idle, a forwarder done,
/// or `crashed`). The directory forgets it if it is still the one it holds.
struct owner_ended {
  std::string channel;  ///< The channel.
  bool crashed = false; ///< Failed (its channel's next owner is rebuilt).
  /// A crashed owner hosted by this node's channel: its last number, which
  /// the channel delivered too (they failed together). The rebuilt owner
  /// continues from it, so the channel's replacement resumes after it.
  uint64_t seq = 0;
};

/// Owner -> directory: it handed its state to `successor` and forwards now.
struct owner_handed_off {
  std::string channel;   ///< The channel.
  owner_actor successor; ///< Where it forwards.
};

} // namespace starling

// Local-only: timers and handles that never leave the node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::fan_out_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::node_forget)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::hand_off)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::bridge_changed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::owner_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::resolve_owner)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::owner_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::channel_gone)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::owner_handed_off)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::owner_ended)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::logic_snapshot_kept)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::occupancy_kept)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::logic_state_request)
