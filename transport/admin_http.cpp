// Admin endpoint routes.
#include "transport/admin_http.hpp"

#include "actors/messages.hpp"
#include "actors/prometheus_text.hpp"
#include "transport/ask.hpp"
#include "pusher/signature.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

admin_http::admin_http(server_context& ctx) : ctx_(ctx) {
  // nop
}

void admin_http::handle(const http_request_view& req, const reply_fn& done) {
  auto path = req.target.substr(0, req.target.find('?'));
  // Liveness and readiness stay open so orchestrators can probe them.
  if (path == "/health" || path == "/") {
    http_reply ok;
    ok.body = "{\"status\":\"ok\"}";
    return done(ok);
  }
  if (path == "/ready") {
    if (ctx_.ready) {
      http_reply ok;
      ok.body = "{\"ready\":true}";
      return done(ok);
    }
    return done(json_error(503, "not ready"));
  }
  // The page holds no data; it asks for the token and fetches /topology
  // with it in a header.
  if (path == "/topology.html") {
    http_reply page;
    page.content_type = "text/html; charset=utf-8";
    page.body = topology_page();
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
    return ask<std::string>(ctx_, ctx_.admin, topology_atom::value, done,
                            [](std::string& json) -> std::optional<http_reply> {
                              http_reply reply;
                              reply.body = std::move(json);
                              return reply;
                            });
  }
  if (path == "/faults/crash") {
    // Fault injection for tests; off unless admin.fault_injection is set.
    if (!ctx_.settings.admin.fault_injection)
      return done(json_error(403, "Fault injection is disabled "
                                  "(admin.fault_injection)"));
    if (req.method != "POST")
      return done(json_error(405, "Use POST for /faults/crash"));
    auto params = pusher::parse_query(
      req.target.find('?') == std::string::npos
        ? std::string{}
        : req.target.substr(req.target.find('?') + 1));
    crash_request crash;
    for (auto& [k, v] : params) {
      if (k == "app")
        crash.app_id = v;
      else if (k == "kind")
        crash.kind = v;
      else if (k == "name")
        crash.name = v;
    }
    return ask<caf::ok_atom>(ctx_, ctx_.admin, std::move(crash), done,
                             [](caf::ok_atom) -> std::optional<http_reply> {
                               http_reply ok;
                               ok.body = "{}";
                               return ok;
                             });
  }
  done(json_error(404, "Not found: " + path));
}

std::string admin_http::topology_page() {
  // A self-contained page that draws /topology as a tree, refreshed every
  // two seconds.
  return R"(<!doctype html><html><head><meta charset="utf-8"><title>Starling topology</title>
<style>body{font:14px sans-serif;margin:2em}ul{list-style:none;padding-left:1.2em;border-left:1px solid #ccc}
.n{font-weight:bold}.f{color:#b00}.c{color:#555}</style></head><body><h1>Starling topology</h1><div id="t">loading...</div>
<form id="login" hidden>Admin token: <input id="tok" type="password" autocomplete="off"> <button>Show</button></form>
<script>
// The token stays in this tab's sessionStorage and goes in a header: never
// in a URL, where history and proxy logs would keep it.
document.getElementById('login').onsubmit = e => { e.preventDefault();
  sessionStorage.setItem('starlingToken', document.getElementById('tok').value); draw(); };
async function draw(){
  const headers = {}; const tok = sessionStorage.getItem('starlingToken');
  if (tok) headers.Authorization = 'Bearer ' + tok;
  let r;
  try { r = await fetch('/topology', {headers}); } catch (e) {
    document.getElementById('t').textContent = 'node unreachable: ' + e.message; return; }
  document.getElementById('login').hidden = r.status !== 401;
  if (!r.ok) { document.getElementById('t').textContent = r.status === 401
    ? 'admin token required' : 'error ' + r.status; return; }
  const t = await r.json();
  const esc = s => String(s).replace(/[&<>]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
  let h = '<ul><li><span class="n">node ' + esc(t.node) + '</span><ul>';
  for (const a of t.apps) {
    h += '<li><span class="n ' + (a.status === 'failed' ? 'f' : '') + '">app ' + esc(a.id) + ' (' + esc(a.status) + ')</span>';
    if (a.status !== 'failed') {
      h += ' <span class="c">' + a.connections + ' connections, ' + a.signed_in_users + ' signed-in users</span><ul>';
      for (const c of a.channels) h += '<li>channel ' + esc(c) + '</li>';
      for (const o of a.owners) h += '<li>owner ' + esc(o) + '</li>';
      if (a.webhooks) h += '<li>webhooks</li>';
      for (const l of (a.logic || [])) h += '<li><span class="' + (l.status === 'failed' ? 'f' : '') + '">logic ' + esc(l.actor)
        + (l.channels ? ' [' + esc(l.channels) + ']' : ' [app]') + ' (' + esc(l.status) + ')</span> <span class="c">'
        + l.instances + ' running, ' + l.restarts + ' restarts' + (l.failed ? ', failed on ' + esc(l.failed_on.join(' ') || 'app') : '') + '</span></li>';
      h += '</ul>';
    }
    h += '</li>';
  }
  document.getElementById('t').innerHTML = h + '</ul></li></ul>';
}
draw(); setInterval(draw, 2000);
</script></body></html>)";
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
  http_reply reply;
  reply.content_type = "text/plain; version=0.0.4";
  reply.body = out.str();
  return reply;
}

} // namespace starling::transport
