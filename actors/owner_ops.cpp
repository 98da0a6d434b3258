// Operations on a channel owner's state (owner_ops.hpp). One file because
// each transition (join, leave, a node lost, a sync) changes the roster,
// the per-node interest and the webhooks together; splitting by those
// would split every transition. Taking over from a predecessor (handoff,
// a dead node's copy) is in owner_succession.cpp, a cache channel's last
// event in owner_cache.cpp.
#include "actors/owner_ops.hpp"
#include "actors/channel_order.hpp"

#include <algorithm>
#include <unordered_set>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling::owner_ops {

namespace {

// Watches a node's channel: if it crashes, its subscribers are gone from
// here until they re-join. The channel this owner is hosted by needs no
// watching: they end together.
void watch(self_ptr self, const channel_actor& channel) {
  if (channel.address() != self->address())
    self->monitor(channel);
}

// Members of a crashed or dead node's channel get this long to come back
// (their connections re-join at once) before member_removed goes out.
constexpr auto departing_grace = std::chrono::seconds(2);

// Members of a node whose link broke, unless it syncs again within this.
constexpr auto unreachable_grace = std::chrono::milliseconds(500);

// Members its clients knew that no surviving node synced within this long
// lived on the dead node (surviving nodes sync as soon as their view
// changes, within one heartbeat of each other).
constexpr auto rebuild_grace = std::chrono::seconds(1);

// A rebuilt owner tells the new count once the syncs have come in.
constexpr auto recount_delay = std::chrono::milliseconds(500);

// After a node's channel crashed, every event is kept this long for its
// replacement (which keeps its own for rejoiners 5 s).
constexpr auto keep_replay_after_crash = std::chrono::seconds(10);

} // namespace

// -- fan-out and the owner's own events ----------------------------------------

void forget_node(self_ptr self,
                 std::map<std::string, node_interest>::iterator i);

// Numbers `ev` and sends it to this node's channel directly and to the
// other nodes through one bridge message. Returns its number.
uint64_t fan_out(self_ptr self, channel_event ev) {
  auto& st = own(self);
  ev.seq = ++st.seq;
  ev.origin = self->state.ctx->node_id;
  st.fanned_out = true;
  // Without a bridge every node is this one.
  bool remote = false;
  for (auto& [node, interest] : st.nodes) {
    if (node != self->state.ctx->node_id && st.bridge) {
      remote = true;
    } else if (interest.channel.address() == self->address()) {
      // The channel hosting us delivers it before we go on: numbered is
      // delivered, even if this actor fails next.
      auto copy = ev;
      channel_detail::on_event(self, copy);
    } else if (interest.channel) {
      self->send(interest.channel, ev);
    }
  }
  auto seq = ev.seq;
  bool keep = remote;
  if (!keep && st.keep_replay_until != std::chrono::steady_clock::time_point{}) {
    keep = self->clock().now() < st.keep_replay_until;
    if (!keep)
      st.keep_replay_until = {};
  }
  if (keep)
    st.replay.push(ev);
  else
    st.replay.skip(seq);
  if (remote)
    self->send(st.bridge, fan_out_event{self->state.ctx->app.id, self->state.channel,
                                        std::move(ev)});
  return seq;
}

// Webhooks come from the owner only: once per occurrence cluster-wide.
void webhook(self_ptr self, webhook_event ev) {
  auto& st = own(self);
  if (self->state.traits.is_internal() || !self->state.ctx->webhooks)
    return;
  if (auto hooks = self->state.ctx->webhooks->get()) {
    ev.channel = self->state.channel;
    self->send(hooks, std::move(ev));
  }
}

void webhook(self_ptr self, const char* name, std::string user_id = {}) {
  webhook_event ev;
  ev.name = name;
  ev.user_id = std::move(user_id);
  webhook(self, std::move(ev));
}

void member_added(self_ptr self, const std::string& user_id,
                  const std::string& user_info, const std::string& exclude) {
  channel_event ev;
  ev.kind = event_kind::member_added;
  ev.event = "pusher_internal:member_added";
  ev.user_id = user_id;
  ev.data = user_info;
  ev.exclude = exclude;
  fan_out(self, std::move(ev));
  webhook(self, "member_added", user_id);
  keep_occupancy(self);
  // App logic hears member changes exactly when webhooks do.
  if (own(self).hooks)
    own(self).hooks->notify_member(user_id, true);
}

void member_removed(self_ptr self, const std::string& user_id) {
  channel_event ev;
  ev.kind = event_kind::member_removed;
  ev.event = "pusher_internal:member_removed";
  ev.user_id = user_id;
  fan_out(self, std::move(ev));
  webhook(self, "member_removed", user_id);
  keep_occupancy(self);
  if (own(self).hooks)
    own(self).hooks->notify_member(user_id, false);
}

// channel_occupied / channel_vacated: the webhook and the app logic.
void occupancy(self_ptr self, bool occupied) {
  webhook(self, occupied ? "channel_occupied" : "channel_vacated");
  if (!occupied)
    own(self).vacate_due = false;
  keep_occupancy(self);
  if (own(self).hooks)
    own(self).hooks->notify_occupancy(occupied);
}

void send_subscription_count(self_ptr self, const std::string& exclude) {
  auto& st = own(self);
  // Pusher protocol §2.9: every kind but presence, when the app enables it.
  if (!self->state.ctx->app.enable_subscription_count
      || !self->state.traits.counts_subscriptions())
    return;
  channel_event ev;
  ev.kind = event_kind::subscription_count;
  ev.event = "pusher_internal:subscription_count";
  ev.count = st.subscribers;
  ev.exclude = exclude;
  fan_out(self, std::move(ev));
  webhook_event wh;
  wh.name = "subscription_count";
  wh.subscription_count = static_cast<int64_t>(st.subscribers);
  webhook(self, std::move(wh));
}

// -- state helpers ---------------------------------------------------------------

// An owner with nothing to order and nothing to tell ends; the directory
// forgets it, and a later use spawns a fresh one.
void quit_if_idle(self_ptr self) {
  auto& st = own(self);
  if (st.subscribers != 0 || !st.nodes.empty()
      || !st.view().departing.empty() || st.vacate_due
      || !st.view().held.empty() || cache_live(self)
      || (st.hooks && st.hooks->busy()))
    return;
  // A node's channel crashed: its replacement comes back for the events
  // numbered meanwhile, which only we have (a fresh owner numbers anew).
  auto now = self->clock().now();
  if (now < st.keep_replay_until) {
    if (!st.idle_check_pending) {
      st.idle_check_pending = true;
      self->delayed_send(as_owner(self), st.keep_replay_until - now, idle_atom::value);
    }
    return;
  }
  end_owner(self);
}

// Users that are not members now get the grace period to come back
// before member_removed goes out (their clients still list them).
void expect_back(self_ptr self, const std::vector<std::string>& users,
                 caf::timespan grace = departing_grace) {
  auto& st = own(self);
  auto due = self->clock().now() + grace;
  bool any = false;
  for (auto& user : users) {
    if (st.view().roster.contains(user))
      continue;
    auto [i, fresh] = st.more().departing.emplace(user, due);
    if (fresh || due < i->second)
      any = true;
    i->second = std::min(i->second, due);
  }
  if (any)
    self->delayed_send(as_owner(self), grace, departed_atom::value);
}

void forget_node(self_ptr self, std::map<std::string, node_interest>::iterator i) {
  auto& st = own(self);
  st.subscribers -= std::min(st.subscribers, i->second.subscribers);
  if (i->second.channel)
    self->demonitor(i->second.channel.address());
  st.nodes.erase(i);
}

void forget_node_if(self_ptr self, const std::string& node,
                    uint64_t generation) {
  auto& st = own(self);
  auto i = st.nodes.find(node);
  if (i == st.nodes.end() || i->second.generation != generation)
    return;
  forget_node(self, i);
  st.remove_members_of(node);
}

// A node's local channel ended while it had subscribers (a crash): drop its
// interest now; its members are only removed if their connections do not
// re-join within the grace period. When the link to its node broke, the
// node died (kill -9) or was only stalled (its peers closed their links to
// it): a short grace, in which a live node syncs again once its view has us
// back.
void channel_lost(self_ptr self, const caf::actor_addr& channel,
                  bool node_died) {
  auto& st = own(self);
  for (auto i = st.nodes.begin(); i != st.nodes.end(); ++i) {
    if (i->second.channel.address() != channel)
      continue;
    auto node = i->first;
    forget_node(self, i);
    // A crashed channel's replacement asks for what followed its last
    // delivered number.
    if (!node_died)
      st.keep_replay_until =
        self->clock().now() + keep_replay_after_crash;
    expect_back(self, st.remove_members_of(node),
                node_died ? caf::timespan{unreachable_grace}
                          : caf::timespan{departing_grace});
    // Those connections are gone (if they come back, the count follows).
    send_subscription_count(self);
    return;
  }
}

// Replaces what the owner knows of `node` (count, channel, roster
// connections). Silent: the clients saw no change. Users that the node no
// longer has and nobody else has either get the grace period.
void set_node_state(self_ptr self, const std::string& node,
                    uint64_t subscribers, channel_actor channel,
                    const std::vector<roster_entry>& members, bool synced) {
  auto& st = own(self);
  auto& interest = st.nodes[node];
  st.subscribers -= std::min<std::size_t>(st.subscribers, interest.subscribers);
  interest.subscribers = subscribers;
  ++interest.generation;
  st.subscribers += subscribers;
  interest.synced = interest.synced || synced;
  if (channel && interest.channel != channel) {
    if (interest.channel)
      self->demonitor(interest.channel.address());
    interest.channel = std::move(channel);
    watch(self, interest.channel);
  }
  auto gone = st.remove_members_of(node);
  for (auto& m : members)
    st.more().roster.add(m.user_id, m.user_info, node);
  if (subscribers == 0)
    forget_node(self, st.nodes.find(node));
  expect_back(self, gone);
  keep_occupancy(self);
}

std::vector<roster_entry> roster_entries(const presence_roster& roster) {
  std::vector<roster_entry> out;
  for (auto& m : roster.members())
    out.push_back(roster_entry{m.user_id, m.user_info});
  return out;
}

// -- joins ----------------------------------------------------------------------

owner_joined refusal(self_ptr self, int status, std::string type,
                     std::string error) {
  owner_joined reply;
  reply.ok = false;
  reply.status = status;
  reply.error_type = std::move(type);
  reply.error = std::move(error);
  reply.owner_node = self->state.ctx->node_id;
  return reply;
}

// Adds the joiner and answers; then the events the join causes. Reply
// first: on this node the joiner's channel adds it before the events below
// arrive, so it gets no member_added of its own.
void accept_join(self_ptr self, const owner_join& join, channel_actor channel,
                 caf::typed_response_promise<owner_joined> rp) {
  auto& st = own(self);
  auto max_members = self->state.ctx->app.limits.max_presence_members;
  if (join.member && !self->state.traits.is_internal()
      && !st.view().roster.contains(join.user_id)
      && st.view().roster.size() >= max_members) {
    // Pusher: 4100 over capacity.
    rp.deliver(refusal(self, 4100, "LimitReached",
                       "presence channel is full ("
                         + std::to_string(max_members) + " members)"));
    return;
  }
  // A join from a node's new channel while we still count its previous
  // one: that one ended (a crash) and its down message is not here yet. A
  // remote node can send it after the replacement's first join (CAF sends
  // the two on different paths), and we stop watching the old one below, so
  // it would never come and its subscribers would be counted for ever (no
  // channel_vacated). Drop them now, as that down message would.
  if (auto i = st.nodes.find(join.node);
      channel && i != st.nodes.end() && i->second.channel
      && i->second.channel != channel)
    channel_lost(self, i->second.channel.address(), false);
  auto& interest = st.nodes[join.node];
  ++interest.subscribers;
  ++interest.generation;
  if (interest.channel != channel) {
    // Watch the node's channel: if it crashes, its subscribers are gone
    // from here until they re-join.
    if (interest.channel)
      self->demonitor(interest.channel.address());
    interest.channel = std::move(channel);
    watch(self, interest.channel);
  }
  ++st.subscribers;
  owner_joined reply;
  reply.owner_node = self->state.ctx->node_id;
  reply.seq = st.seq;
  bool first_connection = false;
  if (join.member) {
    first_connection
      = st.more().roster.add(join.user_id, join.user_info, join.node);
    // A member coming back after a crash never left for the clients.
    if (st.more().departing.erase(join.user_id) > 0 || join.rejoin)
      first_connection = false;
  }
  if (self->state.traits.has_roster())
    reply.members = roster_entries(st.view().roster);
  if (self->state.traits.keeps_last_event()) {
    if (cache_live(self)) {
      reply.cache_hit = true;
      reply.cache_event = st.cache->event;
      reply.cache_data = st.cache->data;
    } else if (!cache_of(st).miss_reported) {
      // One cache_miss webhook until the next publish fills the cache.
      st.cache->miss_reported = true;
      webhook(self, "cache_miss");
    }
  }
  if (self->state.ctx->app.enable_subscription_count
      && self->state.traits.counts_subscriptions() && !join.rejoin)
    reply.subscription_count = static_cast<int64_t>(st.subscribers);
  rp.deliver(std::move(reply));
  if (join.rejoin)
    return; // Rebuilding after a crash: clients saw no change.
  if (st.subscribers == 1)
    occupancy(self, true);
  if (first_connection)
    member_added(self, join.user_id, join.user_info, join.socket_id);
  // The joiner got its count with the reply.
  send_subscription_count(self, join.socket_id);
}

caf::typed_response_promise<owner_joined> on_join(self_ptr self,
                                                  owner_join& join) {
  auto& st = own(self);
  // make_response_promise() takes the sender out of the current message:
  // read it first.
  auto channel = caf::actor_cast<channel_actor>(self->current_sender());
  auto rp = self->make_response_promise<owner_joined>();
  // A silent re-join rebuilds a subscription the logic already allowed.
  if (!st.hooks || join.rejoin) {
    accept_join(self, join, std::move(channel), rp);
    return rp;
  }
  st.hooks->ask_subscribe(join, [self, rp, join, channel](
                                  subscribe_verdict v) mutable {
    auto& st = own(self);
    if (v.allow) {
      accept_join(self, join, std::move(channel), rp);
      return;
    }
    self->state.ctx->counters->subscription_errors.fetch_add(1,
                                                    std::memory_order_relaxed);
    // pusher-js treats it like an auth endpoint that said no.
    rp.deliver(refusal(self, v.status, "AuthError",
                       v.reason.empty() ? "Subscription refused by the app"
                                        : std::move(v.reason)));
    // Whether to end is the current state's call.
    self->send(as_owner(self), idle_atom::value);
  });
  return rp;
}

void on_leave(self_ptr self, const owner_leave& leave) {
  auto& st = own(self);
  auto i = st.nodes.find(leave.node);
  if (i == st.nodes.end() || i->second.subscribers == 0)
    return;
  if (--i->second.subscribers == 0) {
    if (i->second.channel)
      self->demonitor(i->second.channel.address());
    st.nodes.erase(i);
  }
  --st.subscribers;
  if (st.hooks)
    st.hooks->notify_unsubscribe(leave.socket_id, leave.user_id);
  if (leave.member && st.extras
      && st.extras->roster.remove(leave.user_id, leave.node))
    member_removed(self, leave.user_id);
  send_subscription_count(self);
  if (st.subscribers == 0)
    occupancy(self, false);
}

void lost_with_app(self_ptr self) {
  auto& st = own(self);
  if (st.handed_off || st.subscribers == 0)
    return;
  for (auto& [node, interest] : st.nodes)
    if (node != self->state.ctx->node_id && interest.subscribers > 0)
      return; // Its channel there rebuilds the owner, which tells.
  for (auto& m : roster_entries(st.view().roster))
    webhook(self, "member_removed", m.user_id);
  webhook(self, "channel_vacated");
}

// The syncing node's clients were told some of our members left (another
// owner of the channel, while the cluster was split, saw their node go):
// they are members, so everyone hears member_added again (clients that
// still list them ignore it) and the webhook pairs the removal.
void reannounce_unknown(self_ptr self, const owner_sync& sync) {
  auto& st = own(self);
  if (!self->state.traits.has_roster() || self->state.traits.is_internal()
      || sync.subscribers == 0 || sync.known_members.empty())
    return;
  std::unordered_set<std::string> known(sync.known_members.begin(),
                                        sync.known_members.end());
  for (auto& m : sync.members)
    known.insert(m.user_id);
  for (auto& m : roster_entries(st.view().roster))
    if (!known.count(m.user_id))
      member_added(self, m.user_id, m.user_info, {});
}

owner_synced on_sync(self_ptr self, owner_sync& sync) {
  auto& st = own(self);
  auto channel = caf::actor_cast<channel_actor>(self->current_sender());
  auto before = st.subscribers;
  set_node_state(self, sync.node, sync.subscribers, std::move(channel),
                 sync.members, true);
  // A rebuild (no handoff) may count differently than clients were told:
  // one count once the surviving nodes have synced.
  if (st.subscribers != before && !st.handed_in && !st.recount_pending) {
    st.recount_pending = true;
    self->delayed_send(as_owner(self), recount_delay, recount_atom::value);
  }
  if (!st.handed_in && self->clock().now() - st.born < rebuild_window)
    expect_back(self, sync.known_members, rebuild_grace);
  reannounce_unknown(self, sync);
  return owner_synced{self->state.ctx->node_id, st.seq};
}

// -- events ------------------------------------------------------------------------

void relay_client_event(self_ptr self, client_event ce) {
  auto& st = own(self);
  webhook_event wh;
  wh.name = "client_event";
  wh.event = ce.event;
  wh.data = ce.data;
  wh.socket_id = ce.socket_id;
  if (self->state.traits.has_roster())
    wh.user_id = ce.user_id;
  webhook(self, std::move(wh));
  channel_event ev;
  ev.kind = event_kind::client;
  ev.event = std::move(ce.event);
  ev.data = std::move(ce.data);
  if (self->state.traits.has_roster())
    ev.user_id = std::move(ce.user_id);
  ev.exclude = std::move(ce.socket_id);
  ev.published_ns = ce.published_ns;
  fan_out(self, std::move(ev));
}

void on_client_event(self_ptr self, client_event& ce) {
  auto& st = own(self);
  // App logic may drop, rewrite or answer it; decided events come back
  // through relay_client_event, in order.
  if (st.hooks)
    st.hooks->filter_client_event(
      std::move(ce), via_of(self));
  else
    relay_client_event(self, std::move(ce));
}

bool publish_expired(uint64_t give_up_ms) {
  // The answer needs a moment to get back before the publisher times out.
  constexpr uint64_t answer_margin_ms = 100;
  if (give_up_ms == 0)
    return false;
  auto now = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
  return now + answer_margin_ms >= give_up_ms;
}

publish_ack on_publish(self_ptr self, publish_event& pe) {
  cache_published(self, pe.event);
  pe.event.kind = event_kind::message;
  return publish_ack{fan_out(self, std::move(pe.event))};
}

void on_departed(self_ptr self) {
  auto& st = own(self);
  auto now = self->clock().now();
  bool changed = false;
  if (st.extras) {
    auto& departing = st.extras->departing;
    for (auto i = departing.begin(); i != departing.end();) {
      if (i->second > now) {
        ++i;
        continue;
      }
      if (!st.extras->roster.contains(i->first))
        member_removed(self, i->first);
      i = departing.erase(i);
      changed = true;
    }
  }
  // A dead owner node's copy (on_lost_owner_copy) ends its grace too.
  bool vacate = st.vacate_due && st.view().departing.empty();
  if (!changed && !vacate)
    return;
  if (changed)
    send_subscription_count(self);
  if (st.subscribers == 0)
    occupancy(self, false);
  if (st.view().departing.empty())
    st.vacate_due = false;
}

channel_report report(self_ptr self) {
  auto& st = own(self);
  channel_report r;
  r.name = self->state.channel;
  r.occupied = st.subscribers > 0;
  r.subscription_count = st.subscribers;
  r.user_count = st.view().roster.size();
  if (cache_live(self)) {
    r.cache_hit = true;
    r.cache_event = st.cache->event;
    r.cache_data = st.cache->data;
    r.cache_ttl_s = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(st.cache->expires
                                                       - self->clock().now())
        .count());
  }
  return r;
}

} // namespace starling::owner_ops
