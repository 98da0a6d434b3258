// How a channel actor hosts its channel's owner (channel.hpp,
// channel_owner.hpp): the handlers both parts share (a failure, a down,
// an exit), and the channel going on when its owner part ends.
#include "actors/channel.hpp"
#include "actors/channel_owner.hpp"
#include "actors/owner_ops.hpp"

#include <mutex>
#include <unordered_set>

#include <caf/all.hpp>

namespace starling {

const std::string node_names::none;

const std::string* node_names::of(const std::string& id) {
  if (id.empty())
    return &none;
  // Node ids are few and live as long as the process: never freed.
  static std::mutex mtx;
  static std::unordered_set<std::string> ids;
  std::lock_guard<std::mutex> guard{mtx};
  return &*ids.insert(id).first;
}

namespace channel_detail {

bool channel_active(const channel_state& st) {
  return static_cast<bool>(st.app);
}

void owner_part_ended(channel_flyweight self) {
  auto& st = self->state;
  st.retired_owner = std::move(st.owner_part);
  self->become(channel_handlers());
  if (st.owner && st.owner.address() == self->address())
    lose_owner(self, false);
}

// The app's replacement resumes after the last number delivered, and the
// subscribers re-join it.
void tell_crashed(channel_flyweight self) {
  auto& st = self->state;
  if (!channel_active(st))
    return;
  channel_crashed crashed{st.channel, st.last_seq};
  self->send(st.app, crashed);
  for (auto& sub : st.subscribers)
    self->send(sub.connection, crashed);
}

void install_handlers(channel_flyweight self) {
  self->set_exception_handler(
    [self](caf::scheduled_actor* ptr, std::exception_ptr& x) -> caf::error {
      auto& st = self->state;
      // Neither part is linked to its parent: both learn it from us.
      if (st.owner_part)
        self->send(st.directory,
                   owner_ended{st.channel, true,
                               channel_active(st) ? st.owner_part->seq : 0});
      tell_crashed(self);
      return caf::scheduled_actor::default_exception_handler(ptr, x);
    });
  self->set_down_handler([self](caf::down_msg& dm) {
    if (self->state.owner_part && owner_ops::on_owner_down(self, dm))
      return;
    on_channel_down(self, dm);
  });
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    // An exit aimed at the owner ends the channel with it: its subscribers
    // re-join as after a crash. Not one from a failing parent (its functor
    // names us as the source; end_unlinked_child), which ends them too.
    if (em.reason && st.owner_part && em.source != self->address()
        && em.source != st.app.address())
      tell_crashed(self);
    if (st.owner_part)
      owner_ops::on_owner_exit(self, em);
    else if (em.reason)
      self->quit(std::move(em.reason));
  });
  // A call for an owner part that ended (a caller with an older view):
  // answered as if its actor had ended, so the caller asks again.
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::sec::request_receiver_down;
    });
}

} // namespace channel_detail

} // namespace starling
