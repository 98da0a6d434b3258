// Node actor: app registry and app supervisor.
#include "actors/node.hpp"

#include <limits>

#include <caf/all.hpp>

#include "actors/app.hpp"
#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/logic_runtime.hpp"
#include "actors/messages.hpp"
#include "actors/webhook.hpp"
#include "pusher/error_code.hpp"
#include "pusher/frame.hpp"
#include "pusher/signature.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = caf::stateful_actor<node_state>*;
using pusher::pusher_error;

void refuse(const session_link_ptr& link, pusher_error code,
            const std::string& message) {
  link->close_with_error(pusher::to_int(code), message);
}

void start_app(self_ptr self, app_slot& slot) {
  slot.actor = self->spawn<caf::linked>(app_behavior, slot.ctx);
  auto& st = self->state;
  if (st.bridge)
    self->send(slot.actor, view_atom::value, st.view, st.bridge);
}

// Pusher protocol §1.1: accept a missing protocol or 5..7 as v7; versions
// 1-4 are gone (4007). A value that is not a number is unsupported too.
bool check_protocol(const session_link_ptr& link, const std::string& query) {
  auto params = pusher::parse_query(query);
  auto protocol = pusher::find_param(params, "protocol");
  if (protocol == nullptr)
    return true;
  if (protocol->empty()) {
    refuse(link, pusher_error::no_protocol, "No protocol version supplied");
    return false;
  }
  int version = 0;
  for (char c : *protocol) {
    if (c < '0' || c > '9' || version > 1000) {
      refuse(link, pusher_error::unsupported_protocol,
             "Unsupported protocol version " + *protocol);
      return false;
    }
    version = version * 10 + (c - '0');
  }
  if (version < 5 || version > 7) {
    refuse(link, pusher_error::unsupported_protocol,
           "Unsupported protocol version " + *protocol + " (supported: 5-7)");
    return false;
  }
  if (auto v = pusher::find_param(params, "version"); v != nullptr) {
    for (char c : *v) {
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'
            || c == '+')) {
        refuse(link, pusher_error::invalid_version,
               "Invalid version string format");
        return false;
      }
    }
  }
  return true;
}

app_slot* find_app(self_ptr self, const std::string& app_id) {
  auto& st = self->state;
  auto i = st.by_id.find(app_id);
  if (i == st.by_id.end() || st.apps[i->second].failed
      || !st.apps[i->second].actor)
    return nullptr;
  return &st.apps[i->second];
}

void start_bridge(self_ptr self) {
  auto& st = self->state;
  if (!st.bridge_factory)
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
  st.bridge = st.bridge_factory(self, st.self_member);
  self->request(st.bridge, std::chrono::seconds(10), caf::join_atom::value,
                caf::actor_cast<caf::actor>(self))
    .then([](caf::ok_atom) {}, [](caf::error&) {});
}

} // namespace

caf::behavior node_behavior(caf::stateful_actor<node_state>* self,
                            node_init init) {
  auto& st = self->state;
  auto counter = std::make_shared<std::atomic<uint64_t>>(0);
  st.poster = init.poster;
  st.node_id = init.node_id;
  st.bridge_factory = std::move(init.bridge_factory);
  auto bridge_ended = [self](const caf::error& reason) {
    auto& st = self->state;
    auto log = component_logger("node");
    st.bridge = nullptr;
    // Until the bridge is back, apps own every channel themselves.
    for (auto& slot : st.apps)
      if (slot.actor)
        self->send(slot.actor, view_atom::value, st.view, st.bridge);
    // Past the restart limit the node runs alone but keeps trying, slowly:
    // a cluster that comes back must get its node back.
    auto delay = std::chrono::steady_clock::duration{std::chrono::seconds(5)};
    if (st.bridge_budget.try_restart(self->clock().now()))
      delay = st.bridge_budget.backoff() + std::chrono::milliseconds(500);
    else
      log->critical("cluster bridge over its restart limit; running alone");
    log->error("cluster bridge ended ({}), restarting in {} ms",
               to_string(reason),
               std::chrono::duration_cast<std::chrono::milliseconds>(delay)
                 .count());
    self->delayed_send(self, delay, restart_atom::value,
                       std::numeric_limits<uint64_t>::max());
  };
  for (auto& app : init.apps) {
    auto ctx = std::make_shared<app_context>();
    if (!app.webhooks.empty() && init.poster) {
      // Linked: it stops with the node. It is not restarted; a crash is
      // logged and the app runs on without webhooks.
      ctx->webhooks = self->spawn<caf::linked>(webhook_behavior, app,
                                               init.poster, webhook_timing{});
      st.webhooks.push_back(webhook_slot{app, ctx->webhooks});
    }
    ctx->app = app;
    ctx->node_id = init.node_id;
    ctx->activity_timeout_s = init.activity_timeout_s;
    ctx->socket_prefix = init.socket_prefix;
    ctx->socket_counter = counter;
    if (init.logic)
      ctx->logic = make_logic_table(app, *init.logic);
    st.by_key.emplace(app.key, st.apps.size());
    st.by_id.emplace(app.id, st.apps.size());
    st.apps.push_back(app_slot{std::move(ctx), {}, {}, false});
  }
  for (auto& slot : st.apps)
    start_app(self, slot);
  self->set_exit_handler([self, bridge_ended](caf::exit_msg& em) {
    auto& st = self->state;
    if (st.bridge && em.source == st.bridge.address()) {
      bridge_ended(em.reason);
      return;
    }
    for (auto& slot : st.apps) {
      if (slot.actor.address() != em.source)
        continue;
      auto log = component_logger("node");
      if (slot.budget.try_restart(self->clock().now())) {
        auto delay = slot.budget.backoff();
        log->error("app crashed, restarting app={} reason={} backoff_ms={}",
                   slot.ctx->app.id, to_string(em.reason),
                   std::chrono::duration_cast<std::chrono::milliseconds>(delay)
                     .count());
        slot.actor = nullptr; // Refused with 4100 until it is back.
        if (delay == std::chrono::steady_clock::duration::zero())
          start_app(self, slot);
        else
          self->delayed_send(self, delay, restart_atom::value,
                             static_cast<uint64_t>(&slot - st.apps.data()));
      } else {
        // Escalation stops here: the node keeps serving the other apps.
        log->critical("app over its restart limit, marked failed app={}",
                      slot.ctx->app.id);
        slot.actor = nullptr;
        slot.failed = true;
      }
      return;
    }
    for (auto& hook : st.webhooks) {
      if (hook.actor.address() == em.source) {
        component_logger("node")->error("webhook actor ended app={} reason={}",
                                         hook.app.id, to_string(em.reason));
        return;
      }
    }
    // Not an app: the process is shutting the node down.
    self->quit(em.reason);
  });
  return {
    [self](ws_opened& ev) {
      auto& st = self->state;
      if (!check_protocol(ev.link, ev.query))
        return;
      auto i = st.by_key.find(ev.app_key);
      if (i == st.by_key.end())
        return refuse(ev.link, pusher_error::app_not_found,
                      "Application does not exist");
      auto& slot = st.apps[i->second];
      if (slot.failed || !slot.actor)
        return refuse(ev.link, pusher_error::over_capacity,
                      "Application is unavailable; retry later");
      self->send(slot.actor, std::move(ev));
    },
    [self](caf::put_atom, cluster_member& me) {
      self->state.self_member = std::move(me);
      start_bridge(self);
    },
    [self](view_atom, cluster_view& view) {
      auto& st = self->state;
      std::string ids;
      for (auto& m : view.members)
        ids += (ids.empty() ? "" : ",") + m.node_id;
      component_logger("node")->info("cluster view epoch={} members={}",
                                      view.epoch, ids);
      st.view = std::move(view);
      for (auto& slot : st.apps)
        if (slot.actor)
          self->send(slot.actor, view_atom::value, st.view, st.bridge);
    },
    [self](restart_atom, uint64_t index) {
      auto& st = self->state;
      if (index == std::numeric_limits<uint64_t>::max()) {
        if (!st.bridge)
          start_bridge(self);
        return;
      }
      if (index < st.apps.size() && !st.apps[index].failed
          && !st.apps[index].actor)
        start_app(self, st.apps[index]);
    },
    [self](publish_request& req) {
      auto& st = self->state;
      auto i = st.by_id.find(req.app_id);
      if (i == st.by_id.end() || !st.apps[i->second].actor)
        return;
      self->send(st.apps[i->second].actor, std::move(req));
    },
    [self](channels_request& req) -> caf::result<caf::message> {
      auto slot = find_app(self, req.app_id);
      if (slot == nullptr)
        return caf::make_error(errc::unknown_app);
      return self->delegate(slot->actor, std::move(req));
    },
    [self](owner_atom, const std::string& app_id,
           const std::string& channel) -> caf::result<caf::message> {
      // Another node's app asks for the owner that lives here.
      auto slot = find_app(self, app_id);
      if (slot == nullptr)
        return caf::make_error(errc::unknown_app);
      return self->delegate(slot->actor, owner_atom::value, channel, true);
    },
    [self](crash_request& req) -> caf::result<caf::message> {
      if (req.kind == "bridge") {
        auto& st = self->state;
        if (!st.bridge)
          return caf::make_error(errc::not_available, "no bridge running");
        // The bridge throws, like the other kinds. Not send_exit: CAF 0.17
        // unlinks the sender of an exit_msg before its handler runs, so
        // the node would never hear of the bridge's end nor restart it.
        self->send(st.bridge, crash_atom::value);
        return caf::make_message(caf::ok_atom::value);
      }
      auto slot = find_app(self, req.app_id);
      if (slot == nullptr)
        return caf::make_error(errc::unknown_app);
      if (req.kind == "app") {
        // The app throws; this node restarts it (or marks it failed).
        self->send(slot->actor, std::move(req));
        return caf::make_message(caf::ok_atom::value);
      }
      return self->delegate(slot->actor, std::move(req));
    },
    [self](topology_atom) -> caf::result<std::string> {
      auto& st = self->state;
      struct gather {
        caf::response_promise rp;
        std::vector<std::string> parts;
        std::size_t pending = 0;
        std::string node_id;
        std::string cluster;
      };
      auto g = std::make_shared<gather>();
      g->rp = self->make_response_promise();
      g->parts.resize(st.apps.size());
      g->node_id = st.node_id;
      std::string members;
      std::string nodes;
      for (auto& m : st.view.members) {
        members += (members.empty() ? "" : ",") + pusher::json_quote(m.node_id);
        nodes += std::string{nodes.empty() ? "" : ","} + "{\"id\":"
                 + pusher::json_quote(m.node_id) + ",\"start_epoch\":"
                 + std::to_string(m.start_epoch) + "}";
      }
      // start_epoch tells the incarnations apart: after a bridge restart
      // a peer's view has taken this node back once it lists the new one.
      g->cluster = "{\"bridge\":" + std::string{st.bridge ? "\"running\"" : "\"down\""}
                   + ",\"restarts\":" + std::to_string(st.bridge_restarts)
                   + ",\"start_epoch\":"
                   + std::to_string(st.self_member.start_epoch)
                   + ",\"epoch\":" + std::to_string(st.view.epoch)
                   + ",\"members\":[" + members + "],\"nodes\":[" + nodes
                   + "]}";
      auto finish = [g] {
        if (--g->pending > 0)
          return;
        std::string apps;
        for (auto& p : g->parts)
          apps += (apps.empty() ? "" : ",") + p;
        g->rp.deliver("{\"node\":" + pusher::json_quote(g->node_id)
                      + ",\"cluster\":" + g->cluster + ",\"apps\":[" + apps
                      + "]}");
      };
      g->pending = st.apps.size() + 1;
      for (std::size_t i = 0; i < st.apps.size(); ++i) {
        auto& slot = st.apps[i];
        g->parts[i] = "{\"id\":" + pusher::json_quote(slot.ctx->app.id)
                      + ",\"status\":\"failed\"}";
        if (slot.failed) {
          --g->pending;
          continue;
        }
        self->request(slot.actor, std::chrono::seconds(5), topology_atom::value)
          .then(
            [g, i, finish](std::string& part) {
              g->parts[i] = std::move(part);
              finish();
            },
            [finish](caf::error&) { finish(); });
      }
      finish();
      return g->rp;
    },
    [self](stats_atom) -> caf::result<std::string> {
      // Prometheus lines for the actor side of /metrics, one gather.
      auto& st = self->state;
      struct gather {
        caf::response_promise rp;
        std::string apps, channels, owners, hooks_sent, hooks_dropped,
          hooks_queued, failed, errors, logic, bridge;
        std::size_t pending = 1;
      };
      auto g = std::make_shared<gather>();
      g->rp = self->make_response_promise();
      auto finish = [g] {
        if (--g->pending > 0)
          return;
        auto family = [](const char* name, const char* help, const char* type,
                         const std::string& lines) {
          return std::string{"# HELP "} + name + ' ' + help + "\n# TYPE " + name
                 + ' ' + type + '\n' + lines;
        };
        g->rp.deliver(
          family("starling_app_connections", "Connections per app.", "gauge",
                 g->apps)
          + family("starling_app_channels", "Local channel actors per app.",
                   "gauge", g->channels)
          + family("starling_app_owners", "Channel owners per app.", "gauge",
                   g->owners)
          + family("starling_app_failed", "1 when an app is past its restart "
                                          "limit.", "gauge", g->failed)
          + family("starling_app_bad_input_total", "Bad input answered with an "
                   "error, by kind.", "counter", g->errors)
          + family("starling_webhook_requests_total", "Webhook requests "
                   "answered with 2xx.", "counter", g->hooks_sent)
          + family("starling_webhook_events_dropped_total", "Webhook events "
                   "dropped (queue full or retries exhausted).", "counter",
                   g->hooks_dropped)
          + family("starling_webhook_queued", "Webhook events waiting.",
                   "gauge", g->hooks_queued)
          + g->bridge
          + g->logic);
      };
      auto label = [](const std::string& app) {
        return "{app=" + pusher::json_quote(app) + "} ";
      };
      g->bridge = "# HELP starling_bridge_up 1 while the cluster bridge runs.\n"
                  "# TYPE starling_bridge_up gauge\nstarling_bridge_up "
                  + std::string{st.bridge ? "1" : "0"}
                  + "\n# HELP starling_bridge_restarts_total Cluster bridge "
                    "restarts after a crash.\n"
                    "# TYPE starling_bridge_restarts_total counter\n"
                    "starling_bridge_restarts_total "
                  + std::to_string(st.bridge_restarts) + '\n';
      // App logic counters are shared atomics: read here, no actor asked.
      std::vector<std::pair<std::string, logic_table_ptr>> logic_tables;
      for (auto& slot : st.apps)
        logic_tables.emplace_back(slot.ctx->app.id, slot.ctx->logic);
      g->logic = logic_metrics(logic_tables);
      for (auto& slot : st.apps) {
        auto l = label(slot.ctx->app.id);
        g->failed += "starling_app_failed" + l + (slot.failed ? "1\n" : "0\n");
        auto& c = *slot.ctx->counters;
        auto kind = [&](const char* k, uint64_t v) {
          g->errors += "starling_app_bad_input_total{app="
                       + pusher::json_quote(slot.ctx->app.id) + ",kind=\"" + k
                       + "\"} " + std::to_string(v) + '\n';
        };
        kind("protocol_error", c.protocol_errors);
        kind("subscription_error", c.subscription_errors);
        kind("refused_connection", c.refused_connections);
        if (!slot.actor)
          continue;
        ++g->pending;
        self->request(slot.actor, std::chrono::seconds(5), stats_atom::value)
          .then(
            [g, l, finish](uint64_t conns, uint64_t chans, uint64_t owners) {
              g->apps += "starling_app_connections" + l + std::to_string(conns) + '\n';
              g->channels += "starling_app_channels" + l + std::to_string(chans) + '\n';
              g->owners += "starling_app_owners" + l + std::to_string(owners) + '\n';
              finish();
            },
            [finish](caf::error&) { finish(); });
      }
      for (auto& hook : st.webhooks) {
        auto l = label(hook.app.id);
        ++g->pending;
        self->request(hook.actor, std::chrono::seconds(5), stats_atom::value)
          .then(
            [g, l, finish](uint64_t sent, uint64_t dropped, uint64_t queued) {
              g->hooks_sent += "starling_webhook_requests_total" + l
                               + std::to_string(sent) + '\n';
              g->hooks_dropped += "starling_webhook_events_dropped_total" + l
                                  + std::to_string(dropped) + '\n';
              g->hooks_queued += "starling_webhook_queued" + l
                                 + std::to_string(queued) + '\n';
              finish();
            },
            [finish](caf::error&) { finish(); });
      }
      finish();
      return g->rp;
    },
    [self](handoff_atom, owner_handoff& h) -> caf::result<caf::message> {
      // A channel's state arrives from its previous owner's node.
      auto slot = find_app(self, h.app_id);
      if (slot == nullptr)
        return caf::make_error(errc::unknown_app);
      return self->delegate(slot->actor, handoff_atom::value, std::move(h));
    },
    [self](drain_atom) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      // Leaving: a restart still pending from a bridge crash must not
      // announce this node again.
      st.bridge_factory = nullptr;
      if (st.bridge && !st.handed_over && st.view.members.size() > 1) {
        // Leaving: hand every owned channel to the node that takes it over
        // (the bridge leaves us out of the ring from now on), then go on.
        st.handed_over = true;
        auto rp = self->make_response_promise<caf::ok_atom>();
        auto pending = std::make_shared<std::size_t>(1);
        auto done = [self, rp, pending]() mutable {
          if (--*pending == 0)
            rp.delegate(caf::actor_cast<caf::actor>(self), drain_atom::value);
        };
        self->request(st.bridge, std::chrono::seconds(1), caf::leave_atom::value)
          .then(
            [self, pending, done](caf::ok_atom) mutable {
              for (auto& slot : self->state.apps) {
                if (!slot.actor)
                  continue;
                ++*pending;
                self->request(slot.actor, std::chrono::seconds(3),
                              handoff_atom::value)
                  .then([done](caf::ok_atom) mutable { done(); },
                        [done](caf::error&) mutable { done(); });
              }
              done();
            },
            [done](caf::error&) mutable { done(); });
        return rp;
      }
      // Leaving: say goodbye to the cluster first.
      if (st.bridge) {
        self->unlink_from(st.bridge);
        self->request(st.bridge, std::chrono::seconds(2), caf::close_atom::value)
          .then([](caf::ok_atom) {}, [](caf::error&) {});
        st.bridge = nullptr;
      }
      if (st.webhooks.empty())
        return caf::ok_atom::value;
      auto rp = self->make_response_promise<caf::ok_atom>();
      auto pending = std::make_shared<std::size_t>(st.webhooks.size());
      for (auto& hook : st.webhooks)
        self->request(hook.actor, std::chrono::seconds(4), drain_atom::value)
          .then(
            [rp, pending](caf::ok_atom) mutable {
              if (--*pending == 0)
                rp.deliver(caf::ok_atom::value);
            },
            [rp, pending](caf::error&) mutable {
              if (--*pending == 0)
                rp.deliver(caf::ok_atom::value);
            });
      return rp;
    },
    [self](terminate_request& req) -> caf::result<caf::message> {
      auto slot = find_app(self, req.app_id);
      if (slot == nullptr)
        return caf::make_error(errc::unknown_app);
      return self->delegate(slot->actor, std::move(req));
    },
    [self](channel_request& req) -> caf::result<caf::message> {
      auto slot = find_app(self, req.app_id);
      if (slot == nullptr)
        return caf::make_error(errc::unknown_app);
      return self->delegate(slot->actor, std::move(req));
    },
    [self](stats_atom, const std::string& app_id) -> caf::result<caf::message> {
      auto& st = self->state;
      auto i = st.by_id.find(app_id);
      if (i == st.by_id.end() || st.apps[i->second].failed)
        return caf::make_error(errc::unknown_app);
      return self->delegate(st.apps[i->second].actor, stats_atom::value);
    },
  };
}

} // namespace starling
