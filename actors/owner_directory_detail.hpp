// Internal to the owner directory (owner_directory.cpp and the owner_*.cpp
// files it is split into): the lookups, owner lifecycle and logic state
// its parts share.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "actors/owner_directory.hpp"

namespace starling::directory_detail {

using self_ptr = owner_directory_actor::stateful_pointer<directory_state>;

/// Parked work (publishes waiting for an owner) runs again this often.
constexpr auto park_delay = std::chrono::milliseconds(100);

/// Whether other nodes share the channels (a bridge and a view of two+).
bool clustered(self_ptr self);

/// Whether this node knows it is alone: no bridge, or no peer answered
/// its first announce in time. While it does not know yet, owners are
/// not looked up (callers retry): an owner it spawned alone would number
/// events that nobody else's channels follow.
bool alone(self_ptr self);

/// Milliseconds of the system clock (owners number from it).
uint64_t system_ms();

/// Calls `f` with the owner of `name`, spawning or looking it up first.
void with_owner(self_ptr self, const std::string& name, owner_callback f);

/// Forgets `owner` of `name` after it was found gone.
void forget_owner(self_ptr self, const std::string& name,
                  const owner_actor& owner);

/// Runs `f` after the next membership change or retry tick.
void park(self_ptr self, std::function<void()> f);

/// Hands `req` to every channel's owner; answers once all numbered it
/// (owner_publish.cpp).
caf::typed_response_promise<caf::ok_atom> on_publish(self_ptr self,
                                                     publish_request& req);

/// GET /channels: the occupied channels of this node's owners and, unless
/// `req.local_only`, of the other nodes (owner_channels.cpp).
caf::typed_response_promise<std::vector<channel_report>>
on_channels(self_ptr self, const channels_request& req);

/// The app's owners part of /topology: one page of the owners living here,
/// each asked for its counts (owner_topology.cpp).
caf::typed_response_promise<std::string>
on_topology(self_ptr self, const topology_request& req);

// -- logic state beyond owners (owner_snapshots.cpp) ----------------------------

/// Sets the store's bounds from the app's settings.
void init_logic_states(self_ptr self);

/// An owner here kept new snapshots: they are kept here and copied to the
/// channel's standby node (rate limited).
void on_snapshot_kept(self_ptr self, logic_snapshot_kept& msg);

/// An owner here (app with webhooks): its channel's occupancy and members
/// changed; copied to the channel's standby node (rate limited).
void on_occupancy_kept(self_ptr self, occupancy_kept& msg);

/// A new owner asks what is kept of its channel.
std::vector<logic_state> on_state_request(self_ptr self,
                                          const logic_state_request& req);

/// A peer's copy (or its drop, when empty).
caf::ok_atom on_state_copy(self_ptr self, standby_copy& copy);

/// The copy timer: sends what the rate limit held back.
void on_copy_tick(self_ptr self);

/// The view changed: own channels' snapshots and occupancy go to their
/// (new) standby.
void copy_all(self_ptr self);

/// The view changed: channels whose copy came from a node no longer in it
/// go to their owner under the new view (lost_owner_copy), once.
void take_over_lost(self_ptr self);

/// The owner of `name` here ended: idle (`crashed` false) drops what is
/// kept of the channel here and at its standby; a crash keeps it for the
/// rebuilt owner.
void logic_owner_ended(self_ptr self, const std::string& name, bool crashed);

/// The owner of `name` handed over: its successor carries the state.
void logic_owner_moved(self_ptr self, const std::string& name);

// -- owner_directory.cpp ----------------------------------------------------------

/// The owner of `name` on this node, made on first use (watched, not
/// linked): hosted by `host` (this node's channel of that name) if given,
/// else in an actor of its own. `asked_by_peer`: another node resolved the
/// owner to us.
owner_actor owner_for(self_ptr self, const std::string& name,
                      bool asked_by_peer = false,
                      const channel_actor* host = nullptr);

// -- owner_endings.cpp: owners are not linked to the directory ------------------

/// An owner or forwarder (`source`) ended, idle or `crashed` (`why` is
/// logged): forgotten if still held; a crashed one whose channel has
/// subscribers here is rebuilt at once.
void on_owner_ended(self_ptr self, const std::string& name,
                    const caf::actor_addr& source, bool crashed,
                    const std::string& why, uint64_t seq = 0);

/// A watched owner or forwarder ended; one that failed without saying
/// owner_ended is found by a search (failures only).
void on_local_owner_down(self_ptr self, const caf::down_msg& dm);

/// Attaches the functor that ends every owner and forwarder when the
/// directory fails, with its reason.
void end_owners_on_failure(self_ptr self);

/// Fault injection: crashes this node's owner (or logic beside it).
caf::result<caf::ok_atom> on_crash(self_ptr self, crash_request& req);

} // namespace starling::directory_detail
