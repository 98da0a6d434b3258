// Admin endpoint routes.
#include "transport/admin_http.hpp"

#include <algorithm>
#include <cstdlib>

#include "actors/messages.hpp"
#include "actors/prometheus_text.hpp"
#include "actors/topology_page.hpp"
#include "transport/admin_actions.hpp"
#include "transport/admin_events.hpp"
#include "transport/ask.hpp"
#include "transport/process_metrics.hpp"
#include "pusher/signature.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

admin_http::admin_http(server_context& ctx) : ctx_(ctx) {
  // nop
}

namespace {

// ?scope=cluster&app=&q=&after=&limit= of /topology and /topology/events.
std::pair<topology_request, bool> topology_query(const pusher::query_params& q) {
  topology_request req;
  auto get = [&](const char* key) {
    auto v = pusher::find_param(q, key);
    return v ? *v : std::string{};
  };
  req.app = get("app");
  req.search = get("q");
  req.after = get("after");
  if (auto limit = get("limit"); !limit.empty()) {
    char* end = nullptr;
    auto n = std::strtoul(limit.c_str(), &end, 10);
    req.limit = static_cast<uint32_t>(
      std::min<unsigned long>(n, max_topology_page));
  }
  return {std::move(req), get("scope") == "cluster"};
}

http_reply json_body(std::string body) {
  http_reply reply;
  reply.body = std::move(body);
  return reply;
}

} // namespace

void admin_http::handle(const http_request_view& req, const reply_fn& done) {
  auto qpos = req.target.find('?');
  auto path = req.target.substr(0, qpos);
  auto query = pusher::parse_query(
    qpos == std::string::npos ? std::string_view{}
                              : std::string_view{req.target}.substr(qpos + 1));
  // Liveness and readiness stay open so orchestrators can probe them.
  if (path == "/health" || path == "/") {
    return done(json_body("{\"status\":\"ok\"}"));
  }
  if (path == "/ready") {
    if (ctx_.ready)
      return done(json_body("{\"ready\":true}"));
    return done(json_error(503, "not ready"));
  }
  // The page holds no data; it asks for the token and sends it in a header.
  if (path == "/topology.html") {
    http_reply page;
    page.content_type = "text/html; charset=utf-8";
    page.body = topology_page();
    page.headers = {{"Cache-Control", "no-store"},
                    {"Content-Security-Policy",
                     "default-src 'self'; script-src 'unsafe-inline'; "
                     "style-src 'unsafe-inline'; connect-src 'self'"}};
    return done(page);
  }
  auto& token = ctx_.settings.admin.token;
  if (!token.empty()
      && !pusher::constant_time_equal(req.authorization, "Bearer " + token))
    return done(json_error(401, "Admin token required: Authorization: Bearer <token>"));
  if (path == "/metrics") {
    // Transport counters here, actor counters from the node.
    auto transport = metrics();
    return ask<std::string>(ctx_, ctx_.admin, metrics_atom::value, done,
                            [transport](std::string& actors)
                              -> std::optional<http_reply> {
                              auto reply = transport;
                              reply.body += actors;
                              return reply;
                            });
  }
  if (path == "/topology") {
    auto [treq, cluster] = topology_query(query);
    auto job = [admin = ctx_.admin, treq = treq, cluster = cluster,
                done](caf::event_based_actor* self) {
      self->request(admin, std::chrono::seconds(5), treq, cluster)
        .then([done](std::string& json) { done(json_body(std::move(json))); },
              [done](caf::error& err) {
                done(unavailable("Not taken: " + caf::to_string(err)));
              });
    };
    caf::anon_send(ctx_.gateway, gateway_job{std::move(job)});
    return;
  }
  if (path == "/topology/events") {
    auto [treq, cluster] = topology_query(query);
    http_reply stream;
    stream.events = make_topology_events(ctx_, std::move(treq), cluster);
    return done(std::move(stream));
  }
  if (path.rfind("/actions/", 0) == 0) {
    if (req.method != "POST")
      return done(json_error(405, "Use POST for " + path));
    if (path == "/actions/disconnect")
      return admin_disconnect(ctx_, query, done);
    if (path == "/actions/terminate")
      return admin_terminate(ctx_, query, done);
    if (path == "/actions/publish")
      return admin_publish(ctx_, query, req.body, done);
    return done(json_error(404, "Not found: " + path));
  }
  if (path == "/faults/crash") {
    // Fault injection for tests; off unless admin.fault_injection is set.
    if (!ctx_.settings.admin.fault_injection)
      return done(json_error(403, "Fault injection is disabled "
                                  "(admin.fault_injection)"));
    if (req.method != "POST")
      return done(json_error(405, "Use POST for /faults/crash"));
    crash_request crash;
    for (auto& [k, v] : query) {
      if (k == "app")
        crash.app_id = v;
      else if (k == "kind")
        crash.kind = v;
      else if (k == "name")
        crash.name = v;
    }
    return ask<caf::ok_atom>(ctx_, ctx_.admin, std::move(crash), done,
                             [](caf::ok_atom) -> std::optional<http_reply> {
                               return json_body("{}");
                             });
  }
  done(json_error(404, "Not found: " + path));
}

http_reply admin_http::metrics() const {
  auto& m = ctx_.metrics;
  prometheus_text out;
  auto one = [&](const char* name, const char* help, uint64_t value,
                 metric_type type = metric_type::counter) {
    out.family(name, help, type);
    out.sample(name, {}, value);
  };
  one("starling_connections_open", "WebSocket connections open now.",
      m.connections_open, metric_type::gauge);
  one("starling_connections_total", "WebSocket connections accepted.",
      m.connections_total);
  one("starling_frames_in_total", "Inbound WebSocket messages.", m.frames_in);
  one("starling_frames_out_total", "Outbound frames written.", m.frames_out);
  one("starling_bytes_out_total", "Outbound bytes written.", m.bytes_out);
  one("starling_slow_consumer_drops_total",
      "Connections closed because their outbound queue was full.",
      m.slow_consumer_drops);
  one("starling_pong_timeouts_total", "Connections closed with 4201.",
      m.pong_timeouts);
  one("starling_http_requests_total", "HTTP API requests.", m.http_requests);
  one("starling_http_errors_total", "HTTP responses with status >= 400.",
      m.http_errors);
  one("starling_publishes_total", "Accepted HTTP API triggers.", m.publishes);
  out.family("starling_node_limit_hits_total",
             "Connections refused or closed by a node limit, by limit.",
             metric_type::counter);
  out.sample("starling_node_limit_hits_total", {{"limit", "connections"}},
             m.node_connection_limit.load());
  out.sample("starling_node_limit_hits_total",
             {{"limit", "new_connections_per_ip"}}, m.ip_rate_limit.load());
  out.sample("starling_node_limit_hits_total", {{"limit", "fragment_timeout"}},
             m.fragment_timeouts.load());
  out.sample("starling_node_limit_hits_total", {{"limit", "origin"}},
             m.origin_refusals.load());
  out.family("starling_io_thread_connections",
             "WebSocket sessions on each I/O thread.", metric_type::gauge);
  for (auto* w : ctx_.workers)
    out.sample("starling_io_thread_connections",
               {{"thread", std::to_string(w->index)}},
               w->sessions.size.load(std::memory_order_relaxed));
  ctx_.http.write(out);
  write_process_metrics(out);
  http_reply reply;
  reply.content_type = "text/plain; version=0.0.4";
  reply.body = out.str();
  return reply;
}

} // namespace starling::transport
