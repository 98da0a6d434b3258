// Channel owner actor: orders every event of its channel and emits the
// cluster-wide facts (member events, subscription counts) exactly once.
#include "actors/channel_owner.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "pusher/frame.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = caf::stateful_actor<channel_owner_state>*;

// `holdable`: published and client events wait while the owner settles;
// the owner's own events (members, counts) never do, so a join reply and
// the events before it stay consistent.
void fan_out(self_ptr self, channel_event ev, bool holdable = true) {
  auto& st = self->state;
  if (st.settling && holdable) {
    // The predecessor's state (which nodes listen) is on its way: numbering
    // and sending now would reach only part of the listeners.
    st.held.push_back(std::move(ev));
    return;
  }
  ev.seq = ++st.seq;
  ev.origin = st.ctx->node_id;
  st.fanned_out = true;
  // This node's channel directly; other nodes through one bridge publish
  // (without a bridge, every node is this one).
  bool remote = false;
  for (auto& [node, interest] : st.nodes) {
    if (node != st.ctx->node_id && st.bridge)
      remote = true;
    else if (interest.channel)
      self->send(interest.channel, deliver_atom::value, ev);
  }
  if (remote)
    self->send(st.bridge, caf::publish_atom::value, st.ctx->app.id, st.channel,
               std::move(ev));
}

void system_event(self_ptr self, std::string event, std::string data_json,
                  std::string exclude = {}) {
  channel_event ev;
  ev.event = std::move(event);
  ev.data = std::move(data_json);
  ev.exclude = std::move(exclude);
  fan_out(self, std::move(ev), false);
}

// Webhooks come from the owner only: once per occurrence cluster-wide.
void webhook(self_ptr self, const char* name, const std::string& user_id = {}) {
  auto& st = self->state;
  // App logic hears member changes exactly when webhooks do.
  logic_owner_notify(self, name, user_id);
  if (!st.ctx->webhooks)
    return;
  webhook_event ev;
  ev.name = name;
  ev.channel = st.channel;
  ev.user_id = user_id;
  self->send(st.ctx->webhooks, std::move(ev));
}

void send_subscription_count(self_ptr self, const std::string& exclude = {}) {
  auto& st = self->state;
  // Pusher protocol §2.9: every kind but presence, when the app enables it.
  if (!st.ctx->app.enable_subscription_count || st.traits.has_roster())
    return;
  system_event(self, "pusher_internal:subscription_count",
               "{\"subscription_count\":" + std::to_string(st.subscribers)
                 + "}",
               exclude);
  if (st.ctx->webhooks) {
    webhook_event ev;
    ev.name = "subscription_count";
    ev.channel = st.channel;
    ev.subscription_count = static_cast<int64_t>(st.subscribers);
    self->send(st.ctx->webhooks, std::move(ev));
  }
}

bool cache_live(self_ptr self) {
  auto& st = self->state;
  if (st.cache_hit && self->clock().now() >= st.cache_expires) {
    st.cache_hit = false;
    st.cache_event.clear();
    st.cache_data.clear();
  }
  return st.cache_hit;
}

void report_if_idle(self_ptr self) {
  auto& st = self->state;
  // Settling: the nodes that listen are not known yet; held events wait.
  if (st.settling)
    return;
  if (st.subscribers == 0 && !cache_live(self))
    self->send(st.app, owner_idle{st.channel});
}

std::string member_data(const std::string& user_id,
                        const std::string& user_info) {
  auto result = "{\"user_id\":" + pusher::json_quote(user_id);
  if (!user_info.empty())
    result += ",\"user_info\":" + user_info;
  result += '}';
  return result;
}

// Members of a crashed channel get this long to come back (their
// connections re-join at once) before member_removed goes out.
constexpr auto departing_grace = std::chrono::seconds(2);

// Users that are not members now get the grace period to come back
// before member_removed goes out (their clients still list them).
void expect_back(self_ptr self, const std::vector<std::string>& users) {
  auto& st = self->state;
  auto due = self->clock().now() + departing_grace;
  bool any = false;
  for (auto& user : users)
    if (!st.roster.contains(user) && st.departing.emplace(user, due).second)
      any = true;
  if (any)
    self->delayed_send(self, departing_grace, departed_atom::value);
}

// A node's local channel ended while it had subscribers (a crash): drop its
// interest now; its presence members are only removed if their
// connections do not re-join within the grace period.
void channel_lost(self_ptr self, const caf::actor_addr& channel) {
  auto& st = self->state;
  for (auto i = st.nodes.begin(); i != st.nodes.end(); ++i) {
    if (i->second.channel.address() != channel)
      continue;
    auto node = i->first;
    st.subscribers -= std::min(st.subscribers, i->second.subscribers);
    st.nodes.erase(i);
    expect_back(self, st.roster.remove_node(node));
    // Those connections are gone (if they come back, the count follows).
    send_subscription_count(self);
    return;
  }
}

// Replaces what the owner knows of `node` (count, channel, presence
// connections). Silent: the clients saw no change. Users that the node no
// longer has and nobody else has either get the grace period.
void set_node_state(self_ptr self, const std::string& node,
                    uint64_t subscribers, caf::actor channel,
                    const std::vector<roster_entry>& members, bool synced) {
  auto& st = self->state;
  auto& interest = st.nodes[node];
  st.subscribers -= std::min<std::size_t>(st.subscribers, interest.subscribers);
  interest.subscribers = subscribers;
  ++interest.generation;
  st.subscribers += subscribers;
  interest.synced = interest.synced || synced;
  if (channel && interest.channel != channel) {
    if (interest.channel)
      self->demonitor(interest.channel);
    interest.channel = std::move(channel);
    self->monitor(interest.channel);
  }
  auto gone = st.roster.remove_node(node);
  for (auto& m : members)
    st.roster.add(m.user_id, m.user_info, node);
  if (subscribers == 0) {
    if (interest.channel)
      self->demonitor(interest.channel);
    st.nodes.erase(node);
  }
  expect_back(self, gone);
}

void hold_cache(self_ptr self, std::string event, std::string data,
                caf::timespan ttl) {
  auto& st = self->state;
  st.cache_miss_reported = false;
  st.cache_hit = true;
  st.cache_event = std::move(event);
  st.cache_data = std::move(data);
  st.cache_expires = self->clock().now() + ttl;
  // One pending tick at a time, however often the channel publishes.
  if (!st.expire_pending) {
    st.expire_pending = true;
    self->delayed_send(self, ttl, expire_atom::value);
  }
}

// A young owner that got no handoff is rebuilt from the edges after its
// predecessor died; it removes members that lived on the dead node.
constexpr auto rebuild_window = std::chrono::seconds(10);

// How long an owner keeps delivering to a node whose channel moved to
// another owner (events ordered here by callers with an older view).
constexpr auto moved_node_grace = std::chrono::seconds(2);

// A rebuilt owner tells the new count once the syncs have come in.
constexpr auto recount_delay = std::chrono::milliseconds(500);

// How long a handed-off owner keeps forwarding after its last message.
constexpr auto forwarder_idle = std::chrono::seconds(30);

// After a handoff: everything goes to the successor (callers with an older
// view do not notice the move); edges that moved away are dropped.
void become_forwarder(self_ptr self, caf::actor successor) {
  // Channel-bound logic moves too: the successor runs its own instances.
  logic_owner_stop(self);
  // A forwarder publishes nothing itself; holding the bridge would keep a
  // crashed (detached) bridge and its thread alive until we quit.
  self->state.bridge = nullptr;
  auto addr = successor.address();
  self->monitor(successor);
  self->set_down_handler([self, addr](caf::down_msg& dm) {
    if (dm.source == addr)
      self->quit();
  });
  self->set_default_handler(
    [successor](caf::scheduled_actor* s,
                caf::message_view& x) -> caf::result<caf::message> {
      return s->delegate(successor, x.move_content_to_message());
    });
  self->become(
    [](caf::leave_atom, const std::string&) {},
    [](caf::leave_atom, const std::string&, uint64_t) {},
    [](recount_atom) {},
    [](caf::put_atom, const caf::actor&) {},
    [](caf::put_atom, uint64_t) {},
    [](handoff_atom, const caf::actor&) { return caf::ok_atom::value; },
    [](expire_atom) {},
    [](departed_atom) {},
    [](settle_atom) {}, // Our own timer: never the successor's business.
    [self](stop_atom) { self->quit(); },
    caf::after(forwarder_idle) >> [self] { self->quit(); });
}

// Ends the wait for a handoff: what was held goes out in arrival order.
void stop_settling(self_ptr self) {
  auto& st = self->state;
  if (!st.settling)
    return;
  st.settling = false;
  auto held = std::move(st.held);
  st.held.clear();
  for (auto& ev : held)
    fan_out(self, std::move(ev));
  report_if_idle(self);
}

owner_handoff make_handoff(self_ptr self) {
  auto& st = self->state;
  owner_handoff h;
  h.app_id = st.ctx->app.id;
  h.channel = st.channel;
  h.seq = st.seq;
  if (cache_live(self)) {
    h.cache_hit = true;
    h.cache_event = st.cache_event;
    h.cache_data = st.cache_data;
    h.cache_ttl_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
        st.cache_expires - self->clock().now())
        .count());
  }
  for (auto& [node, interest] : st.nodes) {
    handoff_node hn{node, interest.subscribers, interest.channel, {}};
    for (auto& [user_id, user_info] : st.roster.connections_on(node))
      hn.members.push_back(roster_entry{user_id, user_info});
    h.nodes.push_back(std::move(hn));
  }
  return h;
}

} // namespace

caf::behavior channel_owner_behavior(caf::stateful_actor<channel_owner_state>* self,
                                     std::string channel, app_context_ptr ctx,
                                     caf::actor app) {
  auto& st = self->state;
  st.traits = pusher::classify_channel(channel);
  st.channel = std::move(channel);
  st.ctx = std::move(ctx);
  st.app = std::move(app);
  st.born = self->clock().now();
  logic_owner_start(self);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (logic_owner_down(self, dm))
      return;
    channel_lost(self, dm.source);
  });
  return {
    [self](caf::join_atom, owner_join& join) {
      // App logic may refuse it; an allowed join comes back here.
      if (logic_owner_join(self, join))
        return;
      auto& st = self->state;
      // make_response_promise() takes the sender out of the current
      // message: read it first.
      auto channel = caf::actor_cast<caf::actor>(self->current_sender());
      auto rp = self->make_response_promise();
      owner_joined reply;
      reply.owner_node = st.ctx->node_id;
      reply.seq = st.seq;
      auto max_members = st.ctx->app.limits.max_presence_members;
      if (join.presence && !st.roster.contains(join.user_id)
          && st.roster.size() >= max_members) {
        reply.ok = false;
        reply.status = 4100; // Pusher: over capacity.
        reply.error_type = "LimitReached";
        reply.error = "presence channel is full (" + std::to_string(max_members)
                      + " members)";
        rp.deliver(std::move(reply));
        return;
      }
      auto& interest = st.nodes[join.node];
      ++interest.subscribers;
      ++interest.generation;
      if (interest.channel != channel) {
        // Watch the node's channel: if it crashes, its subscribers are gone
        // from here until they re-join.
        interest.channel = std::move(channel);
        self->monitor(interest.channel);
      }
      ++st.subscribers;
      bool first_connection = false;
      if (join.presence) {
        first_connection = st.roster.add(join.user_id, join.user_info,
                                         join.node);
        // A member coming back after a crash never left for the clients.
        if (st.departing.erase(join.user_id) > 0 || join.rejoin)
          first_connection = false;
        reply.data_json = pusher::encode_presence_data(st.roster.members());
      } else {
        reply.data_json = "{}";
      }
      if (st.traits.keeps_last_event()) {
        reply.cache_channel = true;
        if (cache_live(self)) {
          reply.cache_hit = true;
          reply.cache_event = st.cache_event;
          reply.cache_data = st.cache_data;
        } else if (!st.cache_miss_reported) {
          // One cache_miss webhook until the next publish fills the cache.
          st.cache_miss_reported = true;
          webhook(self, "cache_miss");
        }
      }
      if (st.ctx->app.enable_subscription_count && !st.traits.has_roster()
          && !join.rejoin)
        reply.subscription_count = static_cast<int64_t>(st.subscribers);
      // Reply first: on this node the joiner's channel adds it before the
      // events below arrive, so it gets no member_added.
      rp.deliver(std::move(reply));
      if (join.rejoin)
        return; // Rebuilding after a crash: clients saw no change.
      if (st.subscribers == 1)
        webhook(self, "channel_occupied");
      if (first_connection) {
        system_event(self, "pusher_internal:member_added",
                     member_data(join.user_id, join.user_info), join.socket_id);
        webhook(self, "member_added", join.user_id);
      }
      // The joiner got its count with the reply.
      send_subscription_count(self, join.socket_id);
    },
    [self](caf::leave_atom, const owner_leave& leave) {
      auto& st = self->state;
      auto i = st.nodes.find(leave.node);
      if (i == st.nodes.end() || i->second.subscribers == 0)
        return;
      if (--i->second.subscribers == 0)
        st.nodes.erase(i);
      --st.subscribers;
      if (leave.presence && st.roster.remove(leave.user_id, leave.node)) {
        system_event(self, "pusher_internal:member_removed",
                     member_data(leave.user_id, {}));
        webhook(self, "member_removed", leave.user_id);
      }
      send_subscription_count(self);
      if (st.subscribers == 0) {
        webhook(self, "channel_vacated");
        report_if_idle(self);
      }
    },
    [self](caf::publish_atom, channel_event& ev) {
      auto& st = self->state;
      if (st.traits.keeps_last_event())
        hold_cache(self, ev.event, ev.data,
                   std::chrono::seconds(st.ctx->app.limits.cache_ttl_s));
      fan_out(self, std::move(ev));
      if (st.subscribers == 0 && !st.traits.keeps_last_event())
        report_if_idle(self);
    },
    [self](client_event_atom, client_event& ce) {
      // App logic may drop, rewrite or answer it; a decided event comes
      // back here from the owner itself.
      if (logic_owner_client_event(self, ce))
        return;
      auto& st = self->state;
      if (st.ctx->webhooks) {
        webhook_event wh;
        wh.name = "client_event";
        wh.channel = st.channel;
        wh.event = ce.event;
        wh.data = ce.data;
        wh.socket_id = ce.socket_id;
        if (st.traits.has_roster())
          wh.user_id = ce.user_id;
        self->send(st.ctx->webhooks, std::move(wh));
      }
      channel_event ev;
      ev.event = std::move(ce.event);
      ev.data = std::move(ce.data);
      ev.data_is_json = true;
      if (self->state.traits.has_roster())
        ev.user_id = std::move(ce.user_id);
      ev.exclude = std::move(ce.socket_id);
      fan_out(self, std::move(ev));
    },
    [self](caf::leave_atom, const std::string& node) {
      // The node's channel moved to another owner. Callers with an older
      // view may still send events here for a moment: keep delivering to
      // the node (its channel drops what its new owner already overtook)
      // and forget it silently a little later, unless it came back.
      stop_settling(self);
      auto& st = self->state;
      auto i = st.nodes.find(node);
      if (i == st.nodes.end())
        return;
      self->delayed_send(self, moved_node_grace, caf::leave_atom::value, node,
                         i->second.generation);
    },
    [self](caf::leave_atom, const std::string& node, uint64_t generation) {
      auto& st = self->state;
      auto i = st.nodes.find(node);
      if (i == st.nodes.end() || i->second.generation != generation)
        return;
      st.subscribers -= std::min(st.subscribers, i->second.subscribers);
      self->demonitor(i->second.channel);
      st.nodes.erase(i);
      st.roster.remove_node(node);
      if (st.subscribers == 0)
        report_if_idle(self);
    },
    [self](recount_atom) {
      self->state.recount_pending = false;
      send_subscription_count(self);
    },
    [self](caf::put_atom, caf::actor& bridge) {
      self->state.bridge = std::move(bridge);
    },
    [self](caf::put_atom, uint64_t seq_base) {
      self->state.seq = std::max(self->state.seq, seq_base);
    },
    [self](settle_atom, caf::timespan max_wait) {
      // Spawned just after a view change: the channel's previous owner
      // may be handing its state over. Hold events until it arrives.
      self->state.settling = true;
      self->delayed_send(self, max_wait, settle_atom::value);
    },
    [self](settle_atom) { stop_settling(self); },
    [self](sync_atom, owner_sync& sync) {
      auto& st = self->state;
      auto channel = caf::actor_cast<caf::actor>(self->current_sender());
      auto before = st.subscribers;
      set_node_state(self, sync.node, sync.subscribers, std::move(channel),
                     sync.members, true);
      // A rebuild (no handoff) may count differently than clients were
      // told: one count once the surviving nodes have synced.
      if (st.subscribers != before && !st.handed_in && !st.recount_pending) {
        st.recount_pending = true;
        self->delayed_send(self, recount_delay, recount_atom::value);
      }
      if (!st.handed_in && self->clock().now() - st.born < rebuild_window)
        expect_back(self, sync.known_members);
      owner_joined reply;
      reply.owner_node = st.ctx->node_id;
      reply.seq = st.seq;
      if (st.subscribers == 0)
        report_if_idle(self);
      return reply;
    },
    [self](handoff_atom, caf::actor& node) -> caf::result<caf::ok_atom> {
      // The ring moved the channel to `node`: hand over, then forward.
      // await: nothing else is handled until the successor answered, so
      // no event is ordered here after the state left.
      auto rp = self->make_response_promise<caf::ok_atom>();
      auto channel = self->state.channel;
      // Held events are ours to order: send them before the state leaves.
      stop_settling(self);
      self->request(node, std::chrono::seconds(5), handoff_atom::value,
                    make_handoff(self))
        .await(
          [self, rp](caf::actor& successor) mutable {
            rp.deliver(caf::ok_atom::value);
            if (successor == self)
              return; // Redirected back here: we stay the owner.
            self->send(self->state.app, handoff_atom::value,
                       self->state.channel, successor);
            become_forwarder(self, std::move(successor));
          },
          [rp, channel](caf::error& err) mutable {
            // Keep owning; the next view change tries again, and the edges
            // rebuild the successor if it comes to that.
            component_logger("owner")->warn("handoff failed channel={} error={}",
                                            channel, to_string(err));
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](handoff_atom, owner_handoff& h) {
      auto& st = self->state;
      st.handed_in = true;
      // Continue the predecessor's numbers exactly when nothing went out
      // from here yet: nodes then see one gapless sequence across the move
      // and wait for a predecessor's event that is still under way.
      st.seq = st.fanned_out ? std::max(st.seq, h.seq) : h.seq;
      if (h.cache_hit && !cache_live(self))
        hold_cache(self, std::move(h.cache_event), std::move(h.cache_data),
                   std::chrono::milliseconds(h.cache_ttl_ms));
      for (auto& hn : h.nodes) {
        auto i = st.nodes.find(hn.node);
        if (i != st.nodes.end() && i->second.synced)
          continue; // The node told us itself: newer than the handoff.
        set_node_state(self, hn.node, hn.subscribers, std::move(hn.channel),
                       hn.members, false);
      }
      stop_settling(self);
      return caf::actor_cast<caf::actor>(self);
    },
    [self](departed_atom) {
      auto& st = self->state;
      auto now = self->clock().now();
      bool changed = false;
      for (auto i = st.departing.begin(); i != st.departing.end();) {
        if (i->second > now) {
          ++i;
          continue;
        }
        if (!st.roster.contains(i->first)) {
          system_event(self, "pusher_internal:member_removed",
                       member_data(i->first, {}));
          webhook(self, "member_removed", i->first);
        }
        i = st.departing.erase(i);
        changed = true;
      }
      if (!changed)
        return;
      send_subscription_count(self);
      if (st.subscribers == 0) {
        webhook(self, "channel_vacated");
        report_if_idle(self);
      }
    },
    [self](expire_atom) {
      auto& st = self->state;
      st.expire_pending = false;
      if (cache_live(self)) {
        st.expire_pending = true;
        self->delayed_send(self,
                           st.cache_expires - self->clock().now(),
                           expire_atom::value);
        return;
      }
      report_if_idle(self);
    },
    [self](stop_atom) { self->quit(); },
    [self](caf::get_atom) {
      auto& st = self->state;
      channel_info info;
      info.channel = st.channel;
      info.occupied = st.subscribers > 0;
      info.subscription_count = st.subscribers;
      info.user_count = st.roster.size();
      if (cache_live(self)) {
        info.cache_hit = true;
        info.cache_event = st.cache_event;
        info.cache_data = st.cache_data;
        auto left = st.cache_expires - self->clock().now();
        info.cache_ttl_s = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(left).count());
      }
      return info;
    },
    [self](users_atom) {
      std::vector<std::string> ids;
      for (auto& m : self->state.roster.members())
        ids.push_back(m.user_id);
      return ids;
    },
    [self](stats_atom) {
      auto& st = self->state;
      return caf::make_message(static_cast<uint64_t>(st.subscribers),
                               static_cast<uint64_t>(st.roster.size()), st.seq);
    },
    [self](crash_atom) -> caf::result<void> {
      throw std::runtime_error("injected fault in owner " + self->state.channel);
    },
    [self](logic_atom, std::vector<caf::actor>& app_bound) {
      self->state.logic.app_bound = std::move(app_bound);
    },
    [self](logic_atom, restart_atom, uint64_t index) {
      logic_owner_restart(self, index);
    },
    [self](const crash_request& req) { return logic_owner_crash(self, req); },
  };
}

} // namespace starling
