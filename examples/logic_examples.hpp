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
caf::behavior chat_filter(caf::event_based_actor* self, logic_handle handle);

/// "vip_gate": refuses subscriptions unless the user id (presence member or
/// signed-in user) starts with "vip".
caf::behavior vip_gate(caf::event_based_actor* self, logic_handle handle);

/// "ticker": publishes `tick` with {"seq":N} every 200 ms on its channel
/// (channel-bound) or on "ticker" (app-bound), from a delayed_send timer.
caf::behavior ticker(caf::event_based_actor* self, logic_handle handle);

/// Registers the three under their names.
void register_examples(logic_registry& registry);

} // namespace starling::examples
