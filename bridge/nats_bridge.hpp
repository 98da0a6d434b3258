// The NATS bridge: the cluster_actor contract (actors/cluster.hpp) over one
// NATS connection. Channel events travel on one subject per channel
// (bridge/subjects.hpp), membership on `<prefix>.members` as msgpack
// envelopes (bridge/envelope.hpp) feeding a membership_view.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/timespan.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/messages.hpp"
#include "bridge/membership.hpp"
#include "bridge/nats_client.hpp"
#include "config/settings.hpp"

namespace starling::bridge {

namespace detail {
struct nats_delivery;
struct channel_route;
class nats_flusher;
} // namespace detail

/// A node announced itself: (node id, host, port, start epoch).
using announce_atom = caf::atom_constant<caf::atom("announce")>;
/// A node said goodbye: (node id, start epoch).
using goodbye_atom = caf::atom_constant<caf::atom("goodbye")>;
/// Every SUB up to this flush generation reached the server: (generation).
using flushed_atom = caf::atom_constant<caf::atom("flushed")>;
/// The NATS connection was lost.
using nats_down_atom = caf::atom_constant<caf::atom("nats_down")>;
/// The NATS connection is back and nats.c sent every SUB again.
using nats_up_atom = caf::atom_constant<caf::atom("nats_up")>;

/// The cluster_actor contract plus what nats.c threads, the flusher thread
/// and its own heartbeat timer tell the bridge.
using nats_bridge_actor = cluster_actor::extend<
  caf::reacts_to<announce_atom, std::string, std::string, uint16_t, uint64_t>,
  caf::reacts_to<goodbye_atom, std::string, uint64_t>,
  caf::reacts_to<flushed_atom, uint64_t>,
  caf::reacts_to<nats_down_atom>,
  caf::reacts_to<nats_up_atom>,
  caf::reacts_to<caf::tick_atom>>;

/// One channel this node has interest in: its NATS subscription and where
/// its events go.
struct nats_channel_subscription {
  std::shared_ptr<detail::channel_route> route; ///< Shared with the callback.
  nats_subscription subscription;               ///< Unsubscribes when reset.
  uint64_t generation = 0; ///< Flush that confirms it with the server.
};

/// State of the NATS bridge actor. Members are destroyed in reverse order:
/// the flusher thread stops first, then the subscriptions, then the client.
struct nats_bridge_state {
  static inline const char* name = "bridge";

  nats_bridge_state();
  ~nats_bridge_state();

  config::nats_settings settings; ///< Servers, credentials, subject prefix.
  cluster_member local;           ///< This node as it announces itself.
  caf::timespan heartbeat{};      ///< Announce and expiry period.
  caf::timespan node_timeout{};   ///< Silence after which a node leaves.
  membership_view view;           ///< Live nodes, this one included.
  std::vector<node_actor> listeners; ///< Get every view (monitored).
  uint64_t published = 0;         ///< Events handed to NATS.
  uint64_t publish_failures = 0;  ///< Events NATS refused.
  uint64_t disconnects = 0;       ///< Connection losses.
  uint64_t reconnects = 0;        ///< Connection recoveries.
  bool nats_connected = true;     ///< Expiry waits while we cannot hear.
  /// When the heartbeat last ran: a late one means this node was stalled.
  /// When this node last found itself stalled: connections peers closed
  /// meanwhile prove nothing about them for a node timeout.
  membership_clock::time_point stalled_at{};
  membership_clock::time_point last_tick{};
  bool said_goodbye = false;      ///< Goodbye sent: do not send it twice.
  bool leaving = false;           ///< Handing over: not in the ring any more.
  uint64_t flush_requested = 0;   ///< Last flush generation asked for.
  uint64_t flush_done = 0;        ///< Last flush generation completed.
  /// Subscribe replies waiting until the server confirmed the interest.
  std::vector<std::pair<uint64_t, caf::typed_response_promise<caf::ok_atom>>>
    awaiting_flush;
  /// Shared with every nats.c callback: node id, bridge address, counters.
  std::shared_ptr<detail::nats_delivery> delivery;
  std::unique_ptr<nats_client> client;  ///< The connection.
  nats_subscription members_subscription; ///< `<prefix>.members`.
  /// (app id, channel) -> its subscription.
  std::map<std::pair<std::string, std::string>, nats_channel_subscription>
    channels;
  std::unique_ptr<detail::nats_flusher> flusher; ///< Confirms subscribes.
  /// Node id -> its published node actor (CAF remote actor), connected on
  /// first use and dropped when the node leaves the view.
  std::map<std::string, node_actor> remote_nodes;
};

/// The cluster_actor contract across nodes (actors/protocol/cluster.hpp):
/// - `(subscribe_atom, app, channel, channel_actor)` subscribes to the channel's
///   event subject (once per channel; a repeat only replaces the target) ->
///   ok_atom once the NATS server has the interest, so an event the owner
///   publishes after that reply is not lost to a late SUB;
/// - `(unsubscribe_atom, app, channel)` unsubscribes -> ok_atom; no event is
///   handed to the old target after the reply;
/// - `fan_out_event` publishes an event envelope (origin = this node); at
///   most once, lost while NATS is away;
/// - `(join_atom, node_actor listener)`: `cluster_view` now and after
///   every change, until the listener ends -> ok_atom;
/// - `(caf::get_atom)` -> cluster_view; `(stats_atom)` -> bridge_stats;
/// - `owner_node_request` -> the node actor of the channel's owner
///   node (rendezvous hashing over the view), or an invalid handle when
///   this node owns it; connecting to a node blocks this (detached) actor;
/// - `standby_node_request` -> the same without this node in the view
///   (where owners here copy their logic snapshots), invalid when alone;
/// - `(caf::close_atom)`: goodbye, then ok_atom, then quits. An exit message
///   (not `exit_reason::kill`) also says goodbye before quitting; a killed
///   bridge just falls silent and leaves the other views by timeout. (CAF
///   unlinks the sender of an exit message first: a linked supervisor that
///   sends one gets no exit message back when the bridge ends.)
/// - `(crash_atom)` throws (fault injection): the bridge ends with
///   `sec::runtime_error`, without goodbye, and closes its connection; a
///   restart with a higher start epoch replaces it in the other views.
/// Connects at start, blocking the scheduler thread for at most nats.c's
/// connect timeout per server; when no server accepts, the actor quits with
/// a `sec::runtime_error` that says why. Announces itself every `heartbeat`
/// and drops nodes silent for longer than `node_timeout`. Its heartbeat
/// timer keeps it alive: stop it with `close_atom` or an exit message.
nats_bridge_actor::behavior_type
nats_bridge_behavior(nats_bridge_actor::stateful_pointer<nats_bridge_state> self,
                     config::nats_settings settings, cluster_member local,
                     caf::timespan heartbeat, caf::timespan node_timeout);

} // namespace starling::bridge
