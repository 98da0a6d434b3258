// Logic state beyond owners, for the owner directory
// (owner_directory_detail.hpp): the latest snapshots of the channel-bound
// logic of this node's owners, kept here so a rebuilt owner (after a crash)
// restores from them, and copied to each channel's standby node (the one
// the ring names should this node die), at most once per channel per
// apps[].logic_state.copy_interval_ms, the latest winning. Copies peers
// send are kept the same way: an owner rebuilt here after their node died
// restores from them. Bounded by apps[].logic_state (snapshots, bytes).
#include "actors/owner_directory_detail.hpp"

#include <caf/all.hpp>

#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling::directory_detail {

namespace {

// A copy crosses one node; a standby that is slower loses this copy (the
// next change sends another).
constexpr auto copy_timeout = std::chrono::seconds(3);

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

// Sends what is kept of `channel` (nothing: a drop) to its standby node.
void send_copy(self_ptr self, const std::string& channel) {
  auto& st = self->state;
  if (!clustered(self))
    return;
  logic_state_copy copy{st.ctx->app.id, channel, st.ctx->node_id, {}};
  if (auto e = st.logic_states.find(channel))
    copy.states = e->states;
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

std::vector<logic_state> on_state_request(self_ptr self,
                                          const logic_state_request& req) {
  if (auto e = self->state.logic_states.find(req.channel))
    return e->states;
  return {};
}

caf::ok_atom on_state_copy(self_ptr self, logic_state_copy& copy) {
  auto& st = self->state;
  st.ctx->counters->logic_copies_received.fetch_add(1,
                                                    std::memory_order_relaxed);
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
  if (!clustered(self))
    return;
  for (auto& [channel, e] : st.logic_states.entries())
    if (st.owners.count(channel) > 0)
      schedule_copy(self, channel);
}

void logic_owner_ended(self_ptr self, const std::string& name, bool crashed) {
  auto& st = self->state;
  if (crashed)
    return; // The rebuilt owner restores from what is kept.
  st.logic_states.erase(name);
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
  st.copies.erase(name);
  update_gauges(self);
}

} // namespace starling::directory_detail
