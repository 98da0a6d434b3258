// Channel owner actor: orders every event of its channel and emits the
// cluster-wide facts (member events, subscription counts) exactly once.
#include "actors/channel_owner.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "transport/codec/frame.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = caf::stateful_actor<channel_owner_state>*;

void fan_out(self_ptr self, channel_event ev) {
  auto& st = self->state;
  ev.seq = ++st.seq;
  ev.origin = st.ctx->node_id;
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
  fan_out(self, std::move(ev));
}

// Webhooks come from the owner only: once per occurrence cluster-wide.
void webhook(self_ptr self, const char* name, const std::string& user_id = {}) {
  auto& st = self->state;
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
  if (!st.ctx->app.enable_subscription_count || st.traits.is_presence())
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
  if (st.subscribers == 0 && !cache_live(self))
    self->send(st.app, owner_idle{st.channel});
}

std::string member_data(const std::string& user_id,
                        const std::string& user_info) {
  auto result = "{\"user_id\":" + codec::json_quote(user_id);
  if (!user_info.empty())
    result += ",\"user_info\":" + user_info;
  result += '}';
  return result;
}

// Members of a crashed channel get this long to come back (their
// connections re-join at once) before member_removed goes out.
constexpr auto departing_grace = std::chrono::seconds(2);

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
    auto due = self->clock().now() + departing_grace;
    for (auto& user : st.roster.remove_node(node))
      st.departing[user] = due;
    self->delayed_send(self, departing_grace, departed_atom::value);
    return;
  }
}

} // namespace

caf::behavior channel_owner_behavior(caf::stateful_actor<channel_owner_state>* self,
                                     std::string channel, app_context_ptr ctx,
                                     caf::actor app) {
  auto& st = self->state;
  st.traits = codec::classify_channel(channel);
  st.channel = std::move(channel);
  st.ctx = std::move(ctx);
  st.app = std::move(app);
  self->set_down_handler([self](caf::down_msg& dm) {
    channel_lost(self, dm.source);
  });
  return {
    [self](caf::join_atom, owner_join& join) {
      auto& st = self->state;
      // make_response_promise() takes the sender out of the current
      // message: read it first.
      auto channel = caf::actor_cast<caf::actor>(self->current_sender());
      auto rp = self->make_response_promise();
      owner_joined reply;
      reply.owner_node = st.ctx->node_id;
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
        reply.data_json = codec::encode_presence_data(st.roster.members());
      } else {
        reply.data_json = "{}";
      }
      if (st.traits.cached) {
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
      if (st.ctx->app.enable_subscription_count && !st.traits.is_presence()
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
      if (st.traits.cached) {
        st.cache_miss_reported = false;
        st.cache_hit = true;
        st.cache_event = ev.event;
        st.cache_data = ev.data;
        auto ttl = std::chrono::seconds(st.ctx->app.limits.cache_ttl_s);
        st.cache_expires = self->clock().now() + ttl;
        // One pending tick at a time, however often the channel publishes.
        if (!st.expire_pending) {
          st.expire_pending = true;
          self->delayed_send(self, ttl, expire_atom::value);
        }
      }
      fan_out(self, std::move(ev));
      if (st.subscribers == 0 && !st.traits.cached)
        report_if_idle(self);
    },
    [self](client_event_atom, client_event& ce) {
      auto& st = self->state;
      if (st.ctx->webhooks) {
        webhook_event wh;
        wh.name = "client_event";
        wh.channel = st.channel;
        wh.event = ce.event;
        wh.data = ce.data;
        wh.socket_id = ce.socket_id;
        if (st.traits.is_presence())
          wh.user_id = ce.user_id;
        self->send(st.ctx->webhooks, std::move(wh));
      }
      channel_event ev;
      ev.event = std::move(ce.event);
      ev.data = std::move(ce.data);
      ev.data_is_json = true;
      if (self->state.traits.is_presence())
        ev.user_id = std::move(ce.user_id);
      ev.exclude = std::move(ce.socket_id);
      fan_out(self, std::move(ev));
    },
    [self](caf::leave_atom, const std::string& node) {
      // The node's channel moved to another owner: forget it silently.
      auto& st = self->state;
      auto i = st.nodes.find(node);
      if (i == st.nodes.end())
        return;
      st.subscribers -= std::min(st.subscribers, i->second.subscribers);
      self->demonitor(i->second.channel);
      st.nodes.erase(i);
      st.roster.remove_node(node);
      if (st.subscribers == 0)
        report_if_idle(self);
    },
    [self](caf::put_atom, caf::actor& bridge) {
      self->state.bridge = std::move(bridge);
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
  };
}

} // namespace starling
