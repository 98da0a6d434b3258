// Example app logic on the HTTP API and signin hooks: a publish filter and a
// signin gate. examples/register.cpp registers them under these names.
#pragma once

#include <caf/all.hpp>

#include "actors/logic.hpp"

namespace starling::examples {

/// "publish_filter": HTTP API publishes whose data contains "spam" are
/// dropped (the publisher gets 403), `shout` events go out as `message`
/// with their data in capitals, everything else passes.
using publish_filter_actor = logic_actor<publish_hook>;
publish_filter_actor::behavior_type
publish_filter(publish_filter_actor::pointer self, logic_handle handle);

/// "signin_gate" (bind it without `channels`): refuses users whose id
/// starts with "banned" (pusher:error 4009, then close 4009).
using signin_gate_actor = logic_actor<signin_hook>;
signin_gate_actor::behavior_type signin_gate(signin_gate_actor::pointer self,
                                             logic_handle handle);

} // namespace starling::examples
