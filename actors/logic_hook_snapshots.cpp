// The state part of an owner's logic hooks (logic_hooks.hpp): starting the
// channel-bound instances from what the owner directory kept of the
// channel, telling it every snapshot kept, and the snapshots a handoff
// carries out and in.
#include "actors/logic_hooks.hpp"

#include <caf/all.hpp>

#include "actors/channel_owner.hpp"
#include "actors/owner_ops.hpp"

namespace starling {

namespace {

// The directory answers at once (it is on this node); past this the
// instances start without the state it keeps.
constexpr auto state_request_timeout = std::chrono::seconds(1);

} // namespace

// Starts the channel-bound instances. Those that keep state start once the
// directory said what it kept of the channel (a crashed owner's last
// snapshots, or a dead node's copy): questions wait for them meanwhile.
void owner_hooks::start_own(const std::vector<std::size_t>& own,
                            logic_handle base) {
  auto self = self_;
  bool keeps_state = false;
  for (auto i : own)
    keeps_state = keeps_state || table_->bindings[i].keeps_state();
  own_ = logic_instances::start(
    self, table_, own, std::move(base),
    [this] { wake(); }, // Questions wait for restarts.
    [self](const caf::actor& instance, caf::timespan timeout, bool urgent,
           std::function<void(caf::expected<std::string>)> done) {
      auto handle = self->request(instance, timeout,
                                  logic_snapshot_atom::value);
      auto ok = [done](std::string& s) { done(std::move(s)); };
      auto err = [done](caf::error& e) { done(std::move(e)); };
      if (urgent)
        handle.await(ok, err);
      else
        handle.then(ok, err);
    },
    keeps_state);
  if (!keeps_state)
    return;
  if (!self->state.directory) {
    own_->begin({});
    return;
  }
  // The directory keeps them beyond this owner (and copies them to the
  // node that takes the channel over should this one die).
  own_->on_kept([self, channel = channel_](std::vector<logic_state> states) {
    self->send(self->state.directory,
               logic_snapshot_kept{channel, std::move(states)});
  });
  std::weak_ptr<logic_instances> weak = own_;
  // Runs while the owner lives (a response handler), so `this` does too.
  auto begin = [this, weak](const std::vector<logic_state>& states) {
    auto sup = weak.lock();
    if (!sup)
      return;
    sup->begin(states);
    auto notes = std::move(held_notes_);
    held_notes_.clear();
    for (auto& note : notes)
      note();
  };
  self
    ->request(self->state.directory, state_request_timeout,
              logic_state_request{channel_})
    .then([begin](std::vector<logic_state>& states) { begin(states); },
          [begin](caf::error&) { begin({}); });
}

void owner_hooks::refresh_snapshots(std::function<void()> done) {
  if (own_)
    own_->refresh(std::move(done));
  else
    done();
}

std::vector<logic_state> owner_hooks::snapshots() const {
  return own_ ? own_->snapshots() : std::vector<logic_state>{};
}

void owner_hooks::restore(const std::vector<logic_state>& states) {
  if (own_ && !states.empty())
    own_->restore(states);
}

} // namespace starling
