// Owner directory actor: placement of channel owners across the cluster.
#include "actors/owner_directory.hpp"
#include "actors/owner_directory_detail.hpp"

#include <set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/channel_owner.hpp"
#include "actors/errors.hpp"
#include "actors/fan_in.hpp"
#include "actors/log.hpp"
#include "pusher/channel_kind.hpp"

#include <spdlog/spdlog.h>

namespace starling::directory_detail {


// Owner lookups and handoffs cross at most one node.
constexpr auto call_timeout = std::chrono::seconds(5);

// Owners spawned this soon after a membership change may have a
// predecessor handing over; they hold events at most settle_max for it.
constexpr auto handoff_window = std::chrono::seconds(5);
constexpr auto settle_max = std::chrono::milliseconds(1000);

// A node that joins the bus hears from every peer at once (they answer a
// newcomer's announce); no answer in this time and it is alone.
constexpr auto discovery_window = std::chrono::milliseconds(1500);

// Bounded: a flood of distinct channels must not grow the cache for ever.
constexpr std::size_t max_remote_owners = 100000;

// An owner rebuilt after a crash holds events at most this long while
// the nodes re-sync.
constexpr auto rebuild_settle = std::chrono::milliseconds(500);

bool clustered(self_ptr self) {
  auto& st = self->state;
  return st.bridge && st.view.members.size() > 1;
}

bool alone(self_ptr self) {
  auto& st = self->state;
  if (clustered(self))
    return false;
  return !st.ctx->shared_bus || st.discovered
         || self->clock().now() >= st.discovery_ends;
}

// Owners number from the clock, so a successor rebuilt after its
// predecessor died or was cut off (even one spawned while this node was
// alone) hands out higher numbers than the predecessor did, and the
// predecessor's stragglers lose against them (2^20 numbers per millisecond
// of age before they could overlap).
uint64_t system_ms() {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
}

uint64_t clock_seq_base() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::system_clock::now().time_since_epoch());
  return static_cast<uint64_t>(ms.count()) << 20;
}

// A new owner for `name`: hosted by `channel`, this node's channel of that
// name, if given (one actor for both; not the forwarder of its last owner
// part), else in an actor of its own. The channel is the owner from now
// on; a channel that cannot host it (it just stopped or ended) answers
// callers as an ended owner would, and is forgotten as the owner, so the
// next call gets an owner of its own.
owner_actor host_or_spawn(self_ptr self, const std::string& name,
                          owner_start start, const channel_actor* channel) {
  auto& st = self->state;
  auto fw = st.forwarders.find(name);
  if (!channel || !*channel
      || (fw != st.forwarders.end()
          && fw->second.address() == channel->address()))
    return caf::actor_cast<owner_actor>(
      self->spawn(channel_owner_behavior, std::move(start)));
  auto host = *channel;
  auto owner = caf::actor_cast<owner_actor>(host);
  self->request(host, caf::infinite, host_owner{std::move(start)})
    .then([](caf::ok_atom) {},
          [self, name, owner](caf::error& err) {
            auto& st = self->state;
            auto i = st.owners.find(name);
            if (i == st.owners.end() || i->second != owner)
              return;
            component_logger("app")->debug("channel did not host its owner "
                                           "channel={} error={}",
                                           name, to_string(err));
            self->demonitor(owner.address());
            st.owners.erase(i);
          });
  return owner;
}

// The owner of `name` on this node, spawned on first use. `asked_by_peer`:
// another node resolved the owner to us, so it sees a cluster even if our
// view does not yet (we just started): a predecessor may be handing over.
owner_actor owner_for(self_ptr self, const std::string& name,
                      bool asked_by_peer, const channel_actor* host) {
  auto& st = self->state;
  if (auto i = st.owners.find(name); i != st.owners.end())
    return i->second;
  owner_start start;
  start.channel = name;
  start.ctx = st.ctx;
  start.directory = self;
  start.app = st.app;
  start.bridge = st.bridge;
  start.seq_base = clock_seq_base();
  auto recent = self->clock().now() - st.members_changed < handoff_window;
  if ((clustered(self) && recent) || (asked_by_peer && !clustered(self)))
    start.settle = settle_max;
  if (auto orphan = st.orphans.find(name); orphan != st.orphans.end()) {
    // The previous owner crashed while this node had subscribers: hold
    // events until they are known again. Alone, this node's sync is all
    // there is to wait for; in a cluster others re-sync within the window.
    start.settle = std::max(start.settle, caf::timespan{rebuild_settle});
    if (!clustered(self))
      start.await_syncs.push_back(st.ctx->node_id);
    // A hosted owner failed with its channel, which had delivered all it
    // numbered: continue its numbers (the channel's replacement resumes
    // after them). Else rebuilt at once, maybe in the millisecond its
    // predecessor began numbering in: start a millisecond on, past
    // whatever it numbered.
    if (orphan->second != 0)
      start.seq_base = orphan->second;
    else
      start.seq_base += uint64_t{1} << 20;
    st.orphans.erase(orphan);
  }
  start.app_bound_logic = st.app_bound_logic;
  component_logger("app")->debug("owner spawned channel={} seq_base={} "
                                 "settle_ms={}",
                                 name, start.seq_base,
                                 std::chrono::duration_cast<
                                   std::chrono::milliseconds>(start.settle)
                                   .count());
  // Not linked (directory_children): it says owner_ended as it ends, and
  // is watched for an end without a word.
  auto owner = host_or_spawn(self, name, std::move(start), host);
  // A hosted owner ends with its channel, which the app watches for us
  // (channel_gone); one of its own is watched here.
  if (!host || owner.address() != host->address())
    self->monitor(owner);
  // The channel came back here: the old forwarder points away from us.
  st.forwarders.erase(name);
  st.owners.emplace(name, owner);
  return owner;
}

// Remembers a remote owner until it ends or the view changes.
void cache_owner(self_ptr self, const std::string& name,
                 const owner_actor& owner) {
  auto& st = self->state;
  if (!owner || owner.node() == self->node())
    return;
  if (st.remote_owners.size() >= max_remote_owners) {
    for (auto& [addr, n] : st.remote_names)
      self->demonitor(addr);
    st.remote_owners.clear();
    st.remote_names.clear();
  }
  if (st.remote_owners.emplace(name, owner).second) {
    st.remote_names.emplace(owner.address(), name);
    self->monitor(owner);
  }
}

void forget_remote_owners(self_ptr self) {
  auto& st = self->state;
  for (auto& [addr, name] : st.remote_names)
    self->demonitor(addr);
  st.remote_owners.clear();
  st.remote_names.clear();
}

// Delivers the outcome of lookup `id` to everyone who waited for it, in
// the order they asked (publishes of one channel keep their order). A
// lookup superseded by a view change answers nobody.
void resolved(self_ptr self, const std::string& name, uint64_t id,
              const caf::expected<owner_actor>& outcome) {
  auto& st = self->state;
  auto i = st.lookups.find(name);
  if (i == st.lookups.end() || i->second.id != id)
    return;
  auto waiting = std::move(i->second.waiting);
  st.lookups.erase(i);
  for (auto& w : waiting)
    w(outcome);
}

// Finds the owner of `name` on whichever node the ring names and calls
// `f` with it or with the error. Lookups of one channel share one round
// trip to its owner node.
void with_owner(self_ptr self, const std::string& name, owner_callback f) {
  auto& st = self->state;
  if (alone(self)) {
    f(owner_for(self, name));
    return;
  }
  if (!clustered(self)) {
    f(caf::make_error(errc::not_available, "cluster view not known yet"));
    return;
  }
  if (auto i = st.remote_owners.find(name); i != st.remote_owners.end()) {
    f(i->second);
    return;
  }
  auto& l = st.lookups[name];
  l.waiting.push_back(std::move(f));
  if (l.waiting.size() > 1)
    return; // Asked already: the answer serves everyone.
  auto id = l.id = ++st.next_lookup;
  auto app_id = st.ctx->app.id;
  self->request(st.bridge, call_timeout, owner_node_request{app_id, name})
    .then(
      [self, name, app_id, id](node_actor& node) {
        if (!node) {
          resolved(self, name, id, owner_for(self, name));
          return;
        }
        self->request(node, call_timeout, local_owner_request{app_id, name})
          .then(
            [self, name, id](owner_actor& owner) {
              auto i = self->state.lookups.find(name);
              if (i == self->state.lookups.end() || i->second.id != id)
                return; // asked under an older view
              cache_owner(self, name, owner);
              resolved(self, name, id, owner);
            },
            [self, name, id](caf::error& err) {
              component_logger("app")->debug(
                "owner lookup at peer failed channel={} error={}", name,
                to_string(err));
              resolved(self, name, id, std::move(err));
            });
      },
      [self, name, id](caf::error& err) {
        // The bridge ended under the request (a crash): until the node has
        // restarted it, this node owns its channels, as with no bridge.
        if (err == caf::sec::request_receiver_down) {
          resolved(self, name, id, owner_for(self, name));
          return;
        }
        component_logger("app")->debug("ring lookup failed channel={} error={}",
                                       name, to_string(err));
        resolved(self, name, id, std::move(err));
      });
}

// Starts every lookup under way again under the new view: the node it
// asked may be dead and never answer.
void restart_lookups(self_ptr self) {
  auto pending = std::move(self->state.lookups);
  self->state.lookups.clear();
  for (auto& [name, l] : pending)
    for (auto& w : l.waiting)
      with_owner(self, name, std::move(w));
}

// Forgets `owner` of `name` after it was found gone, so the next lookup
// finds its successor (its exit message may still be on its way).
void forget_owner(self_ptr self, const std::string& name,
                  const owner_actor& owner) {
  auto& st = self->state;
  if (auto i = st.owners.find(name);
      i != st.owners.end() && i->second == owner)
    st.owners.erase(i);
  if (auto i = st.remote_owners.find(name);
      i != st.remote_owners.end() && i->second == owner) {
    st.remote_names.erase(owner.address());
    self->demonitor(owner.address());
    st.remote_owners.erase(i);
  }
}

// Asks the bridge where `name` belongs now; if that is another node, the
// owner hands its state over there. `done()` runs when that is settled.
template <class F>
void hand_off_if_moved(self_ptr self, const std::string& name,
                       owner_actor owner, F done) {
  auto& st = self->state;
  self
    ->request(st.bridge, call_timeout,
              owner_node_request{st.ctx->app.id, name})
    .then(
      [self, owner, done](node_actor& node) mutable {
        if (!node) {
          done();
          return;
        }
        self->request(owner, std::chrono::seconds(6), hand_off{node})
          .then([done](caf::ok_atom) mutable { done(); },
                [done](caf::error&) mutable { done(); });
      },
      [done](caf::error&) mutable { done(); });
}

// Puts this node's interest in `name` on the bus, then calls `then()`
// (also when the bus refused: delivery is at most once).
template <class F>
void register_interest(self_ptr self, const std::string& name,
                       const channel_actor& channel, F then) {
  auto& st = self->state;
  if (!st.bridge) {
    then();
    return;
  }
  self
    ->request(st.bridge, call_timeout, caf::subscribe_atom::value,
              st.ctx->app.id, name, channel)
    .then([then](caf::ok_atom) mutable { then(); },
          [then](caf::error&) mutable { then(); });
}

// Runs `f` after the next view change or retry tick.
void park(self_ptr self, std::function<void()> f) {
  auto& st = self->state;
  if (st.parked.empty())
    self->delayed_send(self, park_delay, retry_atom::value);
  st.parked.push_back(std::move(f));
}

void run_parked(self_ptr self) {
  auto parked = std::move(self->state.parked);
  self->state.parked.clear();
  for (auto& f : parked)
    f();
}

void on_cluster_changed(self_ptr self, cluster_changed& cc) {
  auto& st = self->state;
  forget_remote_owners(self);
  auto ids = [](const cluster_view& v) {
    std::vector<std::string> out;
    for (auto& m : v.members)
      out.push_back(m.node_id + '@' + std::to_string(m.start_epoch));
    return out;
  };
  if (ids(cc.view) != ids(st.view))
    st.members_changed = self->clock().now();
  st.view = std::move(cc.view);
  st.bridge = std::move(cc.bridge);
  if (st.view.members.size() > 1)
    st.discovered = true;
  else if (st.bridge && !st.discovered)
    // The first announce goes out now: its answers come within the window.
    st.discovery_ends = std::max(st.discovery_ends,
                                 self->clock().now() + discovery_window);
  for (auto& [name, owner] : st.owners)
    self->send(owner, bridge_changed{st.bridge});
  copy_all(self); // The standby of a channel may be another node now.
  restart_lookups(self);
  run_parked(self);
  take_over_lost(self);
  // The ring changed: every local channel checks where its owner is now
  // (after its interest is on the bus) and moves if needed.
  for (auto& [name, channel] : st.local_channels) {
    auto ch = channel;
    register_interest(self, name, ch,
                      [self, ch] { self->send(ch, resolve_atom::value); });
  }
  // Owners the ring moved away go to their new node with their state.
  if (clustered(self))
    for (auto& [name, owner] : st.owners)
      hand_off_if_moved(self, name, owner, [] {});
}

// GET /channel(s)/<name>[/users]: answered by the owner, wherever it
// lives; an unknown channel on a single node is empty.
template <class Reply, class Query>
caf::typed_response_promise<Reply> ask_owner(self_ptr self,
                                             const std::string& name,
                                             Query query, Reply empty) {
  auto rp = self->make_response_promise<Reply>();
  auto& st = self->state;
  if (alone(self) && st.owners.count(name) == 0) {
    rp.deliver(std::move(empty));
    return rp;
  }
  with_owner(self, name,
             [self, rp, query](caf::expected<owner_actor> owner) mutable {
               if (!owner) {
                 rp.deliver(std::move(owner.error()));
                 return;
               }
               self->request(*owner, call_timeout, query)
                 .then([rp](Reply& r) mutable { rp.deliver(std::move(r)); },
                       [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
             });
  return rp;
}

// A peer's owner_handoff: take it here, or pass it on (bounded) when our
// view names yet another node.
caf::typed_response_promise<owner_ref> on_handoff(self_ptr self,
                                                  owner_handoff& h) {
  auto& st = self->state;
  auto rp = self->make_response_promise<owner_ref>();
  st.ctx->counters->handoffs_in.fetch_add(1, std::memory_order_relaxed);
  if (!clustered(self) || h.hops >= 2) {
    rp.delegate(owner_for(self, h.channel), std::move(h));
    return rp;
  }
  auto name = h.channel;
  self->request(st.bridge, call_timeout, owner_node_request{st.ctx->app.id, name})
    .then(
      [self, rp, h](node_actor& node) mutable {
        ++h.hops;
        if (node)
          rp.delegate(node, std::move(h));
        else
          rp.delegate(owner_for(self, h.channel), std::move(h));
      },
      [self, rp, h](caf::error&) mutable {
        rp.delegate(owner_for(self, h.channel), std::move(h));
      });
  return rp;
}

void on_exit(self_ptr self, caf::exit_msg& em) {
  // Only the app (our parent) is linked to us: it ends, and we with it.
  if (em.reason)
    self->quit(em.reason);
}

// A local channel asks for its owner. The owner may be remote: find it
// once this node's interest is on the bus, so no event of the owner can
// miss the channel.
caf::typed_response_promise<owner_actor> on_resolve(self_ptr self,
                                                    resolve_owner& req) {
  auto rp = self->make_response_promise<owner_actor>();
  auto& st = self->state;
  st.local_channels[req.channel] = req.listener;
  if (alone(self)) {
    // Alone, every owner lives here: the asking channel hosts it. (In a
    // cluster the owner may move while the channel stays; it gets an actor
    // of its own there.)
    rp.deliver(owner_for(self, req.channel, false,
                         req.can_host ? &req.listener : nullptr));
    return rp;
  }
  auto name = req.channel;
  register_interest(self, name, req.listener, [self, rp, name]() mutable {
    with_owner(self, name, [rp](caf::expected<owner_actor> owner) mutable {
      if (owner)
        rp.deliver(*owner);
      else
        rp.deliver(std::move(owner.error()));
    });
  });
  return rp;
}

} // namespace starling::directory_detail

namespace starling {

using namespace directory_detail;

owner_directory_actor::behavior_type
owner_directory_behavior(owner_directory_actor::stateful_pointer<directory_state> self,
                         app_context_ptr ctx, app_actor app) {
  self->state.ctx = std::move(ctx);
  self->state.app = std::move(app);
  // Until its bus answered (or could not), the node is not alone.
  self->state.discovery_ends = self->clock().now() + discovery_window;
  init_logic_states(self);
  self->set_exit_handler([self](caf::exit_msg& em) { on_exit(self, em); });
  end_owners_on_failure(self);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.remote_names.find(dm.source);
    if (i == st.remote_names.end())
      return on_local_owner_down(self, dm);
    // A cached remote owner ended (crash, idle, forwarder, node gone).
    if (auto j = st.remote_owners.find(i->second);
        j != st.remote_owners.end() && j->second.address() == dm.source)
      st.remote_owners.erase(j);
    st.remote_names.erase(i);
  });
  return {
    [self](resolve_owner& req) { return on_resolve(self, req); },
    [self](owner_ended& ended) {
      on_owner_ended(self, ended.channel,
                     caf::actor_cast<caf::actor_addr>(self->current_sender()),
                     ended.crashed, ended.crashed ? "crashed" : "normal",
                     ended.seq);
    },
    [self](channel_gone& gone) {
      auto& st = self->state;
      caf::actor_addr channel;
      if (auto ch = st.local_channels.find(gone.channel);
          ch != st.local_channels.end()) {
        channel = ch->second.address();
        st.local_channels.erase(ch);
      }
      // A hosted owner is not watched by us but ends with its channel,
      // which the app watches: one that failed without a word ends here.
      if (auto o = st.owners.find(gone.channel);
          gone.failed && channel && o != st.owners.end()
          && o->second.address() == channel)
        on_owner_ended(self, gone.channel, channel, true, "channel failed");
      if (st.bridge)
        self
          ->request(st.bridge, call_timeout, caf::unsubscribe_atom::value,
                    st.ctx->app.id, gone.channel)
          .then([](caf::ok_atom) {}, [](caf::error&) {});
    },
    [self](owner_request& req) -> caf::typed_response_promise<owner_actor> {
      auto rp = self->make_response_promise<owner_actor>();
      with_owner(self, req.channel,
                 [rp](caf::expected<owner_actor> owner) mutable {
                   if (owner)
                     rp.deliver(*owner);
                   else
                     rp.deliver(std::move(owner.error()));
                 });
      return rp;
    },
    [self](local_owner_request& req) {
      // Asked by a node whose view may be older than ours: a channel handed
      // off from here is answered by its forwarder (a redirect).
      auto& st = self->state;
      if (st.owners.count(req.channel) == 0)
        if (auto f = st.forwarders.find(req.channel); f != st.forwarders.end())
          return f->second;
      return owner_for(self, req.channel, true);
    },
    [self](owner_handoff& h) { return on_handoff(self, h); },
    [self](owner_handed_off& msg) {
      // The owner handed off and forwards now; the registry forgets it.
      auto& st = self->state;
      auto i = st.owners.find(msg.channel);
      if (i == st.owners.end()
          || i->second.address() != self->current_sender())
        return;
      st.forwarders[msg.channel] = std::move(i->second);
      st.owners.erase(i);
      logic_owner_moved(self, msg.channel);
      st.ctx->counters->handoffs_out.fetch_add(1, std::memory_order_relaxed);
    },
    [self](logic_snapshot_kept& msg) { on_snapshot_kept(self, msg); },
    [self](occupancy_kept& msg) { on_occupancy_kept(self, msg); },
    [self](logic_state_request& req) { return on_state_request(self, req); },
    [self](standby_copy& copy) { return on_state_copy(self, copy); },
    [self](copy_atom) { on_copy_tick(self); },
    [self](publish_request& req) { return on_publish(self, req); },
    [self](channel_request& req) {
      channel_report empty;
      empty.name = req.channel;
      return ask_owner<channel_report>(self, req.channel, caf::get_atom::value,
                                       std::move(empty));
    },
    [self](users_request& req) {
      return ask_owner<std::vector<std::string>>(self, req.channel,
                                                 users_atom::value, {});
    },
    [self](channels_request& req) { return on_channels(self, req); },
    [self](cluster_changed& cc) { on_cluster_changed(self, cc); },
    [self](retry_atom) { run_parked(self); },
    [self](logic_handles& lh) {
      auto& st = self->state;
      st.app_bound_logic = lh.handles;
      for (auto& [name, owner] : st.owners)
        self->send(owner, lh);
    },
    [self](caf::leave_atom) {
      // This node leaves: every owner goes to the node the ring names
      // without us (the bridge already excludes us).
      auto& st = self->state;
      auto rp = self->make_response_promise<caf::ok_atom>();
      auto gather = fan_in<caf::ok_atom>::make(rp, caf::ok_atom::value);
      if (st.bridge)
        for (auto& [name, owner] : st.owners) {
          gather->expect();
          hand_off_if_moved(self, name, owner, [gather] { gather->done(); });
        }
      gather->seal();
      return rp;
    },
    [self](crash_request& req) { return on_crash(self, req); },
    [self](topology_request& req) { return on_topology(self, req); },
    [self](stats_atom) {
      return static_cast<uint64_t>(self->state.owners.size());
    },
  };
}

} // namespace starling
