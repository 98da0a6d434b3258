// Children kept without a CAF link (a link is an 80 B entry pair per
// child): their parent ends them itself when it fails, with the exit
// message a link would have sent.
#pragma once

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/error.hpp>
#include <caf/system_messages.hpp>
#include <caf/make_message.hpp>
#include <caf/message_id.hpp>

namespace starling {

/// Sends `child` the exit a link to a parent failing with `reason` would
/// (naming the child itself as the source, as CAF's anonymous exits do).
template <class Handle>
void end_unlinked_child(const Handle& child, const caf::error& reason) {
  if (auto ptr = caf::actor_cast<caf::strong_actor_ptr>(child))
    ptr->enqueue(nullptr, caf::make_message_id(),
                 caf::make_message(caf::exit_msg{ptr->address(), reason}),
                 nullptr);
}

} // namespace starling
