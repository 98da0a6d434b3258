// Admin endpoint routes.
#include "transport/admin_http.hpp"

#include <sstream>

#include "transport/codec/signature.hpp"
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
  auto& token = ctx_.settings.admin.token;
  if (!token.empty()
      && !codec::constant_time_equal(req.authorization, "Bearer " + token))
    return done(json_error(401, "Admin token required: Authorization: Bearer <token>"));
  if (path == "/metrics")
    return done(metrics());
  done(json_error(404, "Not found: " + path));
}

http_reply admin_http::metrics() const {
  auto& m = ctx_.metrics;
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, uint64_t value,
                     const char* type = "counter") {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' '
        << type << '\n'
        << name << ' ' << value << '\n';
  };
  counter("starling_connections_open", "WebSocket connections open now.",
          m.connections_open, "gauge");
  counter("starling_connections_total", "WebSocket connections accepted.",
          m.connections_total);
  counter("starling_frames_in_total", "Inbound WebSocket messages.", m.frames_in);
  counter("starling_frames_out_total", "Outbound frames written.", m.frames_out);
  counter("starling_bytes_out_total", "Outbound bytes written.", m.bytes_out);
  counter("starling_slow_consumer_drops_total",
          "Connections closed because their outbound queue was full.",
          m.slow_consumer_drops);
  counter("starling_pong_timeouts_total", "Connections closed with 4201.",
          m.pong_timeouts);
  counter("starling_http_requests_total", "HTTP API requests.", m.http_requests);
  counter("starling_http_errors_total", "HTTP responses with status >= 400.",
          m.http_errors);
  counter("starling_publishes_total", "Accepted HTTP API triggers.", m.publishes);
  http_reply reply;
  reply.content_type = "text/plain; version=0.0.4";
  reply.body = out.str();
  return reply;
}

} // namespace starling::transport
