// The local channel: this node's subscribers of one channel. It receives
// each event of the channel once per node, in its owner's order, encodes it
// once and hands the shared bytes to the transport's fan-out sink.
//
// On the channel's owner node the same actor also hosts the channel's owner
// (channel_owner.hpp): one actor per channel there, not two. The two parts
// keep their own state and talk by messages, as when they are apart; the
// owner's handlers come first in the actor's behavior.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/app_context.hpp"
#include "actors/flyweight_actor.hpp"
#include "actors/fanout_sink.hpp"
#include "actors/member_identity.hpp"
#include "actors/messages.hpp"
#include "actors/owner_start.hpp"
#include "actors/session_link.hpp"
#include "pusher/channel_kind.hpp"

namespace starling {

struct owner_state;

/// One local subscriber.
struct channel_subscriber {
  connection_actor connection; ///< Monitored; watchlist events go here.
  /// Where frames go; its socket id is the one exclusion compares.
  session_link_ptr link;
  /// The roster user: set exactly when the subscriber is a member.
  member_identity_ptr identity;
  uint64_t from_seq = 0;       ///< See `waiting`.
  bool silent = false;         ///< Receives nothing.
  /// Not yet in the delivery list: it joined when the owner's last number
  /// was `from_seq` and gets the events numbered after it.
  bool waiting = false;

  /// Returns the subscriber's socket id.
  const pusher::compact_socket_id& id() const {
    return link->id();
  }

  /// Returns whether the subscriber is a roster member.
  bool member() const {
    return identity != nullptr;
  }

  /// Returns the roster user id, or empty for a subscriber that is no member.
  const std::string& user_id() const {
    static const std::string none;
    return identity ? identity->user_id : none;
  }
};

/// An event delivered while joins waited for their answer.
struct recent_event {
  uint64_t seq = 0;       ///< Owner number.
  frame_ptr frame;        ///< Encoded frame (null on watchlist channels).
  std::string exclude;    ///< Socket id it skipped.
  std::string user_id;    ///< Watchlist: the member.
  bool online = false;    ///< Watchlist: member_added.
};

/// A join that waits until the owner is known.
struct pending_join {
  channel_join join;                                ///< The join.
  connection_actor conn;                            ///< The joining connection.
  caf::typed_response_promise<channel_joined> rp;   ///< Its answer.
};

/// What most channels never use (a big channel's index, presence, a gap
/// in the numbers, two owners at once): one pointer in channel_state,
/// allocated on first use (channel_state::more()).
struct channel_extras {
  /// connection -> position; empty on small channels (channel.cpp, index_from).
  std::unordered_map<caf::actor_addr, std::size_t> index;
  /// Roster users this node's clients were told about (from join replies
  /// and member events): a rebuilt owner removes those nobody has any more.
  std::unordered_set<std::string> known_members;
  /// Events that arrived after a gap in the numbers, waiting briefly for
  /// the missing ones.
  std::map<uint64_t, channel_event> gap;
  /// Events of another owner (two owners at once while the cluster was
  /// split) delivered outside the followed numbers: (origin, seq), newest
  /// last, so a later replay of them is not delivered twice.
  std::vector<std::pair<std::string, uint64_t>> foreign;
  /// Set on a replacement for a crashed channel: the last number its
  /// predecessor delivered. Rejoining subscribers get what follows it
  /// (replayed by the owner), and delivered events are kept for them
  /// until `resume_until`.
  uint64_t resume_seq = 0;
  std::chrono::steady_clock::time_point resume_until;
};

/// Node ids as channels remember them: one copy per id for the process
/// (a handful of nodes), so a channel holds a pointer.
struct node_names {
  /// The empty id (no owner known yet).
  static const std::string none;
  /// The shared copy of `id`.
  static const std::string* of(const std::string& id);
};

/// State of a local channel actor.
struct channel_state {
  static inline const char* name = "channel";
  std::string channel;             ///< Channel name.
  pusher::channel_traits traits;   ///< What the channel can do.
  app_context_ptr ctx;             ///< App and node facts.
  app_actor app;                   ///< Parent: gets channel_idle.
  owner_directory_actor directory; ///< Resolves the owner.
  owner_actor owner;               ///< Authoritative state; null while resolving.
  uint64_t resolve_generation = 0; ///< Only the latest lookup's answer counts.
  bool resolving = false;          ///< A lookup is under way.
  std::vector<channel_subscriber> subscribers; ///< Delivery list.
  gauge_share subscribed; ///< Its size, in the app's subscriptions gauge.
  uint64_t joins = 0;     ///< Joins received (the app compares it before stopping us).
  uint32_t pending = 0;   ///< Joins not answered yet.
  uint32_t joining = 0;   ///< Subscribers not yet in the delivery list.
  /// Events delivered while joins were pending (see recent_event).
  std::vector<recent_event> recent;
  uint64_t delivered = 0; ///< Frames handed to the transport.
  subscriber_list links;  ///< Links of the non-silent subscribers; null when stale.
  std::vector<pending_join> waiting; ///< Joins waiting for the owner.
  /// Node of the current owner (from its replies): one shared copy per
  /// node id (node_names), not a string per channel.
  const std::string* owner_node = &node_names::none;
  uint64_t last_seq = 0;  ///< Last sequence number delivered.
  bool owner_lost = false; ///< The owner ended: its successor numbers anew.
  bool gap_timer = false; ///< A gap_atom tick is scheduled.
  bool replaying = false; ///< Asked the owner for events the bus lost.
  uint8_t replay_attempts = 0; ///< Timed-out replays of the current gap.
  /// See channel_extras; null until first needed.
  std::unique_ptr<channel_extras> extras;
  /// The channel's owner when this actor hosts it (channel_owner.hpp);
  /// null on nodes that do not own the channel.
  std::unique_ptr<owner_state> owner_part;
  /// An owner part that ended while the channel went on: kept until the
  /// next one, for replies still on their way to its handlers.
  std::unique_ptr<owner_state> retired_owner;

  channel_state();
  ~channel_state();

  /// The extras, allocated on first use: call it to change them.
  channel_extras& more() {
    if (!extras)
      extras = std::make_unique<channel_extras>();
    return *extras;
  }

  /// Whether the channel keeps a subscriber index.
  bool indexed() const {
    return extras && !extras->index.empty();
  }

  /// Whether events wait behind a gap.
  bool has_gap() const {
    return extras && !extras->gap.empty();
  }
};

/// A channel actor: its kind shares one behavior (flyweight_actor.hpp). An
/// owner is one too, with an owner part and no subscribers.
using channel_flyweight = flyweight_actor<channel_state, channel_actor>*;

/// Spawns nothing; the app spawns it. Messages (channel_actor in fwd.hpp):
/// - `channel_join` from a connection (routed by the app) -> channel_joined
///   once subscribed, or an error after the client got
///   `pusher:subscription_error`;
/// - `unsubscribe_atom` from a subscribed connection;
/// - `channel_event` from the owner or the bus, in its numbers' order (a
///   later number waits up to 50 ms for a missing one, then a remote owner
///   is asked for what the bus lost);
/// - `client_event` from a subscriber -> owner; `logic_answer` from the
///   owner -> that subscriber only;
/// - `resolve_atom`: find the owner again (the ring changed, the bus came
///   back) and sync, or catch up on what the bus lost;
/// - `stop_atom` from the app after `channel_idle` (an owner part that is
///   not idle outlives the channel part);
/// - `host_owner` from the directory: host the channel's owner from now on.
/// A crash tells the app and each subscriber the last number delivered
/// (`channel_crashed`); the app spawns the replacement with it as
/// `resume_seq` (0: fresh), and the subscribers re-join it.
channel_actor::behavior_type
channel_behavior(channel_flyweight self,
                 std::string channel, app_context_ptr ctx, app_actor app,
                 owner_directory_actor directory, uint64_t resume_seq);

namespace channel_detail {

/// The channel's handlers alone (an owner part puts its own first).
const channel_actor::behavior_type& channel_handlers();

/// The down, exit and exception handlers of both parts.
void install_handlers(channel_flyweight self);

/// Whether `addr` is a subscriber of this node.
bool is_subscriber(const channel_state& st, const caf::actor_addr& addr);

/// Whether the channel part serves subscribers for its app (not stopped,
/// not a bare owner).
bool channel_active(const channel_state& st);

/// The hosted owner part ended and the channel goes on: it finds its next
/// owner as it would after its owner's down message.
void owner_part_ended(channel_flyweight self);

/// The channel part's owner ended or is lost (`node_died`: its node went
/// away): it finds the next one if anyone here needs one.
void lose_owner(channel_flyweight self, bool node_died);

/// The channel part's down handling: its owner or a subscriber ended.
void on_channel_down(channel_flyweight self, caf::down_msg& dm);

/// The channel fails: the app and each subscriber learn the last number
/// it delivered (channel_crashed).
void tell_crashed(channel_flyweight self);

} // namespace channel_detail

} // namespace starling
