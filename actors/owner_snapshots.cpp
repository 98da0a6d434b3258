// Owner state beyond owners and nodes, for the owner directory
// (owner_directory_detail.hpp): the latest snapshots of the channel-bound
// logic of this node's owners, kept here so a rebuilt owner (after a crash)
// restores from them, and, for apps with webhooks, which of their channels
// are occupied and by whom. Both are copied to each channel's standby node
// (the one the ring names should this node die), at most once per channel
// per apps[].logic_state.copy_interval_ms, the latest winning. Copies peers
// send are kept the same way: an owner rebuilt here after their node died
// restores from them, and when their node leaves the view the channel's new
// owner hears what it had, so members and occupancy that died with it get
// their leave webhooks. Snapshots are bounded by apps[].logic_state
// (snapshots, bytes), occupancy copies by max_occupancy_copies.
#include "actors/owner_directory_detail.hpp"

#include <caf/all.hpp>

#include <unordered_set>

#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling::directory_detail {

namespace {

// A copy crosses one node; a standby that is slower loses this copy (the
// next change sends another).
constexpr auto copy_timeout = std::chrono::seconds(3);

// Occupied channels of other nodes kept here; past it, new ones are not
// kept (their leave webhooks would be missing after a kill -9 of their
// node), and a warning says so once.
constexpr std::size_t max_occupancy_copies = 200'000;

caf::timespan copy_interval(self_ptr self) {
  return std::chrono::milliseconds(
    self->state.ctx->app.logic_state.copy_interval_ms);
}

void update_gauges(self_ptr self) {
  auto& st = self->state;
  st.logic_states_gauge.set(st.logic_states.snapshots());
  st.logic_bytes_gauge.set(st.logic_states.bytes());
}

void keep(self_ptr self, const std::string& channel, std::string from,
          std::vector<logic_state> states) {
  auto& st = self->state;
  auto evicted = st.logic_states.put(channel, std::move(from),
                                     std::move(states));
  if (evicted > 0) {
    st.ctx->counters->logic_states_evicted.fetch_add(
      evicted, std::memory_order_relaxed);
    component_logger("logic")->debug("logic snapshots evicted app={} "
                                     "channels={} (apps[].logic_state)",
                                     st.ctx->app.id, evicted);
  }
  update_gauges(self);
}

// Sends what is kept of `channel` (nothing, or `drop`: a drop) to its
// standby node.
void send_copy(self_ptr self, const std::string& channel, bool drop = false) {
  auto& st = self->state;
  if (!clustered(self))
    return;
  standby_copy copy{st.ctx->app.id, channel, st.ctx->node_id, {}, false, {}};
  if (auto e = st.logic_states.find(channel); e && !drop)
    copy.states = e->states;
  if (auto o = st.occupied_here.find(channel);
      o != st.occupied_here.end() && !drop) {
    copy.occupied = true;
    copy.members = o->second;
  }
  auto counters = st.ctx->counters;
  self
    ->request(st.bridge, copy_timeout,
              standby_node_request{st.ctx->app.id, channel})
    .then(
      [self, copy, counters](node_actor& node) mutable {
        if (!node)
          return; // No other node.
        self->request(node, copy_timeout, std::move(copy))
          .then(
            [counters](caf::ok_atom) {
              counters->logic_copies_sent.fetch_add(
                1, std::memory_order_relaxed);
            },
            [counters](caf::error&) {
              counters->logic_copies_failed.fetch_add(
                1, std::memory_order_relaxed);
            });
      },
      [counters](caf::error&) {
        counters->logic_copies_failed.fetch_add(1, std::memory_order_relaxed);
      });
}

void arm_tick(self_ptr self) {
  auto& st = self->state;
  if (st.copy_tick)
    return;
  st.copy_tick = true;
  self->delayed_send(self, copy_interval(self), copy_atom::value);
}

// Copies `channel` now, or when its rate limit allows (the latest then).
void schedule_copy(self_ptr self, const std::string& channel) {
  auto& st = self->state;
  if (!clustered(self))
    return;
  auto now = self->clock().now();
  auto [i, fresh] = st.copies.try_emplace(channel);
  auto& slot = i->second;
  if (!slot.due && (fresh || now - slot.last >= copy_interval(self))) {
    slot.last = now;
    send_copy(self, channel);
    return;
  }
  slot.due = true;
  arm_tick(self);
}

} // namespace

void init_logic_states(self_ptr self) {
  auto& st = self->state;
  auto& cfg = st.ctx->app.logic_state;
  st.logic_states = logic_state_store{cfg.max_snapshots, cfg.max_bytes};
  st.logic_states_gauge.attach(&st.ctx->counters->logic_states);
  st.logic_bytes_gauge.attach(&st.ctx->counters->logic_state_bytes);
}

void on_snapshot_kept(self_ptr self, logic_snapshot_kept& msg) {
  auto& st = self->state;
  // Only the channel's owner here (a forwarder's late word is older).
  auto i = st.owners.find(msg.channel);
  if (i == st.owners.end() || i->second.address() != self->current_sender())
    return;
  keep(self, msg.channel, st.ctx->node_id, std::move(msg.states));
  schedule_copy(self, msg.channel);
}

void on_occupancy_kept(self_ptr self, occupancy_kept& msg) {
  auto& st = self->state;
  auto i = st.owners.find(msg.channel);
  if (i == st.owners.end() || i->second.address() != self->current_sender())
    return;
  // Alone there is no standby to copy to; owners report again on every
  // view change (bridge_changed), so a cluster that forms later has all.
  if (!clustered(self))
    return;
  if (msg.occupied)
    st.occupied_here[msg.channel] = std::move(msg.members);
  else if (st.occupied_here.erase(msg.channel) == 0)
    return; // Nothing was copied.
  schedule_copy(self, msg.channel);
}

std::vector<logic_state> on_state_request(self_ptr self,
                                          const logic_state_request& req) {
  if (auto e = self->state.logic_states.find(req.channel))
    return e->states;
  return {};
}

caf::ok_atom on_state_copy(self_ptr self, standby_copy& copy) {
  auto& st = self->state;
  st.ctx->counters->logic_copies_received.fetch_add(1,
                                                    std::memory_order_relaxed);
  auto o = st.occupancy_copies.find(copy.channel);
  if (copy.occupied && o != st.occupancy_copies.end()) {
    o->second = {copy.from, std::move(copy.members)};
  } else if (copy.occupied
             && st.occupancy_copies.size() < max_occupancy_copies) {
    st.occupancy_copies.emplace(
      copy.channel,
      directory_state::occupancy_copy{copy.from, std::move(copy.members)});
  } else if (copy.occupied && !st.occupancy_copies_warned) {
    st.occupancy_copies_warned = true;
    component_logger("app")->warn(
      "occupancy copies full app={} max={}: leave webhooks of further "
      "channels are lost if their owner's node dies",
      st.ctx->app.id, max_occupancy_copies);
  } else if (!copy.occupied && o != st.occupancy_copies.end()
             && o->second.from == copy.from) {
    st.occupancy_copies.erase(o);
  }
  if (copy.states.empty()) {
    // The channel ended there: a copy of its (older) state would wake it.
    st.logic_states.erase(copy.channel, copy.from);
    update_gauges(self);
  } else {
    keep(self, copy.channel, std::move(copy.from), std::move(copy.states));
  }
  return caf::ok_atom::value;
}

void on_copy_tick(self_ptr self) {
  auto& st = self->state;
  st.copy_tick = false;
  auto now = self->clock().now();
  bool waiting = false;
  for (auto& [channel, slot] : st.copies) {
    if (!slot.due)
      continue;
    if (now - slot.last < copy_interval(self)) {
      waiting = true;
      continue;
    }
    slot.due = false;
    slot.last = now;
    send_copy(self, channel);
  }
  if (waiting)
    arm_tick(self);
}

void copy_all(self_ptr self) {
  auto& st = self->state;
  // Slots of channels whose owner crashed and was never rebuilt here.
  for (auto i = st.copies.begin(); i != st.copies.end();)
    if (st.owners.count(i->first) == 0)
      i = st.copies.erase(i);
    else
      ++i;
  if (!clustered(self)) {
    st.occupied_here.clear();
    return;
  }
  for (auto& [channel, e] : st.logic_states.entries())
    if (st.owners.count(channel) > 0)
      schedule_copy(self, channel);
  // Occupancy: the owners report again (bridge_changed), then it is copied.
}

void take_over_lost(self_ptr self) {
  auto& st = self->state;
  std::unordered_set<std::string> present;
  for (auto& m : st.view.members)
    present.insert(m.node_id);
  for (auto i = st.occupancy_copies.begin(); i != st.occupancy_copies.end();) {
    if (present.count(i->second.from) > 0) {
      ++i;
      continue;
    }
    component_logger("app")->info("owner node lost app={} channel={} node={} "
                                  "members={}: its owner here sends the "
                                  "leave webhooks",
                                  st.ctx->app.id, i->first, i->second.from,
                                  i->second.members.size());
    // The ring names the channel's owner under the new view (this node,
    // unless another went too).
    with_owner(self, i->first,
               [self, lost = lost_owner_copy{std::move(i->second.members)}](
                 caf::expected<owner_actor> owner) mutable {
                 if (owner)
                   self->send(*owner, std::move(lost));
               });
    i = st.occupancy_copies.erase(i);
  }
}

void logic_owner_ended(self_ptr self, const std::string& name, bool crashed) {
  auto& st = self->state;
  if (crashed)
    return; // The rebuilt owner restores from what is kept.
  st.logic_states.erase(name);
  st.occupied_here.erase(name);
  update_gauges(self);
  auto i = st.copies.find(name);
  if (i == st.copies.end())
    return;
  st.copies.erase(i);
  send_copy(self, name); // Nothing kept now: the standby drops its copy.
}

void logic_owner_moved(self_ptr self, const std::string& name) {
  auto& st = self->state;
  // Only our own: the successor may have sent us its copy already.
  st.logic_states.erase(name, st.ctx->node_id);
  st.occupied_here.erase(name);
  // The standby drops what we sent (the successor copies to its own):
  // kept, it would outlive the move and wake if this node died.
  if (st.copies.erase(name) > 0)
    send_copy(self, name, true);
  update_gauges(self);
}

} // namespace starling::directory_detail
