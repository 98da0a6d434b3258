// Operations on a channel owner's state (internal to the owner's states in
// channel_owner.cpp): numbering and fan-out, the owner's own events and
// webhooks, joins, leaves, syncs (owner_ops.cpp), the cache
// (owner_cache.cpp), handoffs and a dead owner node's copy
// (owner_succession.cpp).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>

#include "actors/channel_owner.hpp"

namespace starling::owner_ops {

/// The owner as its operations see it: the channel actor it runs in.
using self_ptr = owner_flyweight;

/// `self` as the owner (its messages to itself).
inline owner_actor as_owner(self_ptr self) {
  return caf::actor_cast<owner_actor>(self);
}

/// The owner part of `self` (one that just ended while the channel part
/// goes on, for replies still on their way).
inline owner_state& own(self_ptr self) {
  auto& st = self->state;
  return st.owner_part ? *st.owner_part : *st.retired_owner;
}

/// Numbers `ev` and sends it to this node's channel directly and to the
/// other nodes through one bridge message. Returns its number.
uint64_t fan_out(self_ptr self, channel_event ev);

/// Ends the owner when nothing is left to order or tell.
void quit_if_idle(self_ptr self);

/// Ends the owner with `reason`, telling its directory first
/// (`owner_ended`: it is not linked to it). The actor quits unless it
/// hosts a channel that goes on (never on an error).
void end_owner(self_ptr self, caf::error reason = {});

/// The down handler's owner side; returns whether the down was the
/// owner's alone (a logic instance, the successor of a forwarder).
bool on_owner_down(self_ptr self, caf::down_msg& dm);

/// The exit handler's owner side: ends the owner with the exit's reason.
void on_owner_exit(self_ptr self, caf::exit_msg& em);

/// The channel part stopped: the owner part ends too if it is idle or a
/// forwarder, else goes on alone.
void on_channel_stopped(self_ptr self);

/// The channel the event of a client came through: the sending channel,
/// or this actor when it came from this node and not from this node's
/// channel actor (a subscriber of the channel hosting the owner).
channel_actor via_of(self_ptr self);

/// The app (and this node's connections) went down with this owner: if
/// only this node had subscribers nobody rebuilds the channel, so its
/// leave webhooks go out now (member_removed, channel_vacated).
void lost_with_app(self_ptr self);

/// A node's channel ended while it had subscribers: its members get a
/// grace period to come back (a shorter one if the link to its node broke:
/// `node_died`).
void channel_lost(self_ptr self, const caf::actor_addr& channel,
                  bool node_died);

/// Forgets `node` silently unless it joined or synced since `generation`.
void forget_node_if(self_ptr self, const std::string& node,
                    uint64_t generation);

/// Answers a join (after the app logic gates, if any).
caf::typed_response_promise<owner_joined> on_join(self_ptr self,
                                                  owner_join& join);

/// One subscriber leaves.
void on_leave(self_ptr self, const owner_leave& leave);

/// A node tells everything it has (idempotent).
owner_synced on_sync(self_ptr self, owner_sync& sync);

/// The channel's owner node died (a standby's copy): its members get the
/// grace to sync (3 s), then channel_vacated unless someone is subscribed. Only
/// a young owner without a handoff acts, once.
void on_lost_owner_copy(self_ptr self, lost_owner_copy& lost);

/// Apps with webhooks: tells the directory whether the channel is occupied
/// and by which members, for the standby's copy.
void keep_occupancy(self_ptr self);

/// Relays a (decided) client event.
void relay_client_event(self_ptr self, client_event ce);

/// A client event from a channel: through the app logic, then relayed.
void on_client_event(self_ptr self, client_event& ce);

/// Caches (cache kinds) without numbering: events held while settling.
void cache_published(self_ptr self, const channel_event& ev);

/// Caches (cache kinds), numbers and fans out a published event.
publish_ack on_publish(self_ptr self, publish_event& pe);

/// Whether a publish's publisher stopped waiting (publish_event::give_up_ms),
/// with a margin for the answer's way back.
bool publish_expired(uint64_t give_up_ms);

/// Departing members whose grace ended leave.
void on_departed(self_ptr self);

/// The cache timer fired.
void on_expire(self_ptr self);

/// Takes over a predecessor's state.
owner_ref on_handoff(self_ptr self, owner_handoff& h);

/// Returns the state to hand to a successor.
owner_handoff make_handoff(self_ptr self);

/// Returns what the HTTP API reports about the channel.
channel_report report(self_ptr self);

/// Sends the subscription count (when the app and the kind have them).
void send_subscription_count(self_ptr self, const std::string& exclude = {});

// -- shared by owner_ops.cpp and owner_succession.cpp ---------------------------

/// A young owner that got no handoff is rebuilt from the edges after its
/// predecessor died; it removes members that lived on the dead node.
constexpr auto rebuild_window = std::chrono::seconds(10);

/// Tells the channel's subscribers and the webhooks that `user_id` joined.
void member_added(self_ptr self, const std::string& user_id,
                  const std::string& user_info, const std::string& exclude);

/// Users not members now get `grace` to come back before member_removed;
/// of two deadlines for one user the earlier wins.
void expect_back(self_ptr self, const std::vector<std::string>& users,
                 caf::timespan grace);

/// Replaces what the owner knows of `node` silently (a sync or handoff).
void set_node_state(self_ptr self, const std::string& node,
                    uint64_t subscribers, channel_actor channel,
                    const std::vector<roster_entry>& members, bool synced);

/// The roster's members as protocol entries.
std::vector<roster_entry> roster_entries(const presence_roster& roster);

/// The cache channel's last-event slot; only cache channels have one,
/// allocated on first use.
cached_event& cache_of(owner_state& st);

/// Whether a cache channel holds an unexpired event.
bool cache_live(self_ptr self);

/// Holds `event` as the cache channel's last event for `ttl`.
void hold_cache(self_ptr self, std::string event, std::string data,
                caf::timespan ttl);

} // namespace starling::owner_ops
