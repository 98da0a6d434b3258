// Admin actions (see admin_actions.hpp).
#include "transport/admin_actions.hpp"

#include "actors/messages.hpp"
#include "pusher/channel_name.hpp"
#include "transport/ask.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

namespace {

std::string param(const pusher::query_params& q, const char* key) {
  auto v = pusher::find_param(q, key);
  return v ? *v : std::string{};
}

// The running app named by ?app=, or an error reply.
std::optional<app_entry> app_of(server_context& ctx,
                                const pusher::query_params& q,
                                const reply_fn& done) {
  auto id = param(q, "app");
  if (id.empty()) {
    done(json_error(400, "Missing app"));
    return std::nullopt;
  }
  auto entry = ctx.apps->by_id(id);
  if (!entry) {
    done(json_error(404, "No app " + id));
    return std::nullopt;
  }
  if (entry->status != app_status::running) {
    done(unavailable("App " + id + " is not running"));
    return std::nullopt;
  }
  return entry;
}

http_reply ok(std::string body = "{}") {
  http_reply r;
  r.body = std::move(body);
  return r;
}

} // namespace

void admin_disconnect(server_context& ctx, const pusher::query_params& q,
                      const reply_fn& done) {
  auto app = app_of(ctx, q, done);
  if (!app)
    return;
  auto sid = param(q, "socket_id");
  if (sid.empty())
    return done(json_error(400, "Missing socket_id"));
  ask<bool>(ctx, ctx.admin, disconnect_request{app->ctx->app.id, sid}, done,
            [sid](bool found) -> std::optional<http_reply> {
              if (!found)
                return json_error(404, "No connection " + sid);
              return ok("{\"disconnected\":true}");
            });
}

void admin_terminate(server_context& ctx, const pusher::query_params& q,
                     const reply_fn& done) {
  auto app = app_of(ctx, q, done);
  if (!app)
    return;
  auto user = param(q, "user_id");
  if (user.empty())
    return done(json_error(400, "Missing user_id"));
  ask<caf::ok_atom>(ctx, app->actor,
                    terminate_request{app->ctx->app.id, user, false}, done,
                    [](caf::ok_atom) -> std::optional<http_reply> {
                      return ok();
                    });
}

void admin_publish(server_context& ctx, const pusher::query_params& q,
                   const std::string& body, const reply_fn& done) {
  auto app = app_of(ctx, q, done);
  if (!app)
    return;
  auto& limits = app->ctx->app.limits;
  auto channel = param(q, "channel");
  if (auto bad = pusher::validate_channel_name(
        channel, limits.max_channel_name_length, false);
      !bad.empty())
    return done(json_error(400, bad));
  auto event = param(q, "event");
  if (event.empty())
    event = "starling:test";
  if (auto bad = pusher::validate_event_name(event, limits.max_event_name_length);
      !bad.empty())
    return done(json_error(400, bad));
  if (body.size() > limits.max_event_payload_bytes)
    return done(json_error(413, "Event data too large"));
  publish_request req{app->ctx->app.id, {channel}, event, body, {}};
  ask<caf::ok_atom>(ctx, app->actor, std::move(req), done,
                    [](caf::ok_atom) -> std::optional<http_reply> {
                      return ok();
                    });
}

} // namespace starling::transport
