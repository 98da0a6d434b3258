// The owner part's side of sharing an actor with a channel
// (channel_host.cpp has the channel's): how an owner ends, and its share of
// the actor's down and exit handling. Split from owner_ops.cpp.
#include "actors/owner_ops.hpp"

#include <caf/all.hpp>

namespace starling::owner_ops {

void end_owner(self_ptr self, caf::error reason) {
  auto& st = own(self);
  self->send(self->state.directory,
             owner_ended{self->state.channel, static_cast<bool>(reason)});
  if (reason || !channel_detail::channel_active(self->state)) {
    self->quit(std::move(reason));
    return;
  }
  // The channel part goes on without its owner.
  if (st.hooks)
    st.hooks->stop();
  channel_detail::owner_part_ended(self);
}

bool on_owner_down(self_ptr self, caf::down_msg& dm) {
  auto& st = own(self);
  if (st.handed_off) {
    // A forwarder watches only its successor.
    if (dm.source != st.view().successor)
      return false;
    end_owner(self);
    return true;
  }
  if (st.hooks && st.hooks->on_down(dm))
    return true;
  channel_lost(self, dm.source,
               dm.reason == caf::exit_reason::remote_link_unreachable);
  self->send(as_owner(self), idle_atom::value);
  return false;
}

void on_owner_exit(self_ptr self, caf::exit_msg& em) {
  if (em.reason != caf::exit_reason::normal
      && em.reason != caf::exit_reason::user_shutdown)
    lost_with_app(self);
  auto& st = own(self);
  self->send(self->state.directory,
             owner_ended{self->state.channel, static_cast<bool>(em.reason)});
  self->quit(std::move(em.reason));
}

void on_channel_stopped(self_ptr self) {
  if (own(self).handed_off)
    end_owner(self);
  else
    quit_if_idle(self);
}

channel_actor via_of(self_ptr self) {
  auto& st = own(self);
  auto sender = caf::actor_cast<channel_actor>(self->current_sender());
  if (!sender || sender.node() != self->node())
    return sender; // Another node's channel.
  // This node's channel, if it is another actor than ours; else the event
  // came from a subscriber of the channel we host.
  auto here = st.nodes.find(self->state.ctx->node_id);
  if (here != st.nodes.end() && here->second.channel == sender)
    return sender;
  return caf::actor_cast<channel_actor>(self);
}

} // namespace starling::owner_ops
