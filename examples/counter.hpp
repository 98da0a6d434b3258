// Example logic "counter": the smallest actor whose state survives a crash
// and an owner move (snapshot_hook / restore_hook of actors/logic.hpp).
#pragma once

#include <caf/all.hpp>

#include "actors/logic.hpp"

namespace starling::examples {

/// "counter": numbers the client events of its channel: each goes out with
/// its data replaced by {"count":N} (N = 1, 2, ... per channel). The count
/// is its snapshot (decimal text), so it goes on after a restart and on the
/// channel's next owner node.
using counter_actor = logic_actor<client_event_hook, snapshot_hook, restore_hook>;
counter_actor::behavior_type counter(counter_actor::pointer self,
                                     logic_handle handle);

} // namespace starling::examples
