// Local channel actor: subscribers of this node, one encode per event,
// joins through the owner. The order of events (gaps, replay, foreign
// owners) is in actors/channel_order.cpp. Joins and delivery stay in one
// file: a join's catch-up reads the events delivered while it waited, and
// both change the subscriber list and its shared link list together.
#include "actors/channel.hpp"
#include "actors/channel_order.hpp"
#include "actors/channel_owner.hpp"
#include "actors/owner_ops.hpp"

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "pusher/frame.hpp"

#include <spdlog/spdlog.h>

namespace starling {

channel_state::channel_state() = default;
channel_state::~channel_state() = default;

using channel_detail::ask_replay;
using channel_detail::on_event;
using channel_detail::deliver_now;
using channel_detail::resuming;
using channel_detail::same_numbering;

namespace {

using self_ptr = channel_detail::self_ptr;

// The channel whose handler runs (flyweight_actor.hpp).
self_ptr me() {
  return running<channel_state, channel_actor>();
}

// Owner calls are local or cross one hop; a stuck owner must not pin joins.
constexpr auto owner_timeout = std::chrono::seconds(10);
// How long a replacement for a crashed channel keeps its delivered events
// for subscribers still rejoining (they retry every 50 ms).
constexpr auto resume_window = std::chrono::seconds(5);

// Events kept for joins still waiting for their answer, at most.
constexpr std::size_t max_recent = 256;

// A lost owner (crash, dead node) is looked up again after this: a dead
// node stays in the view until its timeout.
constexpr auto resolve_retry = std::chrono::milliseconds(200);

// How long a call to the owner may take: a hosted owner (this actor)
// answers or fails with us, so its calls need no timer (a clock entry per
// call while it is pending).
caf::duration owner_call_timeout(self_ptr self) {
  if (self->state.owner.address() == self->address())
    return caf::duration{caf::infinite};
  return caf::duration{owner_timeout};
}

void report_if_idle(self_ptr self) {
  auto& st = self->state;
  if (st.subscribers.empty() && st.pending == 0)
    self->send(st.app, channel_idle{st.channel, st.joins});
}

// Most channels have a handful of subscribers (a user's own channel has
// one): they keep no index, a scan of a few entries costs less than a hash
// table's buckets and nodes. The index holds every subscriber from
// `index_from` on, and is dropped again below half of it.
constexpr std::size_t index_from = 16;

void indexed_last(channel_state& st) {
  auto n = st.subscribers.size();
  if (st.indexed()) {
    st.extras->index.emplace(st.subscribers.back().connection.address(), n - 1);
  } else if (n >= index_from) {
    auto& index = st.more().index;
    index.reserve(n);
    for (std::size_t pos = 0; pos < n; ++pos)
      index.emplace(st.subscribers[pos].connection.address(), pos);
  }
}

std::size_t position_of(const channel_state& st, const caf::actor_addr& conn) {
  if (st.indexed()) {
    auto& index = st.extras->index;
    auto i = index.find(conn);
    return i == index.end() ? st.subscribers.size() : i->second;
  }
  std::size_t pos = 0;
  while (pos < st.subscribers.size()
         && st.subscribers[pos].connection.address() != conn)
    ++pos;
  return pos;
}

void remove_subscriber(self_ptr self, const caf::actor_addr& conn) {
  auto& st = self->state;
  auto pos = position_of(st, conn);
  if (pos == st.subscribers.size())
    return;
  bool indexed = st.indexed();
  if (indexed)
    st.extras->index.erase(conn);
  auto sub = std::move(st.subscribers[pos]);
  if (sub.waiting)
    --st.joining;
  if (pos + 1 != st.subscribers.size()) {
    st.subscribers[pos] = std::move(st.subscribers.back());
    if (indexed)
      st.extras->index[st.subscribers[pos].connection.address()] = pos;
  }
  st.subscribers.pop_back();
  if (indexed && st.subscribers.size() < index_from / 2)
    st.extras->index = {}; // frees the buckets too
  st.subscribed.set(st.subscribers.size());
  st.links = nullptr;
  if (st.owner)
    self->send(st.owner, owner_leave{st.ctx->node_id, sub.link->socket_id(),
                                     sub.member(), sub.user_id()});
  report_if_idle(self);
}

// The owner answered from `node` when its last number was `seq`. Numbers
// only grow across owners that hand over (a handoff continues them), so one
// rule orders everything: deliver what is newer than the last delivered. A
// new owner whose numbers are lower (another clock) lowers the bar to its
// own. After the owner was lost (it crashed or its node died) its successor
// numbers from its own base: its number at the answer is the new bar, and
// what the lost owner numbered later never comes.
void learn_owner_node(self_ptr self, const std::string& node, uint64_t seq) {
  auto& st = self->state;
  // The first answer sets the bar: its joiners are owed what the owner
  // numbers after `seq`, and a first event the bus (or our crash) lost is
  // then a gap like any other, not silently skipped.
  if (st.last_seq == 0)
    st.last_seq = seq;
  // A successor that took the state over continues the numbers: what was
  // delivered stays delivered, and a caller asks for what lies between
  // (its answer may be older or newer than the events the bus brought).
  bool continued = st.last_seq != 0 && same_numbering(seq, st.last_seq);
  if (st.owner_lost) {
    // A rebuilt owner numbers from its own base: follow it from its answer.
    st.owner_lost = false;
    st.owner_node = node_names::of(node);
    if (!continued)
      st.last_seq = seq;
    return;
  }
  if (node.empty() || node == *st.owner_node)
    return;
  component_logger("channel")->debug("owner moved channel={} from={} to={} "
                                     "seq={} last_seq={}",
                                     st.channel, *st.owner_node, node, seq,
                                     st.last_seq);
  st.owner_node = node_names::of(node);
  if (!continued)
    st.last_seq = std::min(st.last_seq, seq);
}

// Watchlist channels tell the watching connections, which merge it into
// their watchlist state; nothing goes to a socket from here.
void deliver_watch(self_ptr self, const channel_event& ev) {
  auto& st = self->state;
  if (ev.kind != event_kind::member_added
      && ev.kind != event_kind::member_removed)
    return;
  watch_event we{ev.user_id, ev.kind == event_kind::member_added};
  for (auto& sub : st.subscribers)
    if (!sub.silent && !sub.waiting)
      self->send(sub.connection, we);
}

// Encodes one event of the channel once per node.
frame_ptr encode(channel_state& st, const channel_event& ev) {
  switch (ev.kind) {
    case event_kind::message:
      return make_frame(pusher::encode_event(ev.event, st.channel, ev.data,
                                             pusher::data_format::as_string));
    case event_kind::client:
      return make_frame(pusher::encode_event(
        ev.event, st.channel, ev.data, pusher::data_format::as_json,
        st.traits.has_roster() ? std::string_view{ev.user_id}
                               : std::string_view{}));
    case event_kind::member_added:
      st.more().known_members.insert(ev.user_id);
      return make_frame(pusher::encode_member_added(
        st.channel, pusher::presence_member{ev.user_id, ev.data}));
    case event_kind::member_removed:
      if (st.extras)
        st.extras->known_members.erase(ev.user_id);
      return make_frame(pusher::encode_member_removed(st.channel, ev.user_id));
    case event_kind::subscription_count:
      return make_frame(pusher::encode_subscription_count(
        st.channel, static_cast<std::size_t>(ev.count)));
  }
  return nullptr;
}

// Hands one event to every local subscriber: encoded once, one hand-off.
// Subscribers that joined at owner number `from_seq` receive events
// numbered after it: the ones that reach this channel from now on, in
// order. Until then they are left out of the delivery list.
void activate_joiners(self_ptr self, uint64_t seq) {
  auto& st = self->state;
  if (st.joining == 0)
    return;
  for (auto& sub : st.subscribers)
    if (sub.waiting && sub.from_seq < seq) {
      sub.waiting = false;
      --st.joining;
      st.links = nullptr;
    }
}

// While joins wait for their answer, delivered events are kept: the answer
// may come after events the owner numbered later (they travel on the bus,
// the answer through the middleman), and its subscriber gets those.
void remember(self_ptr self, const channel_event& ev, const frame_ptr& frame) {
  auto& st = self->state;
  if (st.pending == 0 && !resuming(st)) {
    st.recent.clear();
    return;
  }
  if (st.recent.size() >= max_recent)
    st.recent.erase(st.recent.begin());
  st.recent.push_back(recent_event{ev.seq, frame, ev.exclude, ev.user_id,
                                   ev.kind == event_kind::member_added});
}


} // namespace

namespace channel_detail {

void keep_for_joiners(self_ptr self, const channel_event& ev) {
  auto& st = self->state;
  if (st.pending == 0)
    return;
  remember(self, ev, st.traits.is_internal() ? nullptr : encode(st, ev));
}

// Hands one event to every local subscriber: encoded once, one hand-off.
void deliver_now(self_ptr self, const channel_event& ev) {
  auto& st = self->state;
  if (st.subscribers.empty())
    return;
  activate_joiners(self, ev.seq);
  if (st.traits.is_internal()) {
    remember(self, ev, nullptr);
    deliver_watch(self, ev);
    return;
  }
  auto frame = encode(st, ev);
  remember(self, ev, frame);
  // The link list is rebuilt only after membership changed, so an event
  // costs one hand-off to the transport, not one per subscriber.
  if (!st.links) {
    auto links = std::make_shared<std::vector<session_link_ptr>>();
    links->reserve(st.subscribers.size());
    for (auto& sub : st.subscribers)
      if (!sub.silent && !sub.waiting)
        links->push_back(sub.link);
    order_by_shard(*links);
    st.links = std::move(links);
  }
  const session_link* exclude = nullptr;
  if (auto excluded = pusher::parse_socket_id(ev.exclude))
    for (auto& sub : st.subscribers)
      if (sub.id() == *excluded) {
        exclude = sub.link.get();
        break;
      }
  if (st.links->empty())
    return;
  publish_stamp stamp;
  if (ev.published_ns != 0)
    stamp = publish_stamp{&st.ctx->counters->flush_latency, ev.published_ns};
  st.ctx->fanout->deliver(frame, st.links, exclude, stamp);
  st.delivered += st.links->size() - (exclude != nullptr ? 1 : 0);
}

} // namespace channel_detail

namespace {

// A join answered when the owner's last number was `seq`: events numbered
// after it that this channel already delivered go to the joiner alone, the
// rest reach it with everyone (activate_joiners).
void catch_up(self_ptr self, channel_subscriber& sub, uint64_t seq) {
  auto& st = self->state;
  if (seq >= st.last_seq) {
    sub.waiting = true;
    sub.from_seq = seq;
    ++st.joining;
    return;
  }
  if (sub.silent)
    return;
  auto id = sub.link->socket_id();
  for (auto& r : st.recent) {
    if (r.seq <= seq || r.seq > st.last_seq || r.exclude == id)
      continue;
    if (r.frame)
      sub.link->send(r.frame);
    else
      self->send(sub.connection, watch_event{r.user_id, r.online});
  }
}


// Sends what a client gets once the owner accepted its join: Pusher
// protocol §2.4/§2.8: succeeded first, then the count, then the cached
// event or cache_miss; later events follow through the owner.
void greet(channel_state& st, const channel_join& join, const owner_joined& r) {
  auto& link = join.link;
  if (st.traits.is_internal())
    return; // Watchlist: the connection tells its client.
  if (!join.rejoin) {
    std::string data = "{}";
    if (st.traits.has_roster()) {
      std::vector<pusher::presence_member> members;
      members.reserve(r.members.size());
      for (auto& m : r.members)
        members.push_back(pusher::presence_member{m.user_id, m.user_info});
      data = pusher::encode_presence_data(members);
    }
    link->send(
      make_frame(pusher::encode_subscription_succeeded(st.channel, data)));
  }
  if (r.subscription_count >= 0)
    link->send(make_frame(pusher::encode_subscription_count(
      st.channel, static_cast<std::size_t>(r.subscription_count))));
  if (st.traits.keeps_last_event() && !join.rejoin) {
    if (r.cache_hit)
      link->send(make_frame(pusher::encode_event(
        r.cache_event, st.channel, r.cache_data,
        pusher::data_format::as_string)));
    else
      link->send(make_frame(pusher::encode_cache_miss(st.channel)));
  }
}

void resolve(self_ptr self);

// Registers one join with the owner; subscribes on its answer.
void start_join(self_ptr self, channel_join join, connection_actor conn,
                caf::typed_response_promise<channel_joined> rp) {
  auto& st = self->state;
  owner_join oj{st.ctx->node_id, join.socket_id, join.member,
                join.user_id,     join.user_info, join.rejoin};
  auto asked = st.owner;
  self->request(st.owner, owner_call_timeout(self), std::move(oj))
    .then(
      [self, rp, conn, join](owner_joined& r) mutable {
        auto& st = self->state;
        --st.pending;
        if (!r.ok) {
          if (st.pending == 0)
            st.recent.clear();
          join.link->send(make_frame(pusher::encode_subscription_error(
            st.channel, r.error_type, r.error, r.status)));
          rp.deliver(caf::make_error(errc::subscription_refused));
          report_if_idle(self);
          return;
        }
        learn_owner_node(self, r.owner_node, r.seq);
        greet(st, join, r);
        if (st.traits.has_roster())
          for (auto& m : r.members)
            st.more().known_members.insert(m.user_id);
        channel_subscriber sub{conn, join.link, nullptr};
        sub.silent = join.silent;
        if (join.member)
          sub.identity = make_member_identity(join.user_id, join.user_info);
        st.subscribers.push_back(std::move(sub));
        indexed_last(st);
        st.subscribed.set(st.subscribers.size());
        // A subscriber of a crashed predecessor continues after the last
        // number that one delivered.
        bool resumed = join.rejoin && resuming(st);
        catch_up(self, st.subscribers.back(),
                 resumed ? std::min(r.seq, st.extras->resume_seq) : r.seq);
        if (st.pending == 0 && !resuming(st))
          st.recent.clear();
        st.links = nullptr;
        // Monitoring a connection that already ended delivers its
        // down_msg at once, so a join racing a disconnect cleans up.
        self->monitor(conn);
        if (resumed && r.seq > st.last_seq)
          ask_replay(self);
        rp.deliver(channel_joined{self, r.members.size()});
      },
      [self, rp, conn, join, asked](caf::error& err) mutable {
        auto& st = self->state;
        if (err == caf::sec::request_receiver_down) {
          // The owner ended under the join (it went idle as our last
          // subscriber left, or crashed): join the current one instead.
          // The join stays pending. Its successor numbers anew, and this
          // bounce may come before the owner's down message says so.
          if (st.owner == asked) {
            st.owner = nullptr;
            st.owner_lost = true;
          }
          if (st.owner) {
            start_join(self, std::move(join), std::move(conn), rp);
            return;
          }
          st.waiting.push_back(
            pending_join{std::move(join), std::move(conn), rp});
          if (!st.resolving)
            resolve(self);
          return;
        }
        --st.pending;
        component_logger("channel")->warn("join failed channel={} error={}",
                                          st.channel, to_string(err));
        if (!st.traits.is_internal())
          join.link->send(make_frame(pusher::encode_subscription_error(
            st.channel, "ServerError", "channel owner unavailable", 503)));
        rp.deliver(std::move(err));
        report_if_idle(self);
      });
}

// Tells a new owner everything this node has on the channel, in one
// message; repeating it changes nothing.
void sync_owner(self_ptr self) {
  auto& st = self->state;
  owner_sync sync;
  sync.node = st.ctx->node_id;
  sync.subscribers = st.subscribers.size();
  if (st.traits.has_roster()) {
    for (auto& sub : st.subscribers)
      if (sub.member())
        sync.members.push_back(roster_entry{sub.identity->user_id,
                                            sub.identity->user_info});
    if (st.extras)
      sync.known_members.assign(st.extras->known_members.begin(),
                                st.extras->known_members.end());
  }
  self->request(st.owner, owner_call_timeout(self), std::move(sync))
    .then(
      [self](owner_synced& r) {
        learn_owner_node(self, r.owner_node, r.seq);
        if (r.seq > self->state.last_seq)
          ask_replay(self);
      },
      [](caf::error&) {
        // The owner ended meanwhile: its down message resolves again.
      });
}

void on_owner(self_ptr self, owner_actor owner) {
  auto& st = self->state;
  if (owner == st.owner) {
    // Ownership did not move, but the bus may have lost events meanwhile
    // (asked after NATS came back): catch up.
    ask_replay(self);
    return;
  }
  if (st.owner) {
    // Ownership moved (the ring changed): the old owner forgets this node
    // without member events; the new one learns it silently.
    self->demonitor(st.owner.address());
    self->send(st.owner, node_moved{st.ctx->node_id});
  }
  st.owner = std::move(owner);
  // An owner hosted here ends with us, or tells us (owner_part_ended).
  if (st.owner.address() != self->address())
    self->monitor(st.owner);
  // With nobody subscribed yet there is nothing to tell (and an empty sync
  // would look idle).
  if (!st.subscribers.empty()
      || (st.extras && !st.extras->known_members.empty()))
    sync_owner(self);
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& w : waiting)
    start_join(self, std::move(w.join), std::move(w.conn), std::move(w.rp));
}

// Asks the directory for the owner (first use, a changed ring, a lost
// owner). The directory puts this node's interest on the bus first. A newer
// question supersedes one still under way (its answer may predate the
// change that asks again, or wait on a dead node).
void resolve(self_ptr self) {
  auto& st = self->state;
  auto generation = ++st.resolve_generation;
  st.resolving = true;
  self->request(st.directory, owner_timeout,
                resolve_owner{st.channel, self, true})
    .then(
      [self, generation](owner_actor& owner) {
        if (generation != self->state.resolve_generation)
          return;
        self->state.resolving = false;
        on_owner(self, std::move(owner));
      },
      [self, generation](caf::error& err) {
        auto& st = self->state;
        if (generation != st.resolve_generation)
          return;
        st.resolving = false;
        // No owner now (its node unreachable, the view settling): retry.
        component_logger("channel")->debug("owner lookup failed channel={} "
                                           "error={}",
                                           st.channel, to_string(err));
        self->delayed_send(self, std::chrono::milliseconds(500),
                           resolve_atom::value);
      });
}

} // namespace

namespace channel_detail {

// The channel's owner ended or is lost: find the next one (if anyone here
// still needs one; else the next join asks).
void lose_owner(self_ptr self, bool node_died) {
  auto& st = self->state;
  st.owner = nullptr;
  st.owner_lost = true;
  if (st.subscribers.empty() && st.pending == 0)
    return;
  if (node_died)
    self->delayed_send(self, resolve_retry, resolve_atom::value);
  else
    resolve(self);
}

// The channel part's down handling: its owner or a subscriber ended.
void on_channel_down(self_ptr self, caf::down_msg& dm) {
  auto& st = self->state;
  if (st.owner && dm.source == st.owner.address()) {
    // The owner crashed or went idle under a racing join: its directory
    // has (or makes) a successor at once. Its node died: the view drops
    // it shortly, ask again then.
    lose_owner(self,
               dm.reason == caf::exit_reason::remote_link_unreachable);
    return;
  }
  // A subscriber's connection ended (closed or crashed): it leaves.
  remove_subscriber(self, dm.source);
}

// The handlers of every channel (flyweight_actor.hpp): built once.
const channel_actor::behavior_type& channel_handlers() {
  static const channel_actor::behavior_type handlers{
    [](channel_join& join) -> caf::typed_response_promise<channel_joined> {
      auto self = me();
      auto& st = self->state;
      ++st.joins;
      ++st.pending;
      auto conn = caf::actor_cast<connection_actor>(self->current_sender());
      auto rp = self->make_response_promise<channel_joined>();
      if (!st.owner) {
        // The owner (maybe on another node) is still being resolved.
        st.waiting.push_back(pending_join{std::move(join), std::move(conn), rp});
        if (!st.resolving)
          resolve(self);
        return rp;
      }
      start_join(self, std::move(join), std::move(conn), rp);
      return rp;
    },
    [](caf::unsubscribe_atom) {
      auto self = me();
      auto conn = caf::actor_cast<caf::actor_addr>(self->current_sender());
      self->demonitor(conn);
      remove_subscriber(self, conn);
    },
    [](channel_event& ev) { on_event(me(), ev); },
    [](gap_atom) {
      auto self = me();
      self->state.gap_timer = false;
      ask_replay(self);
    },
    [](client_event& ev) {
      // Only without an owner part here (its handler comes first).
      auto self = me();
      auto& owner = self->state.owner;
      if (owner && owner.address() != self->address())
        self->send(owner, std::move(ev));
    },
    [](logic_answer& answer) {
      auto self = me();
      auto& st = self->state;
      auto to = pusher::parse_socket_id(answer.socket_id);
      if (!to)
        return;
      for (auto& sub : st.subscribers)
        if (sub.id() == *to) {
          sub.link->send(make_frame(pusher::encode_event(
            answer.event, st.channel, answer.data,
            pusher::data_format::as_string)));
          return;
        }
    },
    [](resolve_atom) {
      // Asked by the directory after a view change, or our own retry.
      resolve(me());
    },
    [](stop_atom) {
      auto self = me();
      if (!self->state.owner_part) {
        self->quit();
        return;
      }
      // The app forgot us; the owner part may still be in use elsewhere.
      self->state.app = nullptr;
      owner_ops::on_channel_stopped(self);
    },
    [](host_owner& h) -> caf::result<caf::ok_atom> {
      auto self = me();
      auto& st = self->state;
      if (st.owner_part || !channel_active(st))
        return caf::make_error(errc::not_available,
                               "channel cannot host its owner now");
      self->become(host_owner_part(self, std::move(h.start)));
      return caf::ok_atom::value;
    },
    [](channel_stats_atom) {
      auto self = me();
      return channel_stats{self->state.subscribers.size(),
                           self->state.delivered};
    },
    [](crash_atom) {
      throw std::runtime_error("injected fault in channel "
                               + me()->state.channel);
    },
  };
  return handlers;
}

bool is_subscriber(const channel_state& st, const caf::actor_addr& addr) {
  return position_of(st, addr) != st.subscribers.size();
}

} // namespace channel_detail

channel_actor::behavior_type
channel_behavior(channel_flyweight self,
                 std::string channel, app_context_ptr ctx, app_actor app,
                 owner_directory_actor directory, uint64_t resume_seq) {
  auto& st = self->state;
  st.last_seq = resume_seq;
  if (resume_seq != 0) {
    st.more().resume_seq = resume_seq;
    st.more().resume_until = std::chrono::steady_clock::now() + resume_window;
  }
  st.traits = pusher::classify_channel(channel);
  st.channel = std::move(channel);
  st.ctx = std::move(ctx);
  // Internal channels (#watchlist-..., #server-to-user-...) are not
  // subscriptions a client asked for.
  if (st.channel.empty() || st.channel[0] != '#')
    st.subscribed.attach(&st.ctx->counters->subscriptions);
  st.app = std::move(app);
  st.directory = std::move(directory);
  channel_detail::install_handlers(self);
  resolve(self);
  return channel_detail::channel_handlers();
}

} // namespace starling
