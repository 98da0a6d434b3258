// The order of a local channel's events: a later number waits briefly for a
// missing one, the owner replays what the bus lost, events of a concurrent
// owner go out aside. Split from actors/channel.cpp (same actor).
#include "actors/channel_order.hpp"

#include <caf/all.hpp>

#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling::channel_detail {

namespace {

// Events held behind a gap wait this long for a replay, asked this many
// times (a loaded node answers late; giving up loses events).
constexpr auto replay_timeout = std::chrono::seconds(2);
constexpr uint8_t max_replay_attempts = 5;

// How long a later event waits for a missing number, and how many wait.
constexpr auto gap_wait = std::chrono::milliseconds(50);
constexpr std::size_t max_gap_events = 1024;

// Events of a concurrent owner remembered against double delivery.
constexpr std::size_t max_foreign = 256;

// Whether `ev` went out already as another owner's event (on_event).
bool delivered_aside(const channel_state& st, const channel_event& ev) {
  if (!st.extras)
    return false;
  for (auto& [origin, seq] : st.extras->foreign)
    if (seq == ev.seq && origin == ev.origin)
      return true;
  return false;
}

// Delivers the held events that now follow in order.
void drain_gap(self_ptr self) {
  auto& st = self->state;
  while (st.has_gap()) {
    auto& gap = st.extras->gap;
    auto i = gap.begin();
    if (i->first <= st.last_seq) {
      gap.erase(i);
      continue;
    }
    if (i->first != st.last_seq + 1)
      return;
    st.last_seq = i->first;
    if (!delivered_aside(st, i->second))
      deliver_now(self, i->second);
    gap.erase(i);
  }
}

// The missing numbers did not come (lost, or a new owner numbering from
// its own base): deliver what was held, in order.
void flush_gap(self_ptr self) {
  auto& st = self->state;
  if (!st.has_gap())
    return;
  auto held = std::move(st.extras->gap);
  st.extras->gap.clear();
  for (auto& [seq, ev] : held)
    if (seq > st.last_seq) {
      st.last_seq = seq;
      if (!delivered_aside(st, ev))
        deliver_now(self, ev);
    }
}

// The events after the last one delivered are gone for good: no silent
// gap. The clients reconnect (4200) and resubscribe, and see a fresh state.
void close_for_loss(self_ptr self, const char* why) {
  auto& st = self->state;
  component_logger("channel")->warn(
    "events lost ({}) channel={} last_seq={}: closing its {} subscribers "
    "with 4200",
    why, st.channel, st.last_seq, st.subscribers.size());
  for (auto& sub : st.subscribers)
    if (sub.link)
      sub.link->close_with_error(
        4200, "events of " + st.channel + " were lost; reconnect");
}

void hold_for_gap(self_ptr self, channel_event ev) {
  auto& st = self->state;
  auto& gap = st.more().gap;
  gap.emplace(ev.seq, std::move(ev));
  if (gap.size() > max_gap_events) {
    flush_gap(self);
    return;
  }
  if (!st.gap_timer) {
    st.gap_timer = true;
    self->delayed_send(self, gap_wait, gap_atom::value);
  }
}

// An event numbered by an owner this channel does not follow, far off its
// numbers: while the cluster was split both sides had an owner (each
// numbering from its own clock base, 2^20 a millisecond), and both accepted
// events. Such an event goes out at once, outside the order of the
// followed owner, whose numbers it must not move (they would hide its next
// events). A successor continuing the numbers stays in the order.
constexpr uint64_t foreign_distance = uint64_t{1} << 20;

bool is_foreign(const channel_state& st, const channel_event& ev) {
  if (!st.owner || st.owner_lost || st.owner_node->empty()
      || ev.origin.empty() || ev.origin == *st.owner_node || st.last_seq == 0)
    return false;
  return !same_numbering(ev.seq, st.last_seq);
}

void deliver_aside(self_ptr self, const channel_event& ev) {
  auto& st = self->state;
  if (delivered_aside(st, ev))
    return;
  auto& foreign = st.more().foreign;
  if (foreign.size() >= max_foreign)
    foreign.erase(foreign.begin());
  foreign.emplace_back(ev.origin, ev.seq);
  deliver_now(self, ev);
}

} // namespace

bool same_numbering(uint64_t a, uint64_t b) {
  return (a > b ? a - b : b - a) < foreign_distance;
}

// Asks the owner for the events after the last one delivered (the bus lost
// some: NATS was down or restarted; or this channel replaces a crashed one)
// and delivers them in order.
void ask_replay(self_ptr self) {
  auto& st = self->state;
  if (st.replaying)
    return; // Its answer delivers what is held.
  // A local owner hands its events over directly: nothing to ask again,
  // unless our crashed predecessor lost some in its mailbox.
  bool local = st.owner_node->empty() || *st.owner_node == st.ctx->node_id;
  if (!st.owner || (local && !resuming(st)) || st.subscribers.empty()) {
    flush_gap(self);
    return;
  }
  st.replaying = true;
  auto asked = st.owner;
  self->request(st.owner, replay_timeout, replay_request{st.last_seq})
    .then(
      [self](replay_events& r) {
        auto& st = self->state;
        st.replaying = false;
        st.replay_attempts = 0;
        for (auto& ev : r.events)
          if (ev.seq > st.last_seq)
            st.more().gap.emplace(ev.seq, std::move(ev));
        drain_gap(self);
        // A gap the owner has no events for is a jump in its numbers (a
        // successor that numbered before it got the handoff), not a loss:
        // what it sent to other nodes it keeps until the bound.
        if (!r.complete && !st.subscribers.empty())
          close_for_loss(self, "beyond the owner's replay bound");
        flush_gap(self);
      },
      [self, asked](caf::error& err) {
        auto& st = self->state;
        st.replaying = false;
        // The owner ended: its successor numbers anew (learn_owner_node).
        if (err != caf::sec::request_timeout || st.owner != asked
            || st.subscribers.empty()) {
          st.replay_attempts = 0;
          flush_gap(self);
          return;
        }
        if (++st.replay_attempts < max_replay_attempts) {
          // Ask again; the held events keep waiting.
          if (!st.gap_timer) {
            st.gap_timer = true;
            self->delayed_send(self, gap_wait, gap_atom::value);
          }
          return;
        }
        st.replay_attempts = 0;
        close_for_loss(self, "the owner did not answer a replay");
        flush_gap(self);
      });
}

void on_event(self_ptr self, channel_event& ev) {
  auto& st = self->state;
  if (!st.subscribers.empty() && is_foreign(st, ev)) {
    deliver_aside(self, ev);
    return;
  }
  // One order: drop anything not newer than what was delivered.
  if (ev.seq <= st.last_seq)
    return;
  if (st.subscribers.empty()) {
    // A crashed predecessor's subscribers rejoin after its last number: the
    // owner replays from there, so the bar stays.
    if (!resuming(st)) {
      st.last_seq = ev.seq;
      // The first join's answer may carry an older number (it comes through
      // the middleman, the event by the bus): its joiner gets this one too.
      keep_for_joiners(self, ev);
    }
    return;
  }
  if (st.last_seq != 0 && ev.seq != st.last_seq + 1) {
    // A gap: the missing event may still be on its way by another path (a
    // predecessor's last events leave on its own NATS connection, which
    // NATS does not order against the successor's).
    hold_for_gap(self, std::move(ev));
    return;
  }
  st.last_seq = ev.seq;
  deliver_now(self, ev);
  drain_gap(self);
}

bool resuming(channel_state& st) {
  if (!st.extras || st.extras->resume_seq == 0)
    return false;
  if (std::chrono::steady_clock::now() < st.extras->resume_until)
    return true;
  st.extras->resume_seq = 0;
  return false;
}

} // namespace starling::channel_detail
