// App actor: admission, socket ids and the local registries.
#include "actors/app.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/app_signin.hpp"
#include "actors/channel.hpp"
#include "actors/connection.hpp"
#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/unlinked_child.hpp"
#include "actors/logic_bindings.hpp"
#include "actors/fan_in.hpp"
#include "actors/owner_directory.hpp"
#include "actors/topology_page.hpp"
#include "pusher/error_code.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = app_actor::stateful_pointer<app_state>;
using json = nlohmann::json;

constexpr auto query_timeout = std::chrono::seconds(5);

void refuse(const app_context& ctx, const session_link_ptr& link,
            pusher::pusher_error code, const std::string& message) {
  ctx.counters->refused_connections.fetch_add(1, std::memory_order_relaxed);
  link->close_with_error(pusher::to_int(code), message);
}

void admit(self_ptr self, ws_opened& ev) {
  auto& st = self->state;
  auto& app = st.ctx->app;
  if (!app.enabled)
    return refuse(*st.ctx, ev.link, pusher::pusher_error::app_disabled,
                  "Application is disabled");
  if (app.limits.max_connections > 0
      && st.connections >= app.limits.max_connections)
    return refuse(*st.ctx, ev.link,
                  pusher::pusher_error::over_connection_quota,
                  "Application is over its connection quota");
  ++st.connections;
  auto socket_id = st.ctx->socket_ids();
  while (st.by_socket.count(socket_id) != 0) // Never in practice; cheap.
    socket_id = st.ctx->socket_ids();
  // Not linked (app_children): it says connection_ended however it ends.
  auto conn = self->spawn(connection_behavior, st.ctx, app_actor{self},
                          std::move(ev.link), socket_id);
  st.by_socket.emplace(socket_id, std::move(conn));
}

// The connection with socket id `text` on this node, or null.
const connection_actor* connection_of(const app_state& st,
                                      std::string_view text) {
  auto id = pusher::parse_socket_id(text);
  if (!id)
    return nullptr;
  auto i = st.by_socket.find(*id);
  return i != st.by_socket.end() ? &i->second : nullptr;
}

channel_entry& channel_for(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.channels.find(name);
  if (i == st.channels.end()) {
    uint64_t resume_seq = 0;
    if (auto r = st.resume_after.find(name); r != st.resume_after.end()) {
      resume_seq = r->second;
      st.resume_after.erase(r);
    }
    // Not linked (app_children), but watched: a channel that fails
    // without saying channel_crashed is forgotten all the same.
    auto channel = self->spawn(channel_behavior, name, st.ctx,
                               app_actor{self}, st.directory, resume_seq);
    self->monitor(channel);
    i = st.channels.emplace(name, channel_entry{std::move(channel), 0}).first;
  }
  return i->second;
}

// Crashes are rare and their subscribers rejoin within milliseconds; the
// bound only stops entries nobody came back for from piling up.
constexpr std::size_t max_resume_entries = 4096;

// Forgets a channel that ended without being told to stop (a crash), so
// the next join spawns afresh.
void forget_channel(self_ptr self, std::string name, const std::string& why) {
  auto& st = self->state;
  st.channels.erase(name);
  self->send(st.directory, channel_gone{name, true});
  component_logger("app")->warn("child ended app={} channel={} reason={}",
                                st.ctx->app.id, name, why);
}

// A channel's exception handler says it crashed: forgotten, and its
// replacement resumes after what it delivered.
void on_channel_crashed(self_ptr self, const channel_crashed& c) {
  auto& st = self->state;
  auto ci = st.channels.find(c.channel);
  if (ci != st.channels.end()
      && ci->second.actor.address() == self->current_sender())
    forget_channel(self, c.channel, "crashed");
  if (c.last_seq == 0)
    return;
  if (st.resume_after.size() >= max_resume_entries)
    st.resume_after.clear();
  st.resume_after[c.channel] = c.last_seq;
}

void on_channel_idle(self_ptr self, const channel_idle& idle) {
  auto& st = self->state;
  auto i = st.channels.find(idle.channel);
  // Only stop it when no join is on its way to it.
  if (i == st.channels.end() || i->second.joins != idle.joins
      || i->second.actor.address() != self->current_sender())
    return;
  self->send(i->second.actor, stop_atom::value);
  st.channels.erase(i);
  self->send(st.directory, channel_gone{idle.channel});
}

// A connection ended (normally or not; its channels clean up through their
// monitors).
void on_connection_ended(self_ptr self, const connection_ended& ended) {
  auto& st = self->state;
  auto c = st.by_socket.find(ended.socket_id);
  if (c == st.by_socket.end())
    return;
  if (st.connections > 0)
    --st.connections;
  st.users.sign_out(ended.socket_id.to_string());
  st.by_socket.erase(c);
}

caf::ok_atom on_terminate(self_ptr self, const terminate_request& req) {
  auto& st = self->state;
  for (auto& sid : st.users.connections_of(req.user_id))
    if (auto c = connection_of(st, sid))
      self->send(*c, terminate_atom::value);
  if (st.bridge && st.view.members.size() > 1 && !req.local_only) {
    // The user's connections may live on every node.
    terminate_request peer_req{req.app_id, req.user_id, true};
    self->request(st.bridge, query_timeout, peers_atom::value)
      .then(
        [self, peer_req](std::vector<node_actor>& peers) {
          for (auto& peer : peers)
            self->request(peer, query_timeout, peer_req)
              .then([](caf::ok_atom) {}, [](caf::error&) {});
        },
        [](caf::error&) {});
  }
  return caf::ok_atom::value;
}

caf::result<caf::ok_atom> on_crash(self_ptr self, crash_request& req) {
  auto& st = self->state;
  if (req.kind == "owner"
      || (req.kind == "logic" && req.name.find('/') != std::string::npos))
    return self->delegate(st.directory, std::move(req));
  if (req.kind == "logic") {
    if (!st.logic)
      return caf::make_error(errc::not_available,
                             "no app-bound logic " + req.name);
    if (auto err = st.logic->crash(req.name))
      return err;
    return caf::ok_atom::value;
  }
  if (req.kind == "app")
    throw std::runtime_error("injected fault in app " + st.ctx->app.id);
  if (req.kind == "channel") {
    if (auto i = st.channels.find(req.name); i != st.channels.end()) {
      self->send(i->second.actor, crash_atom::value);
      return caf::ok_atom::value;
    }
  } else if (req.kind == "connection") {
    if (auto c = connection_of(st, req.name)) {
      self->send(*c, crash_atom::value);
      return caf::ok_atom::value;
    }
  } else if (req.kind == "webhooks") {
    if (st.ctx->webhooks)
      if (auto hooks = st.ctx->webhooks->get()) {
        self->send(hooks, crash_atom::value);
        return caf::ok_atom::value;
      }
  }
  return caf::make_error(errc::unknown_app,
                         "no such actor: " + req.kind + " " + req.name);
}

json logic_json(const app_context& ctx) {
  auto out = json::array();
  if (!ctx.logic)
    return out;
  for (auto& b : ctx.logic->bindings) {
    auto& s = *b.stats;
    auto where = s.failed_where();
    out.push_back(json{{"actor", b.actor},
                       {"channels", b.pattern},
                       {"bound", b.channel_bound() ? "channel" : "app"},
                       {"status", where.empty() ? "running" : "failed"},
                       {"instances", s.running.load()},
                       {"failed", where.size()},
                       {"failed_on", where},
                       {"restarts", s.restarts.load()},
                       {"calls", s.calls.load()},
                       {"on_unavailable",
                        b.pass_when_unavailable ? "pass" : "closed"},
                       {"unavailable", s.unavailable.load()}});
  }
  return out;
}

// The page's channels with their local subscriber counts (each page
// channel asked; a channel that does not answer shows no count).
struct app_topology_answer {
  caf::typed_response_promise<std::string> rp;
  void deliver(json app) {
    rp.deliver(app.dump(-1, ' ', false, json::error_handler_t::replace));
  }
};

caf::typed_response_promise<std::string> on_topology(self_ptr self,
                                                     const topology_request& req) {
  auto rp = self->make_response_promise<std::string>();
  auto& st = self->state;
  std::vector<std::string> names;
  names.reserve(st.channels.size());
  for (auto& [name, entry] : st.channels)
    names.push_back(name);
  auto channels = page_of(std::move(names), req);
  std::vector<std::string> sockets;
  sockets.reserve(st.by_socket.size());
  for (auto& [sid, conn] : st.by_socket)
    sockets.push_back(sid.to_string());
  // Search finds a connection by its socket id or its user.
  auto conn_req = req;
  conn_req.search.clear();
  auto conns = page_of(std::move(sockets), conn_req);
  auto conn_list = json::array();
  std::vector<connection_actor> conn_actors; // Asked for their details.
  for (auto& sid : conns.names) {
    auto user = st.users.user_of(sid);
    if (!req.search.empty() && sid.find(req.search) == std::string::npos
        && (!user || user->find(req.search) == std::string::npos))
      continue;
    conn_list.push_back(json{{"kind", "connection"}, {"socket_id", sid},
                             {"user", user ? json(*user) : json(nullptr)}});
    conn_actors.push_back(*connection_of(st, sid)); // Listed just now.
  }
  auto channel_list = json::array();
  for (auto& name : channels.names)
    channel_list.push_back(json{{"kind", "channel"}, {"name", name}});
  json app{{"kind", "app"},
           {"id", st.ctx->app.id},
           {"status", "running"},
           {"state", "running"},
           {"connections", st.connections},
           {"signed_in_users", st.users.users()},
           {"channels", channels.names},
           {"channel_count", channels.total},
           {"channels_matched", channels.matched},
           {"channels_more", channels.more},
           {"channel_list", channel_list},
           {"connection_list", conn_list},
           {"connections_more", conns.more},
           {"owners", json::array()},
           {"webhooks", st.ctx->webhooks != nullptr},
           {"logic", logic_json(*st.ctx)}};
  auto gather = fan_in<json, app_topology_answer>::make(
    app_topology_answer{rp}, std::move(app));
  gather->expect();
  self->request(st.directory, query_timeout, req)
    .then(
      [gather](std::string& text) {
        auto dir = json::parse(text, nullptr, false);
        if (!dir.is_discarded()) {
          auto& app = gather->value();
          app["owners"] = dir["owners"];
          app["owner_count"] = dir["owner_count"];
          app["owners_more"] = dir["owners_more"];
          app["owner_list"] = dir["owner_list"];
          app["directory"] = dir["directory"];
        }
        gather->done();
      },
      [gather](caf::error&) { gather->done(); });
  for (std::size_t i = 0; i < channels.names.size(); ++i) {
    auto& entry = st.channels[channels.names[i]];
    gather->expect();
    self->request(entry.actor, query_timeout, channel_stats_atom::value)
      .then(
        [gather, i](channel_stats& cs) {
          auto& c = gather->value()["channel_list"][i];
          c["subscribers"] = cs.subscribers;
          c["delivered"] = cs.delivered;
          gather->done();
        },
        [gather](caf::error&) { gather->done(); });
  }
  for (std::size_t i = 0; i < conn_actors.size(); ++i) {
    gather->expect();
    self->request(conn_actors[i], query_timeout, stats_atom::value)
      .then(
        [gather, i](connection_stats& cs) {
          auto& c = gather->value()["connection_list"][i];
          c["channel_count"] = cs.subscriptions;
          c["channels"] = cs.channels;
          c["channels_more"] = cs.subscriptions > cs.channels.size();
          c["queued_bytes"] = cs.queued_bytes;
          c["age_s"] = cs.age_s;
          gather->done();
        },
        [gather](caf::error&) { gather->done(); });
  }
  gather->seal();
  return rp;
}

// An operator closes one connection of this node (4009, as a terminated
// user's). Returns whether it was here.
bool on_disconnect(self_ptr self, const disconnect_request& req) {
  auto& st = self->state;
  auto c = connection_of(st, req.socket_id);
  if (!c)
    return false;
  self->send(*c, terminate_atom::value);
  return true;
}

void start_logic(self_ptr self) {
  auto& st = self->state;
  auto table = st.ctx->logic;
  if (!table)
    return;
  std::vector<std::size_t> app_bound;
  for (std::size_t i = 0; i < table->bindings.size(); ++i)
    if (!table->bindings[i].channel_bound())
      app_bound.push_back(i);
  if (app_bound.empty())
    return;
  logic_handle base;
  base.app_id = st.ctx->app.id;
  base.node_id = st.ctx->node_id;
  base.app = app_actor{self};
  // Owners call app-bound instances directly: a restart hands them the
  // new handles (rare), so an event costs no hop through the app.
  st.logic = logic_instances::start(self, table, app_bound, std::move(base),
                                    [self] {
                                      auto& st = self->state;
                                      self->send(st.directory,
                                                 logic_handles{
                                                   st.logic->handles()});
                                      wake_signins(self);
                                    });
  self->send(st.directory, logic_handles{st.logic->handles()});
}

} // namespace

app_actor::behavior_type app_behavior(app_actor::stateful_pointer<app_state> self,
                                      app_context_ptr ctx) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.directory = self->spawn<caf::linked>(owner_directory_behavior, st.ctx,
                                          app_actor{self});
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    if (em.source == st.directory.address()) {
      // Owners live there: the node restarts the whole app.
      self->quit(em.reason ? em.reason
                           : caf::make_error(caf::sec::runtime_error,
                                             "owner directory ended"));
      return;
    }
    // The node, or an anonymous exit (CAF names the receiver as its
    // source), stops us.
    if (em.reason
        && (em.source == st.ctx->node || em.source == self->address()))
      self->quit(em.reason);
  });
  // Children are not linked: when the app fails they end as a link would
  // end them (with its reason), however it fails.
  self->attach_functor([children = st.children](const caf::error& reason) {
    if (!reason || reason == caf::exit_reason::normal)
      return;
    for (auto& kv : children->by_socket)
      end_unlinked_child(kv.second, reason);
    for (auto& kv : children->channels)
      end_unlinked_child(kv.second.actor, reason);
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.reason) {
      // A channel that failed says channel_crashed; this finds one that
      // could not. A search: no address map per channel, failures are rare.
      auto i = std::find_if(st.channels.begin(), st.channels.end(),
                            [&](auto& kv) {
                              return kv.second.actor.address() == dm.source;
                            });
      if (i != st.channels.end()) {
        forget_channel(self, i->first, to_string(dm.reason));
        return;
      }
    }
    if (st.logic)
      st.logic->on_down(dm);
  });
  start_logic(self);
  return {
    [self](ws_opened& ev) { admit(self, ev); },
    [self](channel_join& join) {
      auto& entry = channel_for(self, join.channel);
      ++entry.joins;
      return self->delegate(entry.actor, std::move(join));
    },
    [self](channel_idle& idle) { on_channel_idle(self, idle); },
    [self](channel_crashed& c) { on_channel_crashed(self, c); },
    [self](connection_ended& e) { on_connection_ended(self, e); },
    [self](user_signed_in& msg) {
      auto& st = self->state;
      auto i = st.by_socket.find(msg.socket_id);
      if (i != st.by_socket.end()
          && i->second.address() == self->current_sender())
        st.users.sign_in(i->first.to_string(), msg.user_id);
      return caf::ok_atom::value;
    },
    [self](signin_request& req) { return on_signin_request(self, req); },
    [self](publish_request& req) {
      return self->delegate(self->state.directory, std::move(req));
    },
    [self](channel_request& req) {
      return self->delegate(self->state.directory, std::move(req));
    },
    [self](users_request& req) {
      return self->delegate(self->state.directory, std::move(req));
    },
    [self](channels_request& req) {
      return self->delegate(self->state.directory, std::move(req));
    },
    [self](terminate_request& req) { return on_terminate(self, req); },
    [self](local_owner_request& req) {
      return self->delegate(self->state.directory, std::move(req));
    },
    [self](owner_handoff& h) {
      return self->delegate(self->state.directory, std::move(h));
    },
    [self](standby_copy& copy) {
      return self->delegate(self->state.directory, std::move(copy));
    },
    [self](cluster_changed& cc) {
      auto& st = self->state;
      st.view = cc.view;
      st.bridge = cc.bridge;
      self->send(st.directory, std::move(cc));
    },
    [self](caf::leave_atom x) {
      return self->delegate(self->state.directory, x);
    },
    [self](logic_restart& lr) {
      if (self->state.logic)
        self->state.logic->restart(lr.index);
    },
    [self](logic_wait_atom) { wake_signins(self); },
    [self](crash_request& req) { return on_crash(self, req); },
    [self](topology_request& req) { return on_topology(self, req); },
    [self](disconnect_request& req) { return on_disconnect(self, req); },
    [self](stats_atom) -> caf::typed_response_promise<app_stats> {
      auto rp = self->make_response_promise<app_stats>();
      auto& st = self->state;
      app_stats stats{st.connections, st.channels.size(), 0};
      self->request(st.directory, query_timeout, stats_atom::value)
        .then(
          [rp, stats](uint64_t owners) mutable {
            stats.owners = owners;
            rp.deliver(stats);
          },
          [rp, stats](caf::error&) mutable { rp.deliver(stats); });
      return rp;
    },
  };
}

} // namespace starling
