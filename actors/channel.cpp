// Local channel actor: subscribers of this node, one encode per event.
#include "actors/channel.hpp"

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/logic.hpp"
#include "actors/messages.hpp"
#include "pusher/frame.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = caf::stateful_actor<channel_state>*;

// Owner calls are local or cross one hop; a stuck owner must not pin joins.
constexpr auto owner_timeout = std::chrono::seconds(10);

void report_if_idle(self_ptr self) {
  auto& st = self->state;
  if (st.subscribers.empty() && st.pending == 0)
    self->send(st.app, channel_idle{st.channel, st.joins});
}

void remove_subscriber(self_ptr self, const caf::actor_addr& conn) {
  auto& st = self->state;
  auto i = st.index.find(conn);
  if (i == st.index.end())
    return;
  auto pos = i->second;
  st.index.erase(i);
  auto sub = std::move(st.subscribers[pos]);
  if (pos + 1 != st.subscribers.size()) {
    st.subscribers[pos] = std::move(st.subscribers.back());
    st.index[st.subscribers[pos].connection] = pos;
  }
  st.subscribers.pop_back();
  st.links = nullptr;
  owner_leave leave{st.ctx->node_id, sub.socket_id, st.traits.has_roster(),
                    sub.user_id};
  self->send(st.owner, caf::leave_atom::value, std::move(leave));
  report_if_idle(self);
}

// The owner answered from `node` when its last number was `seq`. Numbers
// only grow across owners (a handoff continues them; a rebuilt owner starts
// from the clock), so one rule orders everything: deliver what is newer than
// the last delivered. A new owner whose numbers are lower (another clock)
// lowers the bar to its own.
void learn_owner_node(self_ptr self, const std::string& node, uint64_t seq) {
  auto& st = self->state;
  if (node.empty() || node == st.owner_node)
    return;
  st.owner_node = node;
  st.last_seq = std::min(st.last_seq, seq);
}

// Presence: what this node's clients were told about members.
void learn_members(self_ptr self, const channel_event& ev) {
  auto& st = self->state;
  if (ev.event == "pusher_internal:member_added")
    st.known_members.insert(pusher::member_data_user_id(ev.data));
  else if (ev.event == "pusher_internal:member_removed")
    st.known_members.erase(pusher::member_data_user_id(ev.data));
}

// Hands one event to every local subscriber: encoded once, one hand-off.
void deliver_now(self_ptr self, const channel_event& ev) {
  auto& st = self->state;
  if (st.subscribers.empty())
    return;
  if (st.traits.has_roster())
    learn_members(self, ev);
  // Encode once per node; every subscriber shares the same bytes.
  auto frame = make_frame(pusher::encode_event(
    ev.event, st.channel, ev.data,
    ev.data_is_json ? pusher::data_format::as_json
                    : pusher::data_format::as_string,
    ev.user_id));
  // The link list is rebuilt only after membership changed, so an
  // event costs one hand-off to the transport, not one per subscriber.
  if (!st.links) {
    auto links = std::make_shared<std::vector<session_link_ptr>>();
    links->reserve(st.subscribers.size());
    for (auto& sub : st.subscribers)
      links->push_back(sub.link);
    st.links = std::move(links);
  }
  const session_link* exclude = nullptr;
  if (!ev.exclude.empty())
    for (auto& sub : st.subscribers)
      if (sub.socket_id == ev.exclude) {
        exclude = sub.link.get();
        break;
      }
  st.subscribers.front().link->send_to_all(frame, st.links, exclude);
  st.delivered += st.subscribers.size() - (exclude != nullptr ? 1 : 0);
}

// How long a later event waits for a missing number, and how many wait.
constexpr auto gap_wait = std::chrono::milliseconds(50);
constexpr std::size_t max_gap_events = 1024;

// Delivers the held events that now follow in order.
void drain_gap(self_ptr self) {
  auto& st = self->state;
  while (!st.gap.empty()) {
    auto i = st.gap.begin();
    if (i->first <= st.last_seq) {
      st.gap.erase(i);
      continue;
    }
    if (i->first != st.last_seq + 1)
      return;
    st.last_seq = i->first;
    deliver_now(self, i->second);
    st.gap.erase(i);
  }
}

// The missing numbers did not come (lost, or a new owner numbering from
// its own base): deliver what was held, in order.
void flush_gap(self_ptr self) {
  auto& st = self->state;
  auto held = std::move(st.gap);
  st.gap.clear();
  for (auto& [seq, ev] : held)
    if (seq > st.last_seq) {
      st.last_seq = seq;
      deliver_now(self, ev);
    }
}

void hold_for_gap(self_ptr self, channel_event ev) {
  auto& st = self->state;
  st.gap.emplace(ev.seq, std::move(ev));
  if (st.gap.size() > max_gap_events) {
    flush_gap(self);
    return;
  }
  if (!st.gap_timer) {
    st.gap_timer = true;
    self->delayed_send(self, gap_wait, gap_atom::value);
  }
}

// Registers one join with the owner; subscribes on its answer.
void start_join(self_ptr self, channel_join join, caf::actor conn,
                caf::response_promise rp) {
  auto& st = self->state;
  owner_join oj{st.ctx->node_id, join.socket_id, join.presence,
                join.user_id, join.user_info, join.rejoin};
  auto link = join.link;
  auto socket_id = join.socket_id;
  auto user_id = join.user_id;
  auto user_info = join.user_info;
  auto rejoin = join.rejoin;
  self
    ->request(st.owner, owner_timeout, caf::join_atom::value, std::move(oj))
    .then(
      [self, rp, conn, link, socket_id, user_id, user_info,
       rejoin](owner_joined& r) mutable {
        auto& st = self->state;
        --st.pending;
        if (r.ok)
          learn_owner_node(self, r.owner_node, r.seq);
        if (!r.ok) {
          link->send(make_frame(pusher::encode_subscription_error(
            st.channel, r.error_type, r.error, r.status)));
          rp.deliver(caf::make_error(errc::subscription_refused));
          report_if_idle(self);
          return;
        }
        // Pusher protocol §2.4/§2.8: succeeded first, then the cached
        // event or cache_miss; later events follow through `deliver`.
        if (!rejoin) {
          link->send(make_frame(
            pusher::encode_subscription_succeeded(st.channel, r.data_json)));
          if (st.traits.has_roster())
            for (auto& id : pusher::presence_data_ids(r.data_json))
              st.known_members.insert(std::move(id));
        }
        if (r.subscription_count >= 0)
          link->send(make_frame(pusher::encode_subscription_count(
            st.channel, static_cast<std::size_t>(r.subscription_count))));
        if (r.cache_channel && !rejoin) {
          if (r.cache_hit)
            link->send(make_frame(pusher::encode_event(
              r.cache_event, st.channel, r.cache_data,
              pusher::data_format::as_string)));
          else
            link->send(make_frame(pusher::encode_cache_miss(st.channel)));
        }
        st.index.emplace(conn.address(), st.subscribers.size());
        st.subscribers.push_back(channel_subscriber{
          conn.address(), socket_id, user_id, user_info, link});
        st.links = nullptr;
        // Monitoring a connection that already ended delivers its
        // down_msg at once, so a join racing a disconnect cleans up.
        self->monitor(conn);
        rp.deliver(caf::ok_atom::value, caf::actor_cast<caf::actor>(self));
      },
      [self, rp, link](caf::error& err) mutable {
        auto& st = self->state;
        --st.pending;
        component_logger("channel")->warn("join failed channel={} error={}",
                                          st.channel, to_string(err));
        link->send(make_frame(pusher::encode_subscription_error(
          st.channel, "ServerError", "channel owner unavailable", 503)));
        rp.deliver(std::move(err));
        report_if_idle(self);
      });
}

// Gets the channel's owner from the app (first use in a cluster, or after
// the owner crashed) and registers every local subscriber with it again,
// silently (clients see no change); then the joins that waited for it.
void rejoin_owner(self_ptr self) {
  auto& st = self->state;
  self->request(st.app, owner_timeout, owner_atom::value, st.channel)
    .then(
      [self](caf::actor& owner) {
        auto& st = self->state;
        if (owner == st.owner)
          return; // Ownership did not move.
        if (st.owner) {
          // Ownership moved (the ring changed): the old owner forgets this
          // node without member events; the new one learns it silently.
          self->demonitor(st.owner);
          self->send(st.owner, caf::leave_atom::value, st.ctx->node_id);
        }
        st.owner = std::move(owner);
        self->monitor(st.owner);
        // One message tells the new owner everything this node has on the
        // channel; repeating it changes nothing. With nobody subscribed yet
        // there is nothing to tell (and an empty sync would look idle).
        if (!st.subscribers.empty() || !st.known_members.empty()) {
          owner_sync sync;
          sync.node = st.ctx->node_id;
          sync.subscribers = st.subscribers.size();
          if (st.traits.has_roster()) {
            for (auto& sub : st.subscribers)
              sync.members.push_back(roster_entry{sub.user_id, sub.user_info});
            sync.known_members.assign(st.known_members.begin(),
                                      st.known_members.end());
          }
          self
            ->request(st.owner, owner_timeout, sync_atom::value, std::move(sync))
            .then(
              [self](owner_joined& r) {
                learn_owner_node(self, r.owner_node, r.seq);
              },
              [](caf::error&) {});
        }
        auto waiting = std::move(st.waiting);
        st.waiting.clear();
        for (auto& w : waiting)
          start_join(self, std::move(w.join), std::move(w.conn), w.rp);
      },
      [self](caf::error&) {
        // No owner now (its node unreachable, the view settling): retry.
        self->delayed_send(self, std::chrono::milliseconds(500),
                           owner_atom::value);
      });
}

} // namespace

caf::behavior channel_behavior(caf::stateful_actor<channel_state>* self,
                               std::string channel, app_context_ptr ctx,
                               caf::actor app, caf::actor owner) {
  auto& st = self->state;
  st.traits = pusher::classify_channel(channel);
  st.channel = std::move(channel);
  st.ctx = std::move(ctx);
  st.app = std::move(app);
  st.owner = std::move(owner);
  if (st.owner)
    self->monitor(st.owner);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->state.owner.address()) {
      // The owner crashed or its node died. Resolve again shortly: a dead
      // node stays in the view until its timeout.
      self->state.owner = nullptr;
      self->delayed_send(self, std::chrono::milliseconds(200),
                         owner_atom::value);
      return;
    }
    // A subscriber's connection ended (closed or crashed): it leaves.
    remove_subscriber(self, dm.source);
  });
  return {
    [self](caf::join_atom, channel_join& join) -> caf::result<caf::message> {
      auto& st = self->state;
      ++st.joins;
      ++st.pending;
      auto conn = caf::actor_cast<caf::actor>(self->current_sender());
      auto rp = self->make_response_promise();
      if (!st.owner) {
        // The owner (maybe on another node) is still being resolved.
        st.waiting.push_back(pending_join{std::move(join), std::move(conn), rp});
        return rp;
      }
      start_join(self, std::move(join), std::move(conn), rp);
      return rp;
    },
    [self](caf::leave_atom) {
      auto conn = caf::actor_cast<caf::actor_addr>(self->current_sender());
      self->demonitor(conn);
      remove_subscriber(self, conn);
    },
    [self](deliver_atom, channel_event& ev) {
      auto& st = self->state;
      if (ev.origin.empty()) {
        deliver_now(self, ev);
        return;
      }
      // One order: drop anything not newer than what was delivered (a
      // dead owner's stragglers after its successor's events).
      if (ev.seq <= st.last_seq)
        return;
      if (st.subscribers.empty()) {
        st.last_seq = ev.seq;
        return;
      }
      if (st.last_seq != 0 && ev.seq != st.last_seq + 1) {
        // A gap: the missing event may still be on its way by another
        // path (a predecessor's last events leave on its own NATS
        // connection, which NATS does not order against the successor's).
        hold_for_gap(self, std::move(ev));
        return;
      }
      st.last_seq = ev.seq;
      deliver_now(self, ev);
      drain_gap(self);
    },
    [self](gap_atom) {
      self->state.gap_timer = false;
      flush_gap(self);
    },
    [self](client_event_atom, client_event& ev) {
      self->send(self->state.owner, client_event_atom::value, std::move(ev));
    },
    [self](logic_atom, const std::string& socket_id, const std::string& event,
           const std::string& data) {
      // App logic answers a client event: its sender alone gets this.
      auto& st = self->state;
      for (auto& sub : st.subscribers)
        if (sub.socket_id == socket_id) {
          sub.link->send(make_frame(pusher::encode_event(
            event, st.channel, data, pusher::data_format::as_string)));
          return;
        }
    },
    [self](owner_atom) {
      // The app set up this node's interest (clustered): find the owner.
      rejoin_owner(self);
    },
    [self](stop_atom) { self->quit(); },
    [self](stats_atom) {
      return caf::make_message(
        static_cast<uint64_t>(self->state.subscribers.size()),
        self->state.delivered);
    },
    [self](crash_atom) -> caf::result<void> {
      throw std::runtime_error("injected fault in channel "
                               + self->state.channel);
    },
  };
}

} // namespace starling
