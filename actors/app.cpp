// App actor: admission, socket ids, and the channel/owner registry.
#include "actors/app.hpp"

#include <algorithm>
#include <set>

#include <caf/all.hpp>

#include "actors/channel.hpp"
#include "actors/channel_owner.hpp"
#include "actors/connection.hpp"
#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "pusher/error_code.hpp"
#include "pusher/frame.hpp"
#include "pusher/socket_id.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = caf::stateful_actor<app_state>*;

bool clustered(self_ptr self) {
  auto& st = self->state;
  return st.bridge && st.view.members.size() > 1;
}

// Owners number from the clock, so a successor rebuilt after its
// predecessor died or was cut off (even one spawned while this node was
// alone) hands out higher numbers than the predecessor did, and the
// predecessor's stragglers lose against them (2^20 numbers per millisecond
// of age before they could overlap).
uint64_t clock_seq_base() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::system_clock::now().time_since_epoch());
  return static_cast<uint64_t>(ms.count()) << 20;
}

// Owners spawned this soon after a membership change may have a
// predecessor handing over; they hold events at most settle_max for it.
constexpr auto handoff_window = std::chrono::seconds(5);
constexpr auto settle_max = std::chrono::milliseconds(1000);

// `asked_by_peer`: another node resolved the owner to us, so it sees a
// cluster even if our view does not yet (we just started): a predecessor
// may be handing over.
caf::actor& owner_for(self_ptr self, const std::string& name,
                      bool asked_by_peer = false) {
  auto& st = self->state;
  auto i = st.owners.find(name);
  if (i == st.owners.end()) {
    auto owner = self->spawn<caf::linked>(channel_owner_behavior, name, st.ctx,
                                          caf::actor_cast<caf::actor>(self));
    if (st.bridge)
      self->send(owner, caf::put_atom::value, st.bridge);
    self->send(owner, caf::put_atom::value, clock_seq_base());
    auto recent = self->clock().now() - st.members_changed < handoff_window;
    if ((clustered(self) && recent) || (asked_by_peer && !clustered(self)))
      self->send(owner, settle_atom::value, caf::timespan{settle_max});
    logic_app_owner_started(self, owner);
    // The channel came back here: the old forwarder points away from us.
    st.forwarders.erase(name);
    st.named_children.emplace(owner.address(), name);
    i = st.owners.emplace(name, owner_entry{std::move(owner), false}).first;
  }
  i->second.idle = false;
  return i->second.actor;
}

// Finds the owner of `name` on whichever node the ring names and calls
// `f(owner)`, or `fail(error)`.
// Remembers a remote owner until it ends or the view changes.
void cache_owner(self_ptr self, const std::string& name, const caf::actor& owner) {
  auto& st = self->state;
  if (!owner || owner.node() == self->node())
    return;
  // Bounded: a flood of distinct channels must not grow this without end.
  if (st.remote_owners.size() >= 100000) {
    for (auto& [addr, n] : st.remote_owner_names)
      self->demonitor(addr);
    st.remote_owners.clear();
    st.remote_owner_names.clear();
  }
  if (st.remote_owners.emplace(name, owner).second) {
    st.remote_owner_names.emplace(owner.address(), name);
    self->monitor(owner);
  }
}

void forget_remote_owners(self_ptr self) {
  auto& st = self->state;
  for (auto& [addr, name] : st.remote_owner_names)
    self->demonitor(addr);
  st.remote_owners.clear();
  st.remote_owner_names.clear();
}

template <class F, class G>
void with_owner(self_ptr self, const std::string& name, F f, G fail) {
  auto& st = self->state;
  if (!clustered(self)) {
    f(caf::actor{owner_for(self, name)});
    return;
  }
  if (auto i = st.remote_owners.find(name); i != st.remote_owners.end()) {
    f(i->second);
    return;
  }
  auto app_id = st.ctx->app.id;
  self->request(st.bridge, std::chrono::seconds(5), owner_atom::value, app_id,
                name)
    .then(
      [self, name, app_id, f, fail](caf::actor& node) mutable {
        if (!node) {
          f(caf::actor{owner_for(self, name)});
          return;
        }
        self->request(node, std::chrono::seconds(5), owner_atom::value, app_id,
                      name)
          .then(
            [self, name, f](caf::actor& owner) mutable {
              cache_owner(self, name, owner);
              f(std::move(owner));
            },
            [fail](caf::error& err) mutable { fail(std::move(err)); });
      },
      [self, name, f, fail](caf::error& err) mutable {
        // The bridge ended under the request (a crash): until the node has
        // restarted it, this node owns its channels, as with no bridge.
        if (err == caf::sec::request_receiver_down) {
          f(caf::actor{owner_for(self, name)});
          return;
        }
        fail(std::move(err));
      });
}

channel_entry& channel_for(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.channels.find(name);
  if (i == st.channels.end() && clustered(self)) {
    // The owner may be remote: the channel resolves it once this node's
    // interest is on the bus, so no event of the owner can miss us.
    auto channel = self->spawn<caf::linked>(channel_behavior, name, st.ctx,
                                            caf::actor_cast<caf::actor>(self),
                                            caf::actor{});
    st.named_children.emplace(channel.address(), name);
    self->request(st.bridge, std::chrono::seconds(5), caf::subscribe_atom::value,
                  st.ctx->app.id, name, channel)
      .then([channel](caf::ok_atom) { anon_send(channel, owner_atom::value); },
            [channel](caf::error&) { anon_send(channel, owner_atom::value); });
    i = st.channels.emplace(name, channel_entry{std::move(channel), 0}).first;
  } else if (i == st.channels.end()) {
    auto owner = owner_for(self, name);
    auto channel = self->spawn<caf::linked>(channel_behavior, name, st.ctx,
                                            caf::actor_cast<caf::actor>(self),
                                            owner);
    st.named_children.emplace(channel.address(), name);
    i = st.channels.emplace(name, channel_entry{std::move(channel), 0}).first;
  }
  return i->second;
}

void stop_owner(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.owners.find(name);
  if (i == st.owners.end())
    return;
  // named_children keeps it until its exit_msg arrives.
  self->send(i->second.actor, stop_atom::value);
  st.owners.erase(i);
}

void erase_actor(std::vector<caf::actor>& xs, const caf::actor_addr& addr) {
  xs.erase(std::remove_if(xs.begin(), xs.end(),
                          [&](const caf::actor& x) { return x.address() == addr; }),
           xs.end());
}

void notify_watchers(self_ptr self, const std::string& user_id,
                     const char* what) {
  auto i = self->state.watchers.find(user_id);
  if (i == self->state.watchers.end())
    return;
  for (auto& w : i->second)
    self->send(w, watchlist_atom::value, std::string{what}, user_id);
}

// Stops telling `conn` about the users it watched.
void unwatch(self_ptr self, const caf::actor_addr& conn,
             const std::vector<std::string>& watchlist) {
  auto& watchers = self->state.watchers;
  for (auto& watched : watchlist) {
    auto w = watchers.find(watched);
    if (w != watchers.end()) {
      erase_actor(w->second, conn);
      if (w->second.empty())
        watchers.erase(w);
    }
  }
}

// A signed-in connection ended: its user may go offline for its watchers.
void forget_signed_in(self_ptr self, const caf::actor_addr& conn) {
  auto& st = self->state;
  auto i = st.signed_in.find(conn);
  if (i == st.signed_in.end())
    return;
  auto entry = std::move(i->second);
  st.signed_in.erase(i);
  unwatch(self, conn, entry.watchlist);
  auto u = st.users.find(entry.user_id);
  if (u == st.users.end())
    return;
  erase_actor(u->second, conn);
  if (u->second.empty()) {
    st.users.erase(u);
    notify_watchers(self, entry.user_id, "offline");
  }
}

void refuse(const app_context& ctx, const session_link_ptr& link,
            pusher::pusher_error code, const std::string& message) {
  ctx.counters->refused_connections.fetch_add(1, std::memory_order_relaxed);
  link->close_with_error(pusher::to_int(code), message);
}

// Asks the bridge where `name` belongs now; if that is another node, the
// owner hands its state over there. `done()` runs when that is settled.
template <class F>
void hand_off(self_ptr self, const std::string& name, caf::actor owner, F done) {
  auto& st = self->state;
  self->request(st.bridge, std::chrono::seconds(5), owner_atom::value,
                st.ctx->app.id, name)
    .then(
      [self, owner, done](caf::actor& node) mutable {
        if (!node) {
          done();
          return;
        }
        self->request(owner, std::chrono::seconds(6), handoff_atom::value, node)
          .then([done](caf::ok_atom) mutable { done(); },
                [done](caf::error&) mutable { done(); });
      },
      [done](caf::error&) mutable { done(); });
}

} // namespace

caf::behavior app_behavior(caf::stateful_actor<app_state>* self,
                           app_context_ptr ctx) {
  self->state.ctx = std::move(ctx);
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    auto i = st.named_children.find(em.source);
    if (i == st.named_children.end()) {
      // Not a channel or owner: a connection ended (normally or not; its
      // channels clean up through their monitors), or the node stops us.
      if (em.reason == caf::exit_reason::user_shutdown
          || em.reason == caf::exit_reason::kill) {
        self->quit(em.reason);
        return;
      }
      if (st.connections > 0)
        --st.connections;
      st.sockets.erase(em.source);
      forget_signed_in(self, em.source);
      return;
    }
    // A channel or owner ended. Stopped ones are already out of the
    // registry; a crashed one is forgotten so the next use spawns afresh.
    auto name = i->second;
    st.named_children.erase(i);
    if (auto f = st.forwarders.find(name);
        f != st.forwarders.end() && f->second.address() == em.source)
      st.forwarders.erase(f);
    if (!em.reason)
      return;
    auto ci = st.channels.find(name);
    if (ci != st.channels.end() && ci->second.actor.address() == em.source)
      st.channels.erase(ci);
    auto oi = st.owners.find(name);
    if (oi != st.owners.end() && oi->second.actor.address() == em.source)
      st.owners.erase(oi);
    component_logger("app")->warn("child ended app={} channel={} reason={}",
                                  st.ctx->app.id, name, to_string(em.reason));
  });
  // App-bound logic instances (monitored; their crashes never end the app).
  logic_app_start(self);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (auto i = st.remote_owner_names.find(dm.source);
        i != st.remote_owner_names.end()) {
      // A cached remote owner ended (crash, idle forwarder, node gone).
      if (auto j = st.remote_owners.find(i->second);
          j != st.remote_owners.end() && j->second.address() == dm.source)
        st.remote_owners.erase(j);
      st.remote_owner_names.erase(i);
      return;
    }
    if (st.logic)
      logic_down(self, *st.logic, dm);
  });
  return {
    [self](ws_opened& ev) {
      auto& st = self->state;
      auto& app = st.ctx->app;
      if (!app.enabled)
        return refuse(*st.ctx, ev.link, pusher::pusher_error::app_disabled,
                      "Application is disabled");
      if (app.limits.max_connections > 0
          && st.connections >= app.limits.max_connections)
        return refuse(*st.ctx, ev.link, pusher::pusher_error::over_connection_quota,
                      "Application is over its connection quota");
      ++st.connections;
      auto socket_id = pusher::make_socket_id(st.ctx->socket_prefix,
                                             ++*st.ctx->socket_counter);
      auto conn = self->spawn<caf::linked>(connection_behavior, st.ctx,
                                           caf::actor_cast<caf::actor>(self),
                                           std::move(ev.link), socket_id);
      st.sockets.emplace(conn.address(), std::move(socket_id));
    },
    [self](caf::subscribe_atom, channel_join& join) {
      auto& entry = channel_for(self, join.channel);
      ++entry.joins;
      return self->delegate(entry.actor, caf::join_atom::value, std::move(join));
    },
    [self](publish_request& req) {
      auto& st = self->state;
      if (clustered(self)) {
        // Every event goes through its owner, wherever it lives: one order.
        for (auto& name : req.channels) {
          channel_event ev;
          ev.event = req.event;
          ev.data = req.data;
          ev.exclude = req.socket_id;
          with_owner(
            self, name,
            [self, ev](caf::actor owner) {
              self->send(owner, caf::publish_atom::value, ev);
            },
            [name](caf::error err) {
              component_logger("app")->warn("publish lost channel={} error={}",
                                            name, to_string(err));
            });
        }
        return;
      }
      for (auto& name : req.channels) {
        auto traits = pusher::classify_channel(name);
        // No owner and not cached: nobody on this node can be subscribed.
        if (st.owners.count(name) == 0 && !traits.keeps_last_event())
          continue;
        channel_event ev;
        ev.event = req.event;
        ev.data = req.data;
        ev.exclude = req.socket_id;
        self->send(owner_for(self, name), caf::publish_atom::value,
                   std::move(ev));
      }
    },
    [self](const channel_idle& idle) {
      auto& st = self->state;
      auto i = st.channels.find(idle.channel);
      // Only stop it when no join is on its way to it.
      if (i == st.channels.end() || i->second.joins != idle.joins
          || i->second.actor.address() != self->current_sender())
        return;
      self->send(i->second.actor, stop_atom::value);
      st.channels.erase(i);
      if (st.bridge)
        self->request(st.bridge, std::chrono::seconds(5),
                      caf::unsubscribe_atom::value, st.ctx->app.id, idle.channel)
          .then([](caf::ok_atom) {}, [](caf::error&) {});
      auto oi = st.owners.find(idle.channel);
      if (oi != st.owners.end() && oi->second.idle)
        stop_owner(self, idle.channel);
    },
    [self](const owner_idle& idle) {
      auto& st = self->state;
      auto i = st.owners.find(idle.channel);
      if (i == st.owners.end()
          || i->second.actor.address() != self->current_sender())
        return;
      if (st.channels.count(idle.channel) == 0)
        stop_owner(self, idle.channel);
      else
        i->second.idle = true;
    },
    [self](user_signed_in& msg) {
      auto& st = self->state;
      auto conn = caf::actor_cast<caf::actor>(self->current_sender());
      if (!conn)
        return std::vector<std::string>{};
      auto addr = conn.address();
      auto& conns = st.users[msg.user_id];
      if (auto prev = st.signed_in.find(addr); prev != st.signed_in.end()) {
        // Signed in again as the same user (the connection refuses another
        // id): only its watchlist changes; no offline/online flap.
        unwatch(self, addr, prev->second.watchlist);
        st.signed_in.erase(prev);
      } else {
        conns.push_back(conn);
        if (conns.size() == 1)
          notify_watchers(self, msg.user_id, "online");
      }
      std::vector<std::string> online;
      for (auto& watched : msg.watchlist) {
        st.watchers[watched].push_back(conn);
        if (st.users.count(watched) > 0)
          online.push_back(watched);
      }
      st.signed_in.emplace(addr, signed_in_connection{msg.user_id,
                                                      std::move(msg.watchlist)});
      return online;
    },
    [self](const terminate_request& req) {
      auto& st = self->state;
      auto i = st.users.find(req.user_id);
      if (i != st.users.end())
        for (auto& conn : i->second)
          self->send(conn, terminate_atom::value);
      if (clustered(self) && !req.local_only) {
        // The user's connections may live on every node.
        terminate_request peer_req{req.app_id, req.user_id, true};
        self->request(st.bridge, std::chrono::seconds(5), peers_atom::value)
          .then(
            [self, peer_req](std::vector<caf::actor>& peers) {
              for (auto& peer : peers)
                self->request(peer, std::chrono::seconds(5), peer_req)
                  .then([](caf::ok_atom) {}, [](caf::error&) {});
            },
            [](caf::error&) {});
      }
      return caf::ok_atom::value;
    },
    [self](const crash_request& req) -> caf::result<caf::ok_atom> {
      if (req.kind == "logic")
        return logic_app_crash(self, req);
      auto& st = self->state;
      caf::actor target;
      if (req.kind == "channel") {
        if (auto i = st.channels.find(req.name); i != st.channels.end())
          target = i->second.actor;
      } else if (req.kind == "owner") {
        if (auto i = st.owners.find(req.name); i != st.owners.end())
          target = i->second.actor;
      } else if (req.kind == "connection") {
        for (auto& [addr, sid] : st.sockets)
          if (sid == req.name)
            target = caf::actor_cast<caf::actor>(addr);
      } else if (req.kind == "webhooks") {
        target = st.ctx->webhooks;
      } else if (req.kind == "app") {
        throw std::runtime_error("injected fault in app " + st.ctx->app.id);
      }
      if (!target)
        return caf::make_error(errc::unknown_app, "no such actor: " + req.kind
                                                    + " " + req.name);
      self->send(target, crash_atom::value);
      return caf::ok_atom::value;
    },
    [self](logic_atom, restart_atom, uint64_t index) {
      if (self->state.logic)
        logic_restart(self, *self->state.logic, index);
    },
    [self](topology_atom) {
      auto& st = self->state;
      auto names = [](auto& map) {
        std::string out = "[";
        for (auto& [name, entry] : map)
          out += (out.size() > 1 ? "," : "") + pusher::json_quote(name);
        return out + "]";
      };
      return "{\"id\":" + pusher::json_quote(st.ctx->app.id)
             + ",\"status\":\"running\",\"connections\":"
             + std::to_string(st.connections) + ",\"signed_in_users\":"
             + std::to_string(st.users.size()) + ",\"channels\":"
             + names(st.channels) + ",\"owners\":" + names(st.owners)
             + ",\"webhooks\":" + (st.ctx->webhooks ? "true" : "false")
             + ",\"logic\":" + logic_topology_json(*st.ctx) + "}";
    },
    [self](owner_atom, const std::string& channel) -> caf::result<caf::actor> {
      auto rp = self->make_response_promise<caf::actor>();
      with_owner(
        self, channel, [rp](caf::actor owner) mutable { rp.deliver(owner); },
        [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](owner_atom, const std::string& channel, bool) {
      // Asked by a node whose view may be older than ours: a channel handed
      // off from here is answered by its forwarder (a redirect).
      auto& st = self->state;
      if (st.owners.count(channel) == 0)
        if (auto f = st.forwarders.find(channel); f != st.forwarders.end())
          return f->second;
      return caf::actor{owner_for(self, channel, true)};
    },
    [self](handoff_atom, owner_handoff& h) -> caf::result<caf::actor> {
      auto& st = self->state;
      auto rp = self->make_response_promise<caf::actor>();
      if (!clustered(self) || h.hops >= 2) {
        rp.delegate(owner_for(self, h.channel), handoff_atom::value,
                    std::move(h));
        return rp;
      }
      // Our view may name yet another node: pass the state on (bounded).
      auto name = h.channel;
      self->request(st.bridge, std::chrono::seconds(5), owner_atom::value,
                    st.ctx->app.id, name)
        .then(
          [self, rp, h](caf::actor& node) mutable {
            ++h.hops;
            if (node)
              rp.delegate(node, handoff_atom::value, std::move(h));
            else
              rp.delegate(owner_for(self, h.channel), handoff_atom::value,
                          std::move(h));
          },
          [self, rp, h](caf::error&) mutable {
            rp.delegate(owner_for(self, h.channel), handoff_atom::value,
                        std::move(h));
          });
      return rp;
    },
    [self](handoff_atom, const std::string& channel, caf::actor& successor) {
      // The owner handed off and forwards now; the registry forgets it.
      auto& st = self->state;
      auto i = st.owners.find(channel);
      if (i == st.owners.end()
          || i->second.actor.address() != self->current_sender())
        return;
      st.forwarders[channel] = std::move(i->second.actor);
      st.owners.erase(i);
    },
    [self](handoff_atom) -> caf::result<caf::ok_atom> {
      // This node leaves: every owner goes to the node the ring names
      // without us (the bridge already excludes us).
      auto& st = self->state;
      auto rp = self->make_response_promise<caf::ok_atom>();
      if (!st.bridge || st.owners.empty()) {
        rp.deliver(caf::ok_atom::value);
        return rp;
      }
      auto pending = std::make_shared<std::size_t>(st.owners.size());
      auto done = [rp, pending]() mutable {
        if (--*pending == 0)
          rp.deliver(caf::ok_atom::value);
      };
      for (auto& [name, entry] : st.owners)
        hand_off(self, name, entry.actor, done);
      return rp;
    },
    [self](view_atom, cluster_view& view, caf::actor& bridge) {
      auto& st = self->state;
      forget_remote_owners(self);
      auto ids = [](const cluster_view& v) {
        std::vector<std::string> out;
        for (auto& m : v.members)
          out.push_back(m.node_id + '@' + std::to_string(m.start_epoch));
        return out;
      };
      if (ids(view) != ids(st.view))
        st.members_changed = self->clock().now();
      st.view = std::move(view);
      st.bridge = std::move(bridge);
      for (auto& [name, owner] : st.owners)
        self->send(owner.actor, caf::put_atom::value, st.bridge);
      // The ring changed: every local channel checks where its owner is
      // now (after its interest is on the bus) and moves if needed.
      for (auto& [name, entry] : st.channels) {
        auto channel = entry.actor;
        if (!clustered(self)) {
          anon_send(channel, owner_atom::value);
          continue;
        }
        self->request(st.bridge, std::chrono::seconds(5),
                      caf::subscribe_atom::value, st.ctx->app.id, name, channel)
          .then([channel](caf::ok_atom) { anon_send(channel, owner_atom::value); },
                [channel](caf::error&) { anon_send(channel, owner_atom::value); });
      }
      // Owners the ring moved away go to their new node with their state.
      if (clustered(self))
        for (auto& [name, entry] : st.owners)
          hand_off(self, name, entry.actor, [] {});
    },
    [self](const channels_request& req) -> caf::result<std::vector<channel_info>> {
      auto& st = self->state;
      // Fan in over this node's owners and, in a cluster, the other nodes
      // (each owner lives on exactly one node); reply after the last.
      struct gather {
        caf::response_promise rp;
        std::vector<channel_info> infos;
        std::set<std::string> seen;
        std::size_t pending = 1;
      };
      auto g = std::make_shared<gather>();
      g->rp = self->make_response_promise();
      auto finish = [g] {
        if (--g->pending == 0)
          g->rp.deliver(std::move(g->infos));
      };
      auto add = [g](channel_info& info) {
        if (info.occupied && g->seen.insert(info.channel).second)
          g->infos.push_back(std::move(info));
      };
      for (auto& [name, entry] : st.owners) {
        // '#' channels (server-to-user) are Pusher's own: not listed.
        if (name.compare(0, req.prefix.size(), req.prefix) != 0
            || (name[0] == '#' && req.prefix.empty()))
          continue;
        ++g->pending;
        self->request(entry.actor, std::chrono::seconds(5), caf::get_atom::value)
          .then(
            [add, finish](channel_info& info) {
              add(info);
              finish();
            },
            [finish](caf::error&) { finish(); });
      }
      if (clustered(self) && !req.local_only) {
        ++g->pending;
        channels_request peer_req{req.app_id, req.prefix, true};
        self->request(st.bridge, std::chrono::seconds(5), peers_atom::value)
          .then(
            [self, g, add, finish, peer_req](std::vector<caf::actor>& peers) {
              for (auto& peer : peers) {
                ++g->pending;
                self->request(peer, std::chrono::seconds(5), peer_req)
                  .then(
                    [add, finish](std::vector<channel_info>& infos) {
                      for (auto& info : infos)
                        add(info);
                      finish();
                    },
                    [finish](caf::error&) { finish(); });
              }
              finish();
            },
            [finish](caf::error&) { finish(); });
      }
      finish();
      return g->rp;
    },
    [self](const channel_request& req) -> caf::result<caf::message> {
      auto& st = self->state;
      if (clustered(self)) {
        // The owner answers for the whole cluster, wherever it lives.
        auto rp = self->make_response_promise();
        auto users = req.users;
        with_owner(
          self, req.channel,
          [self, rp, users](caf::actor owner) mutable {
            auto fail = [rp](caf::error& e) mutable { rp.deliver(e); };
            if (users)
              self->request(owner, std::chrono::seconds(5), users_atom::value)
                .then([rp](std::vector<std::string>& ids) mutable {
                        rp.deliver(std::move(ids));
                      },
                      fail);
            else
              self->request(owner, std::chrono::seconds(5), caf::get_atom::value)
                .then([rp](channel_info& info) mutable {
                        rp.deliver(std::move(info));
                      },
                      fail);
          },
          [rp](caf::error err) mutable { rp.deliver(std::move(err)); });
        return rp;
      }
      auto i = st.owners.find(req.channel);
      if (i == st.owners.end()) {
        if (req.users)
          return caf::make_message(std::vector<std::string>{});
        channel_info info;
        info.channel = req.channel;
        return caf::make_message(std::move(info));
      }
      if (req.users)
        return self->delegate(i->second.actor, users_atom::value);
      return self->delegate(i->second.actor, caf::get_atom::value);
    },
    [self](stats_atom) {
      auto& st = self->state;
      return caf::make_message(static_cast<uint64_t>(st.connections),
                               static_cast<uint64_t>(st.channels.size()),
                               static_cast<uint64_t>(st.owners.size()));
    },
  };
}

} // namespace starling
