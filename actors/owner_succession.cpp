// How a channel's owner takes over from its predecessor, and what it leaves
// for a successor (owner_ops.hpp): the handoff of an owner that moves in
// order, and, for apps with webhooks, the occupancy copy its standby node
// keeps so that an owner rebuilt after a kill -9 of its node still sends
// the leave webhooks of what died with it (owner_snapshots.cpp).
#include "actors/owner_ops.hpp"

#include <algorithm>
#include <unordered_set>

#include <caf/all.hpp>

#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling::owner_ops {

namespace {

// A dead owner node's copy (on_lost_owner_copy) starts at the standby's
// view change, before the surviving nodes' (up to a heartbeat or two
// later): their members get this long to sync before they count as gone
// with it. Members a surviving node's sync already named as lost go after
// rebuild_grace (the earlier deadline wins).
constexpr auto lost_copy_grace = std::chrono::seconds(3);

} // namespace

// Apps with webhooks: the directory keeps whether the channel is occupied
// and by which members (those in their grace too), and copies it to the
// standby node, whose owner sends the leave webhooks if this node dies with
// every subscriber (owner_snapshots.cpp).
void keep_occupancy(self_ptr self) {
  auto& st = own(self);
  if (!self->state.ctx->webhooks || self->state.traits.is_internal() || st.handed_off)
    return;
  occupancy_kept k{self->state.channel, st.subscribers > 0 || !st.view().departing.empty(),
                   {}};
  if (k.occupied && self->state.traits.has_roster()) {
    for (auto& m : st.view().roster.members())
      k.members.push_back(m.user_id);
    for (auto& [user, due] : st.view().departing)
      if (!st.view().roster.contains(user))
        k.members.push_back(user);
  }
  self->send(self->state.directory, std::move(k));
}

owner_handoff make_handoff(self_ptr self) {
  auto& st = own(self);
  owner_handoff h;
  h.app_id = self->state.ctx->app.id;
  h.channel = self->state.channel;
  h.seq = st.seq;
  if (cache_live(self)) {
    h.cache_hit = true;
    h.cache_event = st.cache->event;
    h.cache_data = st.cache->data;
    h.cache_ttl_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
        st.cache->expires - self->clock().now())
        .count());
  }
  h.replay = st.replay.events();
  h.replay_floor = st.replay.floor();
  if (st.hooks)
    h.logic = st.hooks->snapshots();
  for (auto& [node, interest] : st.nodes) {
    handoff_node hn{node, interest.subscribers, interest.channel, {}};
    for (auto& [user_id, user_info] : st.view().roster.connections_on(node))
      hn.members.push_back(roster_entry{user_id, user_info});
    h.nodes.push_back(std::move(hn));
  }
  return h;
}

// Takes over a predecessor's state (nodes that synced themselves already
// win: they are newer than the handoff).
owner_ref on_handoff(self_ptr self, owner_handoff& h) {
  auto& st = own(self);
  component_logger("owner")->debug("handoff in channel={} seq={} own_seq={} "
                                   "fanned_out={}",
                                   self->state.channel, h.seq, st.seq, st.fanned_out);
  st.handed_in = true;
  // Continue the predecessor's numbers exactly when nothing went out from
  // here yet: nodes then see one gapless sequence across the move and wait
  // for a predecessor's event that is still under way.
  st.seq = st.fanned_out ? std::max(st.seq, h.seq) : h.seq;
  // Nodes that lost some of the predecessor's events ask us for them. If
  // we numbered events already (two owners at once, a split), both kinds
  // are kept: a node of either side gets what it missed of both.
  if (!st.fanned_out)
    st.replay.restore(std::move(h.replay), h.replay_floor);
  else
    st.replay.merge(std::move(h.replay));
  if (h.cache_hit && !cache_live(self))
    hold_cache(self, std::move(h.cache_event), std::move(h.cache_data),
               std::chrono::milliseconds(h.cache_ttl_ms));
  // A concurrent owner's clients were told our members' nodes left (it
  // did not see them): once merged, they hear member_added again.
  std::vector<roster_entry> unknown;
  if (st.fanned_out && self->state.traits.has_roster() && !self->state.traits.is_internal()) {
    std::unordered_set<std::string> theirs;
    for (auto& hn : h.nodes)
      for (auto& m : hn.members)
        theirs.insert(m.user_id);
    for (auto& m : roster_entries(st.view().roster))
      if (!theirs.count(m.user_id))
        unknown.push_back(m);
  }
  for (auto& hn : h.nodes) {
    auto i = st.nodes.find(hn.node);
    if (i != st.nodes.end() && i->second.synced)
      continue;
    set_node_state(self, hn.node, hn.subscribers, std::move(hn.channel),
                   hn.members, false);
  }
  for (auto& m : unknown)
    if (st.view().roster.contains(m.user_id))
      member_added(self, m.user_id, m.user_info, {});
  // Channel-bound logic continues from the predecessor's snapshots.
  if (st.hooks)
    st.hooks->restore(h.logic);
  return owner_ref{as_owner(self)};
}

void on_lost_owner_copy(self_ptr self, lost_owner_copy& lost) {
  auto& st = own(self);
  // Only an owner rebuilt for the loss: an older one (the channel moved
  // here before, the copy is stale) or one handed in (the node left in
  // order) knows better. Several standbys may send one each.
  if (st.took_lost_copy || st.handed_in
      || self->clock().now() - st.born >= rebuild_window)
    return;
  st.took_lost_copy = true;
  st.vacate_due = true;
  // Nodes that still have subscribers sync within the grace; the rest
  // left with the dead node.
  expect_back(self, lost.members, lost_copy_grace);
  self->delayed_send(as_owner(self), lost_copy_grace, departed_atom::value);
}

} // namespace starling::owner_ops
