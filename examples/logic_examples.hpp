// Example app logic actors (see actors/logic.hpp for the API and README
// "App logic" for the config): a client-event filter, a subscription gate
// and a ticker. examples/main.cpp registers them under these names.
#pragma once

#include <caf/all.hpp>

#include "actors/logic.hpp"

namespace starling::examples {

/// "chat_filter": client events whose data has a "text" string get bad
/// words starred out (rewrite), messages with "spam" are dropped, and the
/// sender gets a `logic-ack` answer either way. On presence channels it
/// publishes `logic-members` with the member count after every change.
using chat_filter_actor = logic_actor<client_event_hook, member_hook>;
chat_filter_actor::behavior_type chat_filter(chat_filter_actor::pointer self,
                                             logic_handle handle);

/// "vip_gate": refuses subscriptions unless the user id (presence member or
/// signed-in user) starts with "vip".
using vip_gate_actor = logic_actor<subscribe_hook>;
vip_gate_actor::behavior_type vip_gate(vip_gate_actor::pointer self,
                                       logic_handle handle);

/// Ticker timer (its own message, no hook).
using tick_atom = caf::atom_constant<caf::atom("ex_tick")>;

/// "ticker": publishes `tick` with {"seq":N} every 200 ms on its channel
/// (channel-bound) or on "ticker" (app-bound), from a delayed_send timer.
/// It handles no hook: the runtime never asks it anything.
using ticker_actor = logic_actor<caf::reacts_to<tick_atom>>;
ticker_actor::behavior_type ticker(ticker_actor::pointer self,
                                   logic_handle handle);

/// Registers the example logic actors under their names (these three,
/// hook_examples.hpp and presence_lobby.hpp).
void register_examples(logic_registry& registry);

} // namespace starling::examples
