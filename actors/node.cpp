// Node actor: supervisor of apps, webhook actors and the cluster bridge.
#include "actors/node.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/app.hpp"
#include "actors/errors.hpp"
#include "actors/fan_in.hpp"
#include "actors/log.hpp"
#include "actors/logic_bindings.hpp"
#include "actors/webhook.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = node_actor::stateful_pointer<node_state>;
using json = nlohmann::json;

constexpr auto call_timeout = std::chrono::seconds(5);

int64_t ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// -- starting children --------------------------------------------------------

void start_app(self_ptr self, std::size_t index) {
  auto& st = self->state;
  auto& slot = st.apps[index];
  slot.actor = self->spawn<caf::linked>(app_behavior, slot.ctx);
  st.directory->set(slot.ctx->app.id, slot.actor, app_status::running);
  if (st.bridge_started)
    self->send(slot.actor, cluster_changed{st.view, st.bridge});
}

void start_webhooks(self_ptr self, std::size_t index) {
  auto& st = self->state;
  auto& slot = st.webhooks[index];
  auto& ctx = st.apps[slot.app].ctx;
  slot.actor = self->spawn<caf::linked>(webhook_behavior, ctx->app, st.poster,
                                        webhook_timing{}, ctx->counters);
  ctx->webhooks->set(slot.actor);
}

void start_bridge(self_ptr self) {
  auto& st = self->state;
  if (!st.make_bridge)
    return;
  // A restarted bridge announces a new incarnation: peers that saw the old
  // one say goodbye must not take it for a late message.
  if (st.bridge_started) {
    ++st.self_member.start_epoch;
    ++st.bridge_restarts;
  }
  st.bridge_started = true;
  // The factory spawns it linked: it stops with the node (saying goodbye),
  // and its end reaches the exit handler below.
  st.bridge = st.make_bridge(self, st.self_member);
  self->request(st.bridge, std::chrono::seconds(10), caf::join_atom::value,
                node_actor{self})
    .then([](caf::ok_atom) {}, [](caf::error&) {});
}

void tell_apps(self_ptr self) {
  auto& st = self->state;
  for (auto& slot : st.apps)
    if (slot.actor)
      self->send(slot.actor, cluster_changed{st.view, st.bridge});
}

// -- supervision -----------------------------------------------------------------

void schedule(self_ptr self, child_kind kind, std::size_t index,
              caf::timespan delay) {
  restart_child msg{kind, static_cast<uint32_t>(index)};
  if (delay == caf::timespan::zero())
    self->send(self, msg);
  else
    self->delayed_send(self, delay, msg);
}

void bridge_ended(self_ptr self, const caf::error& reason) {
  auto& st = self->state;
  auto log = component_logger("node");
  st.bridge = nullptr;
  // Until the bridge is back, apps own every channel themselves.
  tell_apps(self);
  auto d = st.bridge_tracker.child_failed(self->clock().now());
  if (!d.restart)
    log->critical("cluster bridge over its restart limit; running alone, "
                  "retrying every {} ms", ms(d.delay));
  log->error("cluster bridge ended ({}), restarting in {} ms",
             to_string(reason), ms(d.delay));
  schedule(self, child_kind::bridge, 0, d.delay);
}

void app_ended(self_ptr self, std::size_t index, const caf::error& reason) {
  auto& st = self->state;
  auto& slot = st.apps[index];
  auto log = component_logger("node");
  slot.actor = nullptr;
  auto d = slot.tracker.child_failed(self->clock().now());
  if (d.restart) {
    log->error("app crashed, restarting app={} reason={} backoff_ms={}",
               slot.ctx->app.id, to_string(reason), ms(d.delay));
    st.directory->set(slot.ctx->app.id, {}, app_status::restarting);
    schedule(self, child_kind::app, index, d.delay);
    return;
  }
  // Escalation stops here: the node keeps serving the other apps.
  log->critical("app over its restart limit, marked failed app={}",
                slot.ctx->app.id);
  st.directory->set(slot.ctx->app.id, {}, app_status::failed);
  if (d.delay > caf::timespan::zero())
    schedule(self, child_kind::app, index, d.delay);
}

void webhooks_ended(self_ptr self, std::size_t index, const caf::error& reason) {
  auto& st = self->state;
  auto& slot = st.webhooks[index];
  auto& ctx = st.apps[slot.app].ctx;
  slot.actor = nullptr;
  ctx->webhooks->set({});
  auto d = slot.tracker.child_failed(self->clock().now());
  component_logger("node")->error("webhook actor ended app={} reason={} "
                                  "restart_in_ms={}",
                                  ctx->app.id, to_string(reason), ms(d.delay));
  schedule(self, child_kind::webhooks, index, d.delay);
}

void on_exit(self_ptr self, caf::exit_msg& em) {
  auto& st = self->state;
  if (st.bridge && em.source == st.bridge.address())
    return bridge_ended(self, em.reason);
  for (std::size_t i = 0; i < st.apps.size(); ++i)
    if (st.apps[i].actor && st.apps[i].actor.address() == em.source)
      return app_ended(self, i, em.reason);
  for (std::size_t i = 0; i < st.webhooks.size(); ++i)
    if (st.webhooks[i].actor && st.webhooks[i].actor.address() == em.source)
      return webhooks_ended(self, i, em.reason);
  // Not a child: the process is shutting the node down.
  self->quit(em.reason);
}

void on_restart(self_ptr self, const restart_child& rc) {
  auto& st = self->state;
  switch (rc.kind) {
    case child_kind::bridge:
      if (st.bridge)
        return;
      st.bridge_tracker.retry();
      start_bridge(self);
      return;
    case child_kind::app:
      if (rc.index >= st.apps.size() || st.apps[rc.index].actor)
        return;
      st.apps[rc.index].tracker.retry();
      start_app(self, rc.index);
      return;
    case child_kind::webhooks:
      if (rc.index >= st.webhooks.size() || st.webhooks[rc.index].actor)
        return;
      st.webhooks[rc.index].tracker.retry();
      start_webhooks(self, rc.index);
      return;
  }
}

// -- requests ------------------------------------------------------------------------

app_slot* find_app(self_ptr self, const std::string& app_id) {
  for (auto& slot : self->state.apps)
    if (slot.ctx->app.id == app_id && slot.actor)
      return &slot;
  return nullptr;
}

// Routes a peer's call to the app it names.
template <class Request, class Reply>
auto route(self_ptr self) {
  return [self](Request& req) -> caf::result<Reply> {
    auto slot = find_app(self, req.app_id);
    if (slot == nullptr)
      return caf::make_error(errc::unknown_app, "no app " + req.app_id);
    return self->delegate(slot->actor, std::move(req));
  };
}

// Shutdown: hand every owned channel to the node that takes it over (the
// bridge leaves us out of the ring first), say goodbye, flush webhooks.
caf::typed_response_promise<caf::ok_atom> on_drain(self_ptr self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<caf::ok_atom>();
  // A restart still pending from a bridge crash must not announce this
  // node again.
  st.make_bridge = nullptr;
  if (st.bridge && !st.handed_over && st.view.members.size() > 1) {
    st.handed_over = true;
    // Once every app's owners went over, drain again: goodbye, webhooks.
    auto again = [self, rp]() mutable {
      rp.delegate(node_actor{self}, drain_atom::value);
    };
    self->request(st.bridge, std::chrono::seconds(1), caf::leave_atom::value)
      .then(
        [self, again](caf::ok_atom) mutable {
          auto pending = std::make_shared<std::size_t>(1);
          auto done = [pending, again]() mutable {
            if (--*pending == 0)
              again();
          };
          for (auto& slot : self->state.apps) {
            if (!slot.actor)
              continue;
            ++*pending;
            self->request(slot.actor, std::chrono::seconds(3),
                          caf::leave_atom::value)
              .then([done](caf::ok_atom) mutable { done(); },
                    [done](caf::error&) mutable { done(); });
          }
          done();
        },
        [again](caf::error&) mutable { again(); });
    return rp;
  }
  // Say goodbye to the cluster.
  if (st.bridge) {
    self->unlink_from(st.bridge);
    self->request(st.bridge, std::chrono::seconds(2), caf::close_atom::value)
      .then([](caf::ok_atom) {}, [](caf::error&) {});
    st.bridge = nullptr;
  }
  auto gather = fan_in<caf::ok_atom>::make(rp, caf::ok_atom::value);
  for (auto& hook : st.webhooks) {
    if (!hook.actor)
      continue;
    gather->expect();
    self->request(hook.actor, std::chrono::seconds(4), drain_atom::value)
      .then([gather](caf::ok_atom) { gather->done(); },
            [gather](caf::error&) { gather->done(); });
  }
  gather->seal();
  return rp;
}

// The node's counters and, when a bridge runs, its bus counters.
caf::typed_response_promise<node_stats> on_stats(self_ptr self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<node_stats>();
  node_stats out{static_cast<bool>(st.bridge), st.bridge_restarts,
                 st.view_changes,
                 std::max<uint64_t>(1, st.view.members.size()),
                 st.view_reasons, bridge_stats{}};
  if (!st.bridge) {
    rp.deliver(std::move(out));
    return rp;
  }
  self->request(st.bridge, std::chrono::seconds(1), stats_atom::value)
    .then(
      [rp, out](bridge_stats& bus) mutable {
        out.bus = bus;
        rp.deliver(std::move(out));
      },
      [rp, out](caf::error&) mutable { rp.deliver(std::move(out)); });
  return rp;
}

caf::result<caf::ok_atom> on_crash(self_ptr self, crash_request& req) {
  auto& st = self->state;
  if (req.kind == "bridge") {
    if (!st.bridge)
      return caf::make_error(errc::not_available, "no bridge running");
    // The bridge throws, like the other kinds. Not send_exit: CAF 0.17
    // unlinks the sender of an exit_msg before its handler runs, so the
    // node would never hear of the bridge's end nor restart it.
    self->send(st.bridge, crash_atom::value);
    return caf::ok_atom::value;
  }
  auto slot = find_app(self, req.app_id);
  if (slot == nullptr)
    return caf::make_error(errc::unknown_app, "no app " + req.app_id);
  if (req.kind == "app") {
    // The app throws; this node restarts it (or marks it failed). Nobody
    // waits for its answer.
    caf::anon_send(slot->actor, std::move(req));
    return caf::ok_atom::value;
  }
  return self->delegate(slot->actor, std::move(req));
}

uint64_t now_ms() {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
}

// Keeps who joined and left with each view (bounded).
void remember_view(node_state& st, const cluster_view& next) {
  view_change c{now_ms(), next.epoch, next.reason, {}, {}};
  auto has = [](const cluster_view& v, const std::string& id) {
    for (auto& m : v.members)
      if (m.node_id == id)
        return true;
    return false;
  };
  for (auto& m : next.members)
    if (!has(st.view, m.node_id))
      c.joined.push_back(m.node_id);
  for (auto& m : st.view.members)
    if (!has(next, m.node_id))
      c.left.push_back(m.node_id);
  st.history.push_back(std::move(c));
  while (st.history.size() > 20)
    st.history.pop_front();
}

json node_json(self_ptr self) {
  auto& st = self->state;
  auto members = json::array();
  auto nodes = json::array();
  for (auto& m : st.view.members) {
    members.push_back(m.node_id);
    nodes.push_back(json{{"id", m.node_id}, {"start_epoch", m.start_epoch}});
  }
  auto history = json::array();
  for (auto& c : st.history)
    history.push_back(json{{"at_ms", c.at_ms}, {"epoch", c.epoch},
                           {"reason", c.reason}, {"joined", c.joined},
                           {"left", c.left}});
  // start_epoch tells the incarnations apart: after a bridge restart a
  // peer's view has taken this node back once it lists the new one.
  json cluster{{"bridge", st.bridge ? "running" : "down"},
               {"restarts", st.bridge_restarts},
               {"start_epoch", st.self_member.start_epoch},
               {"epoch", st.view.epoch},
               {"members", members},
               {"nodes", nodes},
               {"history", history}};
  auto webhooks = json::array();
  for (auto& w : st.webhooks)
    webhooks.push_back(json{{"kind", "webhooks"},
                            {"app", st.apps[w.app].ctx->app.id},
                            {"state", w.actor ? "running" : "restarting"},
                            {"restarts", w.tracker.restarts()}});
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now() - st.started)
                  .count();
  return json{{"kind", "node"},
              {"id", st.node_id},
              {"node", st.node_id},
              {"state", "running"},
              {"uptime_s", uptime},
              {"at_ms", now_ms()},
              {"bridge", json{{"kind", "bridge"},
                              {"state", st.bridge ? "running" : "down"},
                              {"restarts", st.bridge_restarts}}},
              {"webhooks", webhooks},
              {"cluster", cluster}};
}

// This node's part of /topology: the node, then each app's answer (an app
// that does not answer in time is listed with its state only).
struct topology_parts {
  json node;
  std::vector<json> apps;
};

struct topology_answer {
  caf::typed_response_promise<std::string> rp;
  void deliver(topology_parts parts) {
    parts.node["apps"] = std::move(parts.apps);
    rp.deliver(parts.node.dump(-1, ' ', false,
                               json::error_handler_t::replace));
  }
};

caf::typed_response_promise<std::string> on_topology(self_ptr self,
                                                     topology_request& req) {
  auto& st = self->state;
  auto rp = self->make_response_promise<std::string>();
  topology_parts initial{node_json(self), {}};
  std::vector<std::pair<std::size_t, app_actor>> asked;
  for (auto& slot : st.apps) {
    if (!req.app.empty() && slot.ctx->app.id != req.app)
      continue;
    auto status = slot.actor ? "running"
                  : slot.tracker.failed() ? "failed" : "restarting";
    initial.apps.push_back(json{{"kind", "app"}, {"id", slot.ctx->app.id},
                                {"status", status}, {"state", status},
                                {"restarts", slot.tracker.restarts()}});
    if (slot.actor)
      asked.emplace_back(initial.apps.size() - 1, slot.actor);
  }
  auto gather = fan_in<topology_parts, topology_answer>::make(
    topology_answer{rp}, std::move(initial));
  for (auto& [i, actor] : asked) {
    gather->expect();
    self->request(actor, call_timeout, req)
      .then(
        [gather, i = i](std::string& text) {
          auto part = json::parse(text, nullptr, false);
          if (!part.is_discarded()) {
            auto& slot = gather->value().apps[i];
            part["restarts"] = slot["restarts"];
            slot = std::move(part);
          }
          gather->done();
        },
        [gather](caf::error&) { gather->done(); });
  }
  gather->seal();
  return rp;
}

} // namespace

node_actor::behavior_type node_behavior(node_actor::stateful_pointer<node_state> self,
                                        node_init init) {
  auto& st = self->state;
  st.poster = init.poster;
  st.node_id = init.node_id;
  st.started = std::chrono::system_clock::now();
  st.make_bridge = std::move(init.make_bridge);
  st.directory = init.apps_out ? init.apps_out
                               : std::make_shared<app_directory>();
  for (auto& app : init.apps) {
    auto ctx = std::make_shared<app_context>();
    ctx->app = app;
    ctx->node_id = init.node_id;
    ctx->node = self->address();
    ctx->activity_timeout_s = init.activity_timeout_s;
    ctx->shared_bus = init.shared_bus;
    ctx->socket_ids = init.socket_ids;
    ctx->fanout = init.fanout ? init.fanout
                              : std::make_shared<direct_fanout_sink>();
    if (init.logic)
      ctx->logic = make_logic_table(app, *init.logic);
    if (!app.webhooks.empty() && init.poster) {
      ctx->webhooks = std::make_shared<actor_slot<webhook_actor>>();
      st.webhooks.push_back(webhook_slot{st.apps.size(), {},
                                         restart_tracker{policies::webhooks()}});
    }
    st.directory->add(ctx);
    st.apps.push_back(app_slot{std::move(ctx), {}, restart_tracker{policies::app()}});
  }
  for (std::size_t i = 0; i < st.webhooks.size(); ++i)
    start_webhooks(self, i);
  for (std::size_t i = 0; i < st.apps.size(); ++i)
    start_app(self, i);
  self->set_exit_handler([self](caf::exit_msg& em) { on_exit(self, em); });
  return {
    route<local_owner_request, owner_actor>(self),
    route<owner_handoff, owner_ref>(self),
    route<standby_copy, caf::ok_atom>(self),
    route<channels_request, std::vector<channel_report>>(self),
    route<terminate_request, caf::ok_atom>(self),
    [self](disconnect_request& req) -> caf::result<bool> {
      auto slot = find_app(self, req.app_id);
      if (slot == nullptr)
        return false;
      return self->delegate(slot->actor, std::move(req));
    },
    [self](peers_atom x) -> caf::typed_response_promise<std::vector<caf::actor>> {
      // Untyped handles: node_actor cannot name itself in its interface.
      auto rp = self->make_response_promise<std::vector<caf::actor>>();
      if (!self->state.bridge) {
        rp.deliver(std::vector<caf::actor>{});
        return rp;
      }
      self->request(self->state.bridge, call_timeout, x)
        .then(
          [rp](std::vector<node_actor>& peers) mutable {
            std::vector<caf::actor> out;
            for (auto& p : peers)
              out.push_back(caf::actor_cast<caf::actor>(p));
            rp.deliver(std::move(out));
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [self](cluster_view& view) {
      auto& st = self->state;
      std::string ids;
      for (auto& m : view.members)
        ids += (ids.empty() ? "" : ",") + m.node_id;
      component_logger("node")->info("cluster view epoch={} members={} "
                                     "reason={}",
                                     view.epoch, ids, view.reason);
      ++st.view_changes;
      remember_view(st, view);
      ++st.view_reasons[view.reason.empty() ? "unknown" : view.reason];
      st.view = std::move(view);
      tell_apps(self);
    },
    [self](join_cluster& jc) {
      self->state.self_member = std::move(jc.self);
      start_bridge(self);
    },
    [self](restart_child& rc) { on_restart(self, rc); },
    [self](drain_atom) { return on_drain(self); },
    [self](crash_request& req) { return on_crash(self, req); },
    [self](topology_request& req) { return on_topology(self, req); },
    [self](stats_atom) { return on_stats(self); },
  };
}

} // namespace starling
