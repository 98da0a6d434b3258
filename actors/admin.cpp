// Admin actor: topology as JSON and the actor side of /metrics.
#include "actors/admin.hpp"

#include <map>
#include <set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/app_metrics.hpp"
#include "actors/fan_in.hpp"
#include "actors/logic_bindings.hpp"
#include "actors/prometheus_text.hpp"

namespace starling {

namespace {

using self_ptr = admin_actor::stateful_pointer<admin_state>;
using json = nlohmann::json;

constexpr auto query_timeout = std::chrono::seconds(5);
// A peer that does not answer this fast is shown unreachable.
constexpr auto peer_timeout = std::chrono::seconds(2);

// -- topology ------------------------------------------------------------------------

// scope=cluster: this node's tree and every peer's, by the peers' node
// actors (CAF remote actors, from the bridge). A member of the view that
// does not answer in time is marked unreachable.
struct cluster_parts {
  json local;                 // This node's tree.
  std::vector<json> peers;    // Answers of the peers.
  std::vector<std::string> failed; // Errors of the peers that did not.
};

// Each channel of the cluster once: its owner node, subscribers per node.
json merge_channels(const std::vector<const json*>& trees) {
  std::map<std::pair<std::string, std::string>, json> out;
  for (auto* t : trees) {
    auto node = t->value("id", std::string{});
    for (auto& app : (*t)["apps"]) {
      auto app_id = app.value("id", std::string{});
      if (app.contains("channel_list"))
        for (auto& c : app["channel_list"]) {
          auto& e = out[{app_id, c.value("name", std::string{})}];
          e["subscribers_by_node"][node] = c.value("subscribers", 0);
        }
      if (app.contains("owner_list"))
        for (auto& o : app["owner_list"]) {
          auto& e = out[{app_id, o.value("channel", std::string{})}];
          e["owner"] = node;
          e["subscribers"] = o.value("subscribers", 0);
          e["presence_members"] = o.value("presence_members", 0);
          e["seq"] = o.value("seq", 0);
          e["cached"] = o.value("cached", false);
          e["interest"] = o.value("interest", json::object());
        }
    }
  }
  auto list = json::array();
  for (auto& [key, e] : out) {
    e["app"] = key.first;
    e["name"] = key.second;
    if (!e.contains("owner"))
      e["owner"] = nullptr; // Owned by a node outside the page or gone.
    list.push_back(std::move(e));
  }
  return list;
}

struct cluster_answer {
  caf::typed_response_promise<std::string> rp;
  void deliver(cluster_parts p) {
    auto nodes = json::array();
    std::vector<const json*> trees;
    std::set<std::string> answered;
    auto add = [&](const json& t) {
      answered.insert(t.value("id", std::string{}));
      nodes.push_back(json{{"id", t.value("id", std::string{})},
                           {"reachable", true},
                           {"topology", t}});
    };
    if (p.local.is_object())
      add(p.local);
    for (auto& t : p.peers)
      if (t.is_object())
        add(t);
    for (auto& n : nodes)
      trees.push_back(&n["topology"]);
    json cluster = p.local.is_object() ? p.local["cluster"] : json::object();
    // Members of the view that did not answer, then nodes that left lately.
    if (cluster.contains("members"))
      for (auto& m : cluster["members"])
        if (answered.insert(m.get<std::string>()).second)
          nodes.push_back(json{{"id", m}, {"reachable", false},
                               {"error", "did not answer"}});
    if (cluster.contains("history"))
      for (auto& h : cluster["history"])
        for (auto& gone : h["left"])
          if (answered.insert(gone.get<std::string>()).second)
            nodes.push_back(json{{"id", gone}, {"reachable", false},
                                 {"left", true}, {"reason", h["reason"]},
                                 {"at_ms", h["at_ms"]}});
    json out{{"scope", "cluster"},
             {"node", p.local.value("id", std::string{})},
             {"at_ms", p.local.value("at_ms", uint64_t{0})},
             {"epoch", cluster.value("epoch", uint64_t{0})},
             {"history", cluster.value("history", json::array())},
             {"peer_errors", p.failed},
             {"nodes", nodes},
             {"channels", merge_channels(trees)}};
    rp.deliver(out.dump(-1, ' ', false, json::error_handler_t::replace));
  }
};

caf::typed_response_promise<std::string>
on_cluster_topology(self_ptr self, const topology_request& req) {
  auto rp = self->make_response_promise<std::string>();
  auto gather = fan_in<cluster_parts, cluster_answer>::make(cluster_answer{rp});
  auto node = self->state.node;
  gather->expect(2);
  self->request(node, query_timeout, req)
    .then(
      [gather](std::string& text) {
        gather->value().local = json::parse(text, nullptr, false);
        gather->done();
      },
      [gather](caf::error&) { gather->done(); });
  self->request(node, query_timeout, peers_atom::value)
    .then(
      [self, gather, req](std::vector<caf::actor>& peers) {
        for (auto& p : peers) {
          auto peer = caf::actor_cast<node_actor>(p);
          gather->expect();
          self->request(peer, peer_timeout, req)
            .then(
              [gather](std::string& text) {
                gather->value().peers.push_back(
                  json::parse(text, nullptr, false));
                gather->done();
              },
              [gather](caf::error& err) {
                gather->value().failed.push_back(to_string(err));
                gather->done();
              });
        }
        gather->done();
      },
      [gather](caf::error&) { gather->done(); });
  gather->seal();
  return rp;
}

caf::result<std::string> on_topology(self_ptr self, topology_request& req,
                                     bool cluster) {
  if (cluster)
    return on_cluster_topology(self, req);
  return self->delegate(self->state.node, std::move(req));
}

// Closes a connection on whichever node holds it: this node first, then
// every peer.
caf::typed_response_promise<bool> on_disconnect(self_ptr self,
                                                disconnect_request& req) {
  auto rp = self->make_response_promise<bool>();
  auto node = self->state.node;
  self->request(node, query_timeout, req)
    .then(
      [self, rp, node, req](bool here) mutable {
        if (here) {
          rp.deliver(true);
          return;
        }
        self->request(node, query_timeout, peers_atom::value)
          .then(
            [self, rp, req](std::vector<caf::actor>& peers) mutable {
              auto found = std::make_shared<bool>(false);
              struct done_t {
                caf::typed_response_promise<bool> rp;
                std::shared_ptr<bool> found;
                void deliver(caf::unit_t) { rp.deliver(*found); }
              };
              auto gather = fan_in<caf::unit_t, done_t>::make(
                done_t{rp, found});
              for (auto& p : peers) {
                gather->expect();
                self->request(caf::actor_cast<node_actor>(p), peer_timeout, req)
                  .then(
                    [gather, found](bool there) {
                      *found = *found || there;
                      gather->done();
                    },
                    [gather](caf::error&) { gather->done(); });
              }
              gather->seal();
            },
            [rp](caf::error&) mutable { rp.deliver(false); });
      },
      [rp](caf::error& err) mutable { rp.deliver(err); });
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
  each("starling_logic_snapshots_total",
       "State snapshots of logic instances (snapshot_hook), by result: kept, "
       "or refused over snapshot_max_bytes.",
       metric_type::counter,
       [&out](const std::string& app, const logic_binding& b) {
         const std::pair<const char*, uint64_t> results[] = {
           {"kept", b.stats->snapshots.load()},
           {"refused", b.stats->snapshots_refused.load()}};
         for (auto& [result, n] : results)
           out.sample("starling_logic_snapshots_total",
                      {{"app", app},
                       {"actor", b.actor},
                       {"channels", b.pattern},
                       {"result", result}},
                      n);
       });
  each("starling_logic_restores_total",
       "Fresh logic instances started from a snapshot (after a crash, or on "
       "the new owner's node after a handoff).",
       metric_type::counter,
       gauge("starling_logic_restores_total",
             [](const logic_stats& s) { return s.restores.load(); }));
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
    out.family("starling_cluster_members",
               "Members of this node's latest membership view.",
               metric_type::gauge);
    out.sample("starling_cluster_members", {}, p.node.members);
    logic_families(out, p.apps);
    write_app_traffic(out, p.apps);
    write_logic_latency(out, p.apps);
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
    [self](topology_request& req, bool cluster) {
      return on_topology(self, req, cluster);
    },
    [self](disconnect_request& req) { return on_disconnect(self, req); },
    [self](metrics_atom) { return on_metrics(self); },
    [self](crash_request& req) {
      return self->delegate(self->state.node, std::move(req));
    },
  };
}

} // namespace starling
