// The order of a local channel's events (actors/channel_order.cpp): the
// part of the channel actor that holds a later number for a missing one,
// has the owner replay what the bus lost, and delivers a concurrent owner's
// events aside. Internal to the channel actor.
#pragma once

#include "actors/channel.hpp"

namespace starling::channel_detail {

using self_ptr = channel_flyweight;

/// Takes one event of the owner or the bus into the channel's order.
void on_event(self_ptr self, channel_event& ev);

/// Asks the owner for what followed the last delivered number (a gap, the
/// bus came back, a crashed predecessor); delivers what is held.
void ask_replay(self_ptr self);

/// Whether subscribers of a crashed predecessor may still rejoin (clears
/// the resume state once its window passed).
bool resuming(channel_state& st);

/// Whether two numbers are of one owner's numbering (a successor that took
/// the state over continues it; a rebuilt owner starts from its clock).
bool same_numbering(uint64_t a, uint64_t b);

/// Hands one event to every local subscriber (actors/channel.cpp).
void deliver_now(self_ptr self, const channel_event& ev);

/// Keeps an event that reached the channel before any subscriber, for the
/// joins still waiting for their answer (actors/channel.cpp).
void keep_for_joiners(self_ptr self, const channel_event& ev);

} // namespace starling::channel_detail
