// Per-app traffic metrics (see app_metrics.hpp).
#include "actors/app_metrics.hpp"

#include <string>
#include <utility>

#include "actors/logic_bindings.hpp"

namespace starling {

namespace {

using counter = std::atomic<uint64_t> app_counters::*;

void per_app(prometheus_text& out, const std::vector<app_entry>& apps,
             const char* name, const char* help, metric_type type,
             counter field) {
  out.family(name, help, type);
  for (auto& e : apps)
    out.sample(name, {{"app", e.ctx->app.id}},
               (e.ctx->counters.get()->*field).load(std::memory_order_relaxed));
}

} // namespace

void write_app_traffic(prometheus_text& out, const std::vector<app_entry>& apps) {
  struct family {
    const char* name;
    const char* help;
    metric_type type;
    counter field;
  };
  const family families[] = {
    {"starling_messages_in_total", "WebSocket messages received from clients.",
     metric_type::counter, &app_counters::messages_in},
    {"starling_messages_out_total", "WebSocket frames written to clients.",
     metric_type::counter, &app_counters::messages_out},
    {"starling_bytes_in_total", "Payload bytes of messages from clients.",
     metric_type::counter, &app_counters::bytes_in},
    {"starling_app_bytes_out_total", "Bytes written to clients.",
     metric_type::counter, &app_counters::bytes_out},
    {"starling_app_publishes_total", "Events accepted by the HTTP API.",
     metric_type::counter, &app_counters::publishes},
    {"starling_client_events_total", "Client events accepted.",
     metric_type::counter, &app_counters::client_events},
    {"starling_drops_total",
     "Connections dropped because their outbound queue was full.",
     metric_type::counter, &app_counters::slow_consumer_drops},
    {"starling_subscriptions", "Subscriptions of clients to channels on this node (internal channels not counted).",
     metric_type::gauge, &app_counters::subscriptions},
    {"starling_presence_members",
     "Distinct presence members of the channels owned by this node.",
     metric_type::gauge, &app_counters::presence_members},
    {"starling_logic_states",
     "Logic snapshots kept beyond their owners: this node's owners' latest "
     "and copies for channels it would take over.",
     metric_type::gauge, &app_counters::logic_states},
    {"starling_logic_state_bytes", "Bytes of those logic snapshots.",
     metric_type::gauge, &app_counters::logic_state_bytes},
    {"starling_logic_states_evicted_total",
     "Channels whose kept logic snapshots were dropped to stay within "
     "apps[].logic_state.",
     metric_type::counter, &app_counters::logic_states_evicted},
  };
  for (auto& f : families)
    per_app(out, apps, f.name, f.help, f.type, f.field);
  out.family("starling_owner_handoffs_total",
             "Channel owners handed over between nodes, by direction.",
             metric_type::counter);
  for (auto& e : apps) {
    auto& c = *e.ctx->counters;
    out.sample("starling_owner_handoffs_total",
               {{"app", e.ctx->app.id}, {"direction", "in"}},
               c.handoffs_in.load(std::memory_order_relaxed));
    out.sample("starling_owner_handoffs_total",
               {{"app", e.ctx->app.id}, {"direction", "out"}},
               c.handoffs_out.load(std::memory_order_relaxed));
  }
  out.family("starling_logic_state_copies_total",
             "Copies of a channel's logic snapshots to the node that takes "
             "it over if this one dies: sent (acknowledged), failed, "
             "received from peers.",
             metric_type::counter);
  for (auto& e : apps) {
    auto& c = *e.ctx->counters;
    const std::pair<const char*, const app_counters::counter*> rows[] = {
      {"sent", &c.logic_copies_sent},
      {"failed", &c.logic_copies_failed},
      {"received", &c.logic_copies_received}};
    for (auto& [result, n] : rows)
      out.sample("starling_logic_state_copies_total",
                 {{"app", e.ctx->app.id}, {"result", result}},
                 n->load(std::memory_order_relaxed));
  }
  out.family("starling_disconnects_total",
             "WebSocket connections closed, by close code (1006: no close "
             "frame; other: a code not listed).",
             metric_type::counter);
  for (auto& e : apps) {
    auto& c = *e.ctx->counters;
    for (std::size_t i = 0; i <= counted_close_codes.size(); ++i) {
      auto n = c.disconnects[i].load(std::memory_order_relaxed);
      if (n == 0)
        continue; // Series appear with their first close.
      auto code = i < counted_close_codes.size()
                    ? std::to_string(counted_close_codes[i])
                    : std::string{"other"};
      out.sample("starling_disconnects_total",
                 {{"app", e.ctx->app.id}, {"code", code}}, n);
    }
  }
  // Per-app histograms every app has.
  const struct {
    const char* name;
    const char* help;
    latency_histogram app_counters::*field;
  } histograms[] = {
    {"starling_publish_duration_seconds",
     "HTTP API publish: accepted until every channel's owner numbered the "
     "event.",
     &app_counters::publish_latency},
    {"starling_publish_to_flush_seconds",
     "Publish (HTTP API accept, client event taken by its connection) until "
     "the write pass of its frame to this node's sockets, once per event and "
     "I/O thread; events of other nodes include the clock offset between the "
     "nodes.",
     &app_counters::flush_latency},
  };
  for (auto& h : histograms) {
    out.family(h.name, h.help, metric_type::histogram);
    for (auto& e : apps)
      out.histogram(h.name, {{"app", e.ctx->app.id}},
                    e.ctx->counters.get()->*h.field);
  }
  out.family("starling_webhook_delivery_seconds",
             "Webhook request posted until answered (or failed).",
             metric_type::histogram);
  for (auto& e : apps)
    if (e.ctx->webhooks)
      out.histogram("starling_webhook_delivery_seconds",
                    {{"app", e.ctx->app.id}}, e.ctx->counters->webhook_latency);
}

void write_logic_latency(prometheus_text& out,
                         const std::vector<app_entry>& apps) {
  bool any = false;
  for (auto& e : apps)
    any = any || (e.ctx->logic && !e.ctx->logic->bindings.empty());
  if (!any)
    return;
  out.family("starling_logic_hook_duration_seconds",
             "Logic hook question until answer, timeout or error.",
             metric_type::histogram);
  for (auto& e : apps)
    if (e.ctx->logic)
      for (auto& b : e.ctx->logic->bindings)
        out.histogram("starling_logic_hook_duration_seconds",
                      {{"app", e.ctx->app.id},
                       {"actor", b.actor},
                       {"channels", b.pattern}},
                      b.stats->latency);
}

} // namespace starling
