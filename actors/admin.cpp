// Admin actor: topology as JSON and the actor side of /metrics.
#include "actors/admin.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/fan_in.hpp"
#include "actors/logic_bindings.hpp"
#include "actors/prometheus_text.hpp"

namespace starling {

namespace {

using self_ptr = admin_actor::stateful_pointer<admin_state>;
using json = nlohmann::json;

constexpr auto query_timeout = std::chrono::seconds(5);

// -- topology ------------------------------------------------------------------------

struct topology_parts {
  json node = json::object();
  std::vector<json> apps;
};

// Delivers the assembled topology once every part is in.
struct topology_answer {
  caf::typed_response_promise<std::string> rp;
  void deliver(topology_parts parts) {
    auto out = parts.node;
    out["apps"] = parts.apps;
    rp.deliver(out.dump());
  }
};

caf::typed_response_promise<std::string> on_topology(self_ptr self) {
  auto rp = self->make_response_promise<std::string>();
  auto& st = self->state;
  auto apps = st.apps->all();
  topology_parts initial;
  for (auto& entry : apps)
    initial.apps.push_back(json{{"id", entry.ctx->app.id},
                                {"status", to_string(entry.status)}});
  auto gather = fan_in<topology_parts, topology_answer>::make(
    topology_answer{rp}, std::move(initial));
  gather->expect();
  self->request(st.node, query_timeout, topology_atom::value)
    .then(
      [gather](std::string& text) {
        gather->value().node = json::parse(text, nullptr, false);
        gather->done();
      },
      [gather](caf::error&) { gather->done(); });
  for (std::size_t i = 0; i < apps.size(); ++i) {
    if (apps[i].status != app_status::running)
      continue;
    gather->expect();
    self->request(apps[i].actor, query_timeout, topology_atom::value)
      .then(
        [gather, i](std::string& text) {
          auto part = json::parse(text, nullptr, false);
          if (!part.is_discarded())
            gather->value().apps[i] = std::move(part);
          gather->done();
        },
        [gather](caf::error&) { gather->done(); });
  }
  gather->seal();
  return rp;
}

// -- metrics -------------------------------------------------------------------------

struct metrics_parts {
  std::vector<app_entry> apps;
  std::vector<app_stats> stats;     // Per app (zeros unless running).
  std::vector<webhook_stats> hooks; // Per app (zeros without webhooks).
  node_stats node;
};

void app_families(prometheus_text& out, const metrics_parts& p) {
  auto per_app = [&](const char* name, const char* help, metric_type type,
                     auto value) {
    out.family(name, help, type);
    for (std::size_t i = 0; i < p.apps.size(); ++i)
      out.sample(name, {{"app", p.apps[i].ctx->app.id}},
                 static_cast<uint64_t>(value(i)));
  };
  per_app("starling_app_connections", "Connections per app.",
          metric_type::gauge, [&](std::size_t i) { return p.stats[i].connections; });
  per_app("starling_app_channels", "Local channel actors per app.",
          metric_type::gauge, [&](std::size_t i) { return p.stats[i].channels; });
  per_app("starling_app_owners", "Channel owners per app.", metric_type::gauge,
          [&](std::size_t i) { return p.stats[i].owners; });
  per_app("starling_app_failed", "1 when an app is past its restart limit.",
          metric_type::gauge, [&](std::size_t i) {
            return p.apps[i].status == app_status::failed ? 1 : 0;
          });
  // Counter families of app_counters with one label telling them apart.
  using counter = std::atomic<uint64_t> app_counters::*;
  auto by_label = [&](const char* name, const char* help, const char* label,
                      std::initializer_list<std::pair<const char*, counter>> kinds) {
    out.family(name, help, metric_type::counter);
    for (auto& entry : p.apps)
      for (auto& [value, field] : kinds)
        out.sample(name, {{"app", entry.ctx->app.id}, {label, value}},
                   (entry.ctx->counters.get()->*field).load());
  };
  by_label("starling_app_bad_input_total",
           "Bad input answered with an error, by kind.", "kind",
           {{"protocol_error", &app_counters::protocol_errors},
            {"subscription_error", &app_counters::subscription_errors},
            {"refused_connection", &app_counters::refused_connections}});
  by_label("starling_limit_hits_total",
           "Requests refused by a configured limit, by limit.", "limit",
           {{"subscriptions_per_connection",
             &app_counters::subscription_limit_hits},
            {"http_requests_per_second", &app_counters::rate_limited_requests}});
}

void webhook_families(prometheus_text& out, const metrics_parts& p) {
  auto per_hook = [&](const char* name, const char* help, metric_type type,
                      auto value) {
    out.family(name, help, type);
    for (std::size_t i = 0; i < p.apps.size(); ++i)
      if (p.apps[i].ctx->webhooks)
        out.sample(name, {{"app", p.apps[i].ctx->app.id}}, value(p.hooks[i]));
  };
  per_hook("starling_webhook_requests_total",
           "Webhook requests answered with 2xx.", metric_type::counter,
           [](const webhook_stats& s) { return s.sent; });
  per_hook("starling_webhook_events_dropped_total",
           "Webhook events dropped (queue full or retries exhausted).",
           metric_type::counter, [](const webhook_stats& s) { return s.dropped; });
  per_hook("starling_webhook_queued", "Webhook events waiting.",
           metric_type::gauge, [](const webhook_stats& s) { return s.queued; });
}

void logic_families(prometheus_text& out, const std::vector<app_entry>& apps) {
  bool any = false;
  for (auto& entry : apps)
    any = any || entry.ctx->logic != nullptr;
  if (!any)
    return;
  auto each = [&](const char* name, const char* help, metric_type type,
                  auto value) {
    out.family(name, help, type);
    for (auto& entry : apps) {
      if (!entry.ctx->logic)
        continue;
      // The same actor may be bound to several patterns: the pattern is
      // part of the series.
      for (auto& b : entry.ctx->logic->bindings)
        value(entry.ctx->app.id, b);
    }
  };
  auto gauge = [&](const char* name, auto get) {
    return [&out, name, get](const std::string& app, const logic_binding& b) {
      out.sample(name, {{"app", app}, {"actor", b.actor}, {"channels", b.pattern}},
                 static_cast<uint64_t>(get(*b.stats)));
    };
  };
  each("starling_logic_instances", "Live app logic instances.",
       metric_type::gauge,
       gauge("starling_logic_instances",
             [](const logic_stats& s) { return s.running.load(); }));
  each("starling_logic_failed",
       "App logic instances past their restart limit (the app serves on "
       "without them).",
       metric_type::gauge,
       gauge("starling_logic_failed",
             [](const logic_stats& s) { return s.failed(); }));
  each("starling_logic_restarts_total", "App logic instance restarts.",
       metric_type::counter,
       gauge("starling_logic_restarts_total",
             [](const logic_stats& s) { return s.restarts.load(); }));
  each("starling_logic_hook_calls_total", "Hook questions and notifications.",
       metric_type::counter,
       gauge("starling_logic_hook_calls_total",
             [](const logic_stats& s) { return s.calls.load(); }));
  each("starling_logic_unavailable_total",
       "Hooks answered by the binding's on_unavailable verdict (refuse/drop "
       "unless \"pass\"): no instance in time, failed, timeout, error.",
       metric_type::counter,
       gauge("starling_logic_unavailable_total",
             [](const logic_stats& s) { return s.unavailable.load(); }));
  each("starling_logic_verdicts_total",
       "Hook answers that changed something, by verdict.",
       metric_type::counter,
       [&out](const std::string& app, const logic_binding& b) {
         auto& s = *b.stats;
         const std::pair<const char*, uint64_t> verdicts[] = {
           {"refuse", s.refused.load()},
           {"drop", s.dropped.load()},
           {"rewrite", s.rewritten.load()},
           {"answer", s.answered.load()}};
         for (auto& [verdict, n] : verdicts)
           out.sample("starling_logic_verdicts_total",
                      {{"app", app},
                       {"actor", b.actor},
                       {"channels", b.pattern},
                       {"verdict", verdict}},
                      n);
       });
}

// The bridge's bus counters (all zero on the local bridge).
void bus_families(prometheus_text& out, const bridge_stats& bus) {
  const struct {
    const char* name;
    const char* help;
    uint64_t value;
  } counters[] = {
    {"starling_bus_published_total", "Events this node handed to the bus.",
     bus.published},
    {"starling_bus_publish_failures_total",
     "Events the bus refused (other nodes recover them by replay).",
     bus.publish_failures},
    {"starling_bus_delivered_total",
     "Events of other nodes taken from the bus.", bus.delivered},
    {"starling_bus_disconnects_total", "Times the NATS connection was lost.",
     bus.disconnects},
    {"starling_bus_reconnects_total", "Times the NATS connection came back.",
     bus.reconnects},
  };
  for (auto& c : counters) {
    out.family(c.name, c.help, metric_type::counter);
    out.sample(c.name, {}, c.value);
  }
}

// Delivers the assembled text once every part is in.
struct metrics_answer {
  caf::typed_response_promise<std::string> rp;
  void deliver(metrics_parts p) {
    prometheus_text out;
    app_families(out, p);
    webhook_families(out, p);
    out.family("starling_bridge_up", "1 while the cluster bridge runs.",
               metric_type::gauge);
    out.sample("starling_bridge_up", {}, uint64_t{p.node.bridge_up ? 1u : 0u});
    out.family("starling_bridge_restarts_total",
               "Cluster bridge restarts after a crash.", metric_type::counter);
    out.sample("starling_bridge_restarts_total", {}, p.node.bridge_restarts);
    bus_families(out, p.node.bus);
    out.family("starling_cluster_view_changes_total",
               "Membership views this node received, by why they came "
               "(joined, goodbye, timeout, connection_lost, restarted, "
               "bus_back, start).",
               metric_type::counter);
    for (auto& [reason, n] : p.node.view_reasons)
      out.sample("starling_cluster_view_changes_total", {{"reason", reason}},
                 n);
    logic_families(out, p.apps);
    rp.deliver(out.str());
  }
};

caf::typed_response_promise<std::string> on_metrics(self_ptr self) {
  auto rp = self->make_response_promise<std::string>();
  auto& st = self->state;
  metrics_parts initial;
  initial.apps = st.apps->all();
  initial.stats.resize(initial.apps.size());
  initial.hooks.resize(initial.apps.size());
  auto gather = fan_in<metrics_parts, metrics_answer>::make(
    metrics_answer{rp}, std::move(initial));
  gather->expect();
  self->request(st.node, query_timeout, stats_atom::value)
    .then(
      [gather](node_stats& s) {
        gather->value().node = s;
        gather->done();
      },
      [gather](caf::error&) { gather->done(); });
  auto& apps = gather->value().apps;
  for (std::size_t i = 0; i < apps.size(); ++i) {
    if (apps[i].status == app_status::running) {
      gather->expect();
      self->request(apps[i].actor, query_timeout, stats_atom::value)
        .then(
          [gather, i](app_stats& s) {
            gather->value().stats[i] = s;
            gather->done();
          },
          [gather](caf::error&) { gather->done(); });
    }
    if (apps[i].ctx->webhooks)
      if (auto hooks = apps[i].ctx->webhooks->get()) {
        gather->expect();
        self->request(hooks, query_timeout, stats_atom::value)
          .then(
            [gather, i](webhook_stats& s) {
              gather->value().hooks[i] = s;
              gather->done();
            },
            [gather](caf::error&) { gather->done(); });
      }
  }
  gather->seal();
  return rp;
}

} // namespace

admin_actor::behavior_type admin_behavior(admin_actor::stateful_pointer<admin_state> self,
                                          node_actor node,
                                          std::shared_ptr<app_directory> apps) {
  self->state.node = std::move(node);
  self->state.apps = std::move(apps);
  return {
    [self](topology_atom) { return on_topology(self); },
    [self](metrics_atom) { return on_metrics(self); },
    [self](crash_request& req) {
      return self->delegate(self->state.node, std::move(req));
    },
  };
}

} // namespace starling
