// Pusher HTTP API: authentication and the hand-off of each endpoint.
#include "transport/rest_api.hpp"

#include <algorithm>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "pusher/http_api.hpp"
#include "transport/ask.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

namespace {

http_reply ok_json(std::string body) {
  http_reply reply;
  reply.body = std::move(body);
  return reply;
}

http_reply api_error_reply(const pusher::api_error& e) {
  http_reply reply;
  reply.status = e.status;
  reply.body = pusher::encode_api_error(e);
  return reply;
}

pusher::api_limits limits_of(const config::app_settings& app) {
  pusher::api_limits l;
  l.max_event_name_length = app.limits.max_event_name_length;
  l.max_event_payload_bytes = app.limits.max_event_payload_bytes;
  l.max_channels_per_trigger = app.limits.max_channels_per_trigger;
  l.max_batch_size = app.limits.max_batch_size;
  l.max_channel_name_length = app.limits.max_channel_name_length;
  return l;
}

publish_request to_publish(const std::string& app_id,
                           const pusher::event_request& ev) {
  // Stamped here, at the accept, for the publish-to-flush histogram.
  return publish_request{app_id,  ev.channels, ev.name,
                         ev.data, ev.socket_id, system_now_ns()};
}

// Answers of several one-shot actors, which may run on different threads.
template <class Slot>
struct gather {
  std::mutex mtx;
  std::vector<Slot> slots;
  std::size_t pending = 0;

  // Stores one answer; returns true for the last one.
  bool add(std::size_t index, Slot value) {
    std::lock_guard<std::mutex> guard{mtx};
    slots[index] = std::move(value);
    return --pending == 0;
  }
};

// The app's current actor, or nothing while it restarts or after it failed.
std::optional<app_actor> running_app(server_context& ctx,
                                     const config::app_settings& app) {
  auto entry = ctx.apps->by_id(app.id);
  if (!entry || entry->status != app_status::running)
    return std::nullopt;
  return entry->actor;
}

// The app's counters (configured apps only: the caller found it running).
std::shared_ptr<app_counters> counters_of(server_context& ctx,
                                          const std::string& app_id) {
  auto entry = ctx.apps->by_id(app_id);
  return entry ? entry->ctx->counters : nullptr;
}

const char* unavailable_text = "Application is unavailable; retry later";

bool is(const caf::error& err, errc code) {
  return err.category() == caf::atom("starling")
         && err.code() == static_cast<uint8_t>(code);
}

// The error's first context string (app logic's reason), or empty.
std::string reason_of(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.size() > 0 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

// A publish not delivered on some channel is never a plain success (a 2xx
// means the event will be delivered): app logic dropping it is 403, app
// logic unable to decide (it fails closed) is 503. Other channels of the
// request may have got it.
http_reply publish_error(const caf::error& err) {
  if (is(err, errc::publish_refused))
    return json_error(403, "Event refused by app logic: " + reason_of(err));
  if (is(err, errc::logic_unavailable))
    return unavailable("Event not published: " + reason_of(err));
  return unavailable("Not taken: " + caf::to_string(err));
}

} // namespace

http_reply json_error(unsigned status, const std::string& message) {
  return api_error_reply(pusher::api_error{status, message});
}

rest_api::rest_api(server_context& ctx) : ctx_(ctx) {
  for (auto& app : ctx_.settings.apps)
    apps_by_id_.emplace(app.id, &app);
}

bool rest_api::within_rate(const config::app_settings& app, reply_fn& done) {
  auto rate = app.limits.http_requests_per_second;
  if (rate == 0)
    return true;
  auto d = limiter_.take(app.id, rate);
  std::vector<std::pair<std::string, std::string>> headers{
    {"X-RateLimit-Limit", std::to_string(d.limit)},
    {"X-RateLimit-Remaining", std::to_string(d.remaining)}};
  if (!d.allowed) {
    if (auto entry = ctx_.apps->by_id(app.id))
      entry->ctx->counters->rate_limited_requests.fetch_add(
        1, std::memory_order_relaxed);
    auto reply = json_error(429, "Too many requests: at most "
                                   + std::to_string(rate) + " per second");
    reply.headers = std::move(headers);
    reply.headers.emplace_back("Retry-After", std::to_string(d.retry_after_s));
    done(std::move(reply));
    return false;
  }
  done = [inner = std::move(done), headers = std::move(headers)](http_reply r) {
    r.headers.insert(r.headers.end(), headers.begin(), headers.end());
    inner(std::move(r));
  };
  return true;
}

void rest_api::handle(const http_request_view& req, const reply_fn& done) {
  auto target = pusher::decode_target(req.target,
                                      ctx_.settings.server.path_prefix);
  if (!target)
    return done(api_error_reply(target.error));
  if (target->route == pusher::api_route::root)
    return done(ok_json("{\"ok\":true}"));
  auto i = apps_by_id_.find(target->app_id);
  if (i == apps_by_id_.end())
    return done(json_error(404, "Unknown app id " + target->app_id));
  auto& app = *i->second;
  auto auth = pusher::verify_rest_request(
    req.method, target->path, target->params, req.body, app.key, app.secret,
    static_cast<int64_t>(std::time(nullptr)));
  if (auth != pusher::rest_auth_error::none)
    return done(json_error(401, pusher::describe(auth)));
  if (!app.enabled)
    return done(json_error(403, "Application is disabled"));
  reply_fn answer = done;
  if (!within_rate(app, answer))
    return;
  if (auto wrong = pusher::check_method(target->route, req.method))
    return answer(api_error_reply(*wrong));
  switch (target->route) {
    case pusher::api_route::root:
      break;
    case pusher::api_route::events:
      return trigger(app, req.body, answer);
    case pusher::api_route::batch_events:
      return batch(app, req.body, answer);
    case pusher::api_route::channels:
      return channels(app, *target, answer);
    case pusher::api_route::channel:
      return channel(app, *target, answer);
    case pusher::api_route::channel_users:
      return users(app, *target, answer);
    case pusher::api_route::terminate_user:
      return terminate(app, *target, answer);
  }
}

void rest_api::trigger(const config::app_settings& app, const std::string& body,
                       const reply_fn& done) {
  auto ev = pusher::decode_trigger(body, limits_of(app));
  if (!ev)
    return done(api_error_reply(ev.error));
  auto target = running_app(ctx_, app);
  if (!target)
    return done(unavailable(unavailable_text));
  ++ctx_.metrics.publishes;
  auto counters = counters_of(ctx_, app.id);
  if (counters)
    counters->publishes.fetch_add(1, std::memory_order_relaxed);
  auto started = std::chrono::steady_clock::now();
  auto channels = ev->channels;
  auto info = ev->info;
  auto sdk_target = *target;
  auto& ctx = ctx_;
  auto app_id = app.id;
  // 200 only once every channel's owner took (numbered) the event; then,
  // with `info`, the counts (Pusher protocol §6.3: apart from the
  // broadcast).
  ask<caf::ok_atom>(
    ctx_, *target, to_publish(app.id, *ev), done,
    [&ctx, done, channels, info, sdk_target, app_id, counters,
     started](caf::ok_atom) -> std::optional<http_reply> {
      if (counters)
        counters->publish_latency.record_since(started);
      if (!info.any())
        return ok_json("{}");
      auto g = std::make_shared<gather<pusher::channel_report>>();
      g->slots.resize(channels.size());
      g->pending = channels.size();
      auto reply = once(done);
      for (std::size_t k = 0; k < channels.size(); ++k)
        ask<channel_report>(
          ctx, sdk_target, channel_request{app_id, channels[k]}, reply,
          [g, info, k](channel_report& r) -> std::optional<http_reply> {
            if (!g->add(k, r))
              return std::nullopt;
            return ok_json(pusher::encode_trigger_info(g->slots, info));
          });
      return std::nullopt;
    },
    publish_error);
}

void rest_api::batch(const config::app_settings& app, const std::string& body,
                     const reply_fn& done) {
  auto events = pusher::decode_batch(body, limits_of(app));
  if (!events)
    return done(api_error_reply(events.error));
  auto target = running_app(ctx_, app);
  if (!target)
    return done(unavailable(unavailable_text));
  // Every event taken by its owners, then the counts asked for.
  auto g = std::make_shared<gather<std::optional<pusher::channel_report>>>();
  g->slots.resize(events->size());
  std::vector<pusher::info_request> infos;
  for (auto& ev : *events) {
    infos.push_back(ev.info);
    ++g->pending;
  }
  if (events->empty())
    return done(ok_json("{}"));
  auto reply = once(done);
  auto any_info = std::any_of(infos.begin(), infos.end(),
                              [](auto& i) { return i.any(); });
  auto finish = [g, infos, any_info](std::size_t k,
                                     std::optional<pusher::channel_report> r)
    -> std::optional<http_reply> {
    if (!g->add(k, std::move(r)))
      return std::nullopt;
    return ok_json(any_info ? pusher::encode_batch_info(g->slots, infos)
                            : std::string{"{}"});
  };
  auto& ctx = ctx_;
  auto app_id = app.id;
  auto app_actor_hdl = *target;
  auto counters = counters_of(ctx_, app.id);
  for (std::size_t k = 0; k < events->size(); ++k) {
    ++ctx_.metrics.publishes;
    if (counters)
      counters->publishes.fetch_add(1, std::memory_order_relaxed);
    auto& ev = (*events)[k];
    auto channel = ev.channels[0];
    auto wants = ev.info.any();
    ask<caf::ok_atom>(
      ctx_, *target, to_publish(app.id, ev), reply,
      [&ctx, reply, finish, k, wants, channel, app_id,
       app_actor_hdl](caf::ok_atom) -> std::optional<http_reply> {
        if (!wants)
          return finish(k, std::nullopt);
        ask<channel_report>(ctx, app_actor_hdl, channel_request{app_id, channel},
                            reply,
                            [finish, k](channel_report& r) {
                              return finish(k, pusher::channel_report{r});
                            });
        return std::nullopt;
      },
      publish_error);
  }
}

void rest_api::channels(const config::app_settings& app,
                        const pusher::api_target& t, const reply_fn& done) {
  auto query = pusher::decode_channels_query(t.params);
  if (!query)
    return done(api_error_reply(query.error));
  auto target = running_app(ctx_, app);
  if (!target)
    return done(unavailable(unavailable_text));
  auto info = query->info;
  ask<std::vector<channel_report>>(
    ctx_, *target, channels_request{app.id, query->prefix, false}, done,
    [info](std::vector<channel_report>& reports) -> std::optional<http_reply> {
      std::vector<pusher::channel_report> plain(reports.begin(), reports.end());
      return ok_json(pusher::encode_channels(plain, info));
    });
}

void rest_api::channel(const config::app_settings& app,
                       const pusher::api_target& t, const reply_fn& done) {
  auto info = pusher::decode_channel_query(t.channel, t.params,
                                           limits_of(app));
  if (!info)
    return done(api_error_reply(info.error));
  auto target = running_app(ctx_, app);
  if (!target)
    return done(unavailable(unavailable_text));
  auto wanted = *info;
  ask<channel_report>(ctx_, *target, channel_request{app.id, t.channel}, done,
                      [wanted](channel_report& r) -> std::optional<http_reply> {
                        return ok_json(pusher::encode_channel(r, wanted));
                      });
}

void rest_api::users(const config::app_settings& app,
                     const pusher::api_target& t, const reply_fn& done) {
  if (auto problem = pusher::check_users_channel(t.channel, limits_of(app)))
    return done(api_error_reply(*problem));
  auto target = running_app(ctx_, app);
  if (!target)
    return done(unavailable(unavailable_text));
  ask<std::vector<std::string>>(
    ctx_, *target, users_request{app.id, t.channel}, done,
    [](std::vector<std::string>& ids) -> std::optional<http_reply> {
      return ok_json(pusher::encode_users(ids));
    });
}

void rest_api::terminate(const config::app_settings& app,
                         const pusher::api_target& t, const reply_fn& done) {
  if (t.user_id.empty())
    return done(json_error(400, "Missing user id"));
  auto target = running_app(ctx_, app);
  if (!target)
    return done(unavailable(unavailable_text));
  ask<caf::ok_atom>(ctx_, *target, terminate_request{app.id, t.user_id, false},
                    done,
                    [](caf::ok_atom) -> std::optional<http_reply> {
                      return ok_json("{}");
                    });
}

} // namespace starling::transport
