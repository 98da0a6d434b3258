// The local channel: this node's subscribers of one channel. It receives
// each event once per node, encodes it once and shares the bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/behavior.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/app_context.hpp"
#include "actors/messages.hpp"
#include "actors/session_link.hpp"
#include "pusher/channel_name.hpp"

namespace starling {

/// One local subscriber.
struct channel_subscriber {
  caf::actor_addr connection; ///< The connection actor (monitored).
  std::string socket_id;      ///< For exclusion.
  std::string user_id;        ///< Presence user id, or empty.
  std::string user_info;      ///< Presence user info (for re-joins).
  session_link_ptr link;      ///< Where frames go.
};

/// A join that waits until the owner is known.
struct pending_join {
  channel_join join;       ///< The join.
  caf::actor conn;         ///< The joining connection.
  caf::response_promise rp; ///< Its answer.
};

/// State of a local channel actor.
struct channel_state {
  static inline const char* name = "channel";
  std::string channel;                ///< Channel name.
  pusher::channel_traits traits;       ///< Kind and cache attribute.
  app_context_ptr ctx;                ///< App and node facts.
  caf::actor app;                     ///< Parent: gets channel_idle.
  caf::actor owner;                   ///< Authoritative state of the channel.
  std::vector<channel_subscriber> subscribers; ///< Delivery list.
  std::unordered_map<caf::actor_addr, std::size_t> index; ///< connection -> position.
  uint64_t joins = 0;   ///< Joins received (the app compares it before stopping us).
  uint32_t pending = 0; ///< Joins waiting for the owner.
  uint64_t delivered = 0; ///< Frames handed to sessions.
  session_list links;     ///< Snapshot of subscribers' links; null when stale.
  std::vector<pending_join> waiting; ///< Joins waiting for the owner.
  std::string owner_node; ///< Node of the current owner (from its replies).
  uint64_t last_seq = 0;  ///< Last sequence number delivered.
  /// Presence users this node's clients were told about (from join replies
  /// and member events): a rebuilt owner removes those nobody has any more.
  std::unordered_set<std::string> known_members;
  /// Events that arrived after a gap in the numbers, waiting briefly for
  /// the missing ones.
  std::map<uint64_t, channel_event> gap;
  bool gap_timer = false; ///< A gap_atom tick is scheduled.
};

/// Channel actor messages:
/// - `(join_atom, channel_join)` from a connection (routed by the app) ->
///   `(ok_atom, actor channel)` once subscribed, or an error after the
///   client got `pusher:subscription_error`;
/// - `(leave_atom)` from a subscribed connection (unsubscribe);
/// - `(deliver_atom, channel_event)` from the owner, in its numbers' order
///   (a later number waits up to 50 ms for a missing one);
/// - `(client_event_atom, client_event)` from a subscriber -> owner;
/// - `(logic_atom, socket_id, event, data)` from the owner: app logic's
///   answer to a client event, for that subscriber only;
/// - `(stop_atom)` from the app after `channel_idle`;
/// - `(stats_atom)` -> `(subscribers, delivered)`.
caf::behavior channel_behavior(caf::stateful_actor<channel_state>* self,
                               std::string channel, app_context_ptr ctx,
                               caf::actor app, caf::actor owner);

} // namespace starling
