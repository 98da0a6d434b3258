// Connection actor: the client's side of the Pusher protocol.
#include "actors/connection.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/app_signin.hpp"
#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "pusher/channel_name.hpp"
#include "pusher/error_code.hpp"
#include "pusher/frame.hpp"
#include "pusher/signature.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = connection_actor::stateful_pointer<connection_state>;

// The connection whose handler runs (flyweight_actor.hpp).
self_ptr me() {
  return running<connection_state, connection_actor>();
}
using pusher::pusher_error;

// A join waits for the channel and its owner; past this the client is told.
constexpr auto join_timeout = std::chrono::seconds(15);

// A signin that app logic decides gives up after this (the hook's own
// timeouts are shorter).
constexpr auto signin_timeout = std::chrono::seconds(10);

// Re-joins of a crashed channel before the client is told to resubscribe.
constexpr uint8_t max_rejoin_attempts = 20;

void send_text(self_ptr self, std::string text) {
  self->state.link->send(make_frame(std::move(text)));
}

void send_error(self_ptr self, int code, const std::string& message,
                const std::string& channel = {}) {
  self->state.ctx->counters->protocol_errors.fetch_add(1, std::memory_order_relaxed);
  send_text(self, pusher::encode_error(code, message, channel));
}

void subscription_error(self_ptr self, const std::string& channel,
                        const char* type, const std::string& message,
                        int status) {
  self->state.ctx->counters->subscription_errors.fetch_add(
    1, std::memory_order_relaxed);
  send_text(self,
            pusher::encode_subscription_error(channel, type, message, status));
}

void close_with(self_ptr self, pusher_error code, const std::string& message) {
  self->state.link->close_with_error(pusher::to_int(code), message);
}

void tell_watchlist(self_ptr self, const std::optional<watchlist_update>& u) {
  if (u)
    send_text(self, pusher::encode_watchlist_events(u->online, u->offline));
}

void on_joined(self_ptr self, const std::string& name, channel_joined& joined) {
  auto& subs = self->state.subscriptions;
  auto i = subs.find(name);
  if (i == subs.end() || i->second.cancelled) {
    self->send(joined.channel, caf::unsubscribe_atom::value);
    if (i != subs.end())
      subs.erase(i);
    return;
  }
  // If the channel crashes, it says so (channel_crashed) and we re-join its
  // replacement silently.
  i->second.channel = std::move(joined.channel);
  i->second.active = true;
  i->second.rejoin_attempts = 0;
  if (i->second.traits.is_internal() && !i->second.silent
      && self->state.user)
    tell_watchlist(self, self->state.user->watched.joined(
                           std::string{pusher::watchlist_user_id(name)},
                           joined.members > 0));
}

channel_join make_join(self_ptr self, const std::string& name,
                       const connection_subscription& sub) {
  auto& st = self->state;
  channel_join join;
  join.channel = name;
  join.socket_id = st.link->socket_id();
  join.link = st.link;
  join.member = sub.identity != nullptr;
  join.silent = sub.silent;
  if (sub.identity) {
    join.user_id = sub.identity->user_id;
    join.user_info = sub.identity->user_info;
  } else if (!sub.traits.is_internal()) {
    join.user_id = st.user_id(); // As authorize() does off presence.
  }
  return join;
}

// Asks the app to join `name` as `sub` says; on failure `failed` runs.
template <class F>
void join(self_ptr self, const std::string& name, channel_join request,
          F failed) {
  self->request(self->state.app, join_timeout, std::move(request))
    .then(
      [self, name](channel_joined& joined) { on_joined(self, name, joined); },
      [self, name, failed](caf::error& err) mutable { failed(err); });
}

// The channel of `name` crashed: join the app's replacement without telling
// the client (its subscription never ended). Retries while the app has not
// yet replaced the channel.
void rejoin(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.subscriptions.find(name);
  if (i == st.subscriptions.end() || i->second.active)
    return;
  auto request = make_join(self, name, i->second);
  request.rejoin = true;
  join(self, name, std::move(request), [self, name](caf::error&) {
    auto& subs = self->state.subscriptions;
    auto i = subs.find(name);
    if (i == subs.end())
      return;
    if (++i->second.rejoin_attempts > max_rejoin_attempts) {
      // The channel keeps failing: the client must resubscribe.
      bool internal = i->second.traits.is_internal();
      subs.erase(i);
      if (!internal)
        subscription_error(self, name, "ServerError",
                           "channel unavailable; resubscribe", 503);
      return;
    }
    self->delayed_send(self, std::chrono::milliseconds(50),
                       rejoin_atom::value, name);
  });
}

// A subscribed channel crashed: re-join its replacement. Only the channel
// we joined counts (not an older one's late word).
void on_channel_crashed(self_ptr self, const channel_crashed& crashed) {
  auto& subs = self->state.subscriptions;
  auto i = subs.find(crashed.channel);
  if (i == subs.end() || !i->second.active
      || i->second.channel.address() != self->current_sender())
    return;
  i->second.active = false;
  i->second.channel = nullptr;
  rejoin(self, crashed.channel);
}

// Joins an internal watchlist channel (never visible to the client).
void join_internal(self_ptr self, const std::string& user, bool member,
                   bool silent) {
  auto& st = self->state;
  auto name = pusher::watchlist_channel(user);
  auto& sub = st.subscriptions[name];
  sub.traits = pusher::classify_channel(name);
  sub.silent = silent;
  if (member)
    sub.identity = make_member_identity(user, {});
  join(self, name, make_join(self, name, sub), [self, name, user](caf::error&) {
    auto& st = self->state;
    if (auto i = st.subscriptions.find(name);
        i != st.subscriptions.end() && !i->second.silent)
      if (st.user)
        tell_watchlist(self, st.user->watched.failed(user));
    st.subscriptions.erase(name);
  });
}

void leave(self_ptr self, const std::string& name) {
  auto& subs = self->state.subscriptions;
  auto i = subs.find(name);
  if (i == subs.end())
    return;
  if (!i->second.active) {
    i->second.cancelled = true;
    return;
  }
  self->send(i->second.channel, caf::unsubscribe_atom::value);
  subs.erase(i);
}

// Checks a subscribe's auth and roster data; fills `join` or tells the
// client what is wrong and returns false.
bool authorize(self_ptr self, const pusher::subscribe_request& req,
               const pusher::channel_traits& traits, channel_join& join) {
  auto& st = self->state;
  auto& limits = st.ctx->app.limits;
  auto& name = req.channel;
  if (traits.needs_user()) {
    if (st.user_id().empty() || pusher::user_channel_id(name) != st.user_id()) {
      subscription_error(self, name, "AuthError",
                         "#server-to-user channels need a sign-in as that user",
                         401);
      return false;
    }
  }
  if (traits.needs_auth()) {
    bool with_data = traits.has_roster() && req.channel_data.has_value();
    if (!pusher::verify_channel_auth(st.ctx->app.key, st.ctx->app.secret,
                                     st.link->socket_id(), name,
                                     with_data ? *req.channel_data : "",
                                     with_data, req.auth)) {
      subscription_error(self, name, "AuthError",
                         "Invalid signature: expected HMAC SHA256 hex digest of "
                           + st.link->socket_id() + ":" + name
                           + (with_data ? ":<channel_data>" : ""),
                         401);
      return false;
    }
  }
  if (traits.has_roster()) {
    if (!req.channel_data) {
      subscription_error(self, name, "AuthError",
                         "presence channels need channel_data", 401);
      return false;
    }
    auto member = pusher::parse_channel_data(*req.channel_data,
                                             limits.max_presence_user_id_length,
                                             limits.max_presence_member_bytes);
    if (!member) {
      subscription_error(self, name, "InvalidChannelData",
                         member.error.message, 4301);
      return false;
    }
    join.member = true;
    join.user_id = member->user_id;
    join.user_info = member->user_info;
  } else {
    // Off presence, a signed-in connection's user id rides along so app
    // logic can decide on it (owners use it only for members).
    join.user_id = st.user_id();
  }
  return true;
}

void on_subscribe(self_ptr self, const pusher::client_frame& frame) {
  auto& st = self->state;
  auto req = pusher::parse_subscribe(frame);
  if (!req) {
    send_error(self, req.error.code, req.error.message);
    return;
  }
  auto& name = req->channel;
  if (auto problem = pusher::validate_channel_name(
        name, st.ctx->app.limits.max_channel_name_length);
      !problem.empty()) {
    subscription_error(self, name, "InvalidChannel", problem, 4009);
    return;
  }
  if (auto i = st.subscriptions.find(name); i != st.subscriptions.end()) {
    if (i->second.cancelled) {
      // Unsubscribed and subscribed again while the join was pending: the
      // pending join stands.
      i->second.cancelled = false;
      return;
    }
    // Count it once; tell the client as Pusher does (code null).
    send_error(self, 0, "Existing subscription to channel " + name, name);
    return;
  }
  // Each subscription holds memory here, in a channel and maybe an owner:
  // one client must not be able to hold an unbounded amount.
  if (auto cap = st.ctx->app.limits.max_subscriptions_per_connection;
      cap > 0 && st.subscriptions.size() >= cap) {
    st.ctx->counters->subscription_limit_hits.fetch_add(
      1, std::memory_order_relaxed);
    subscription_error(self, name, "LimitReached",
                       "Too many subscriptions on this connection (at most "
                         + std::to_string(cap) + ")",
                       4100);
    return;
  }
  auto traits = pusher::classify_channel(name);
  channel_join request;
  request.channel = name;
  request.socket_id = st.link->socket_id();
  request.link = st.link;
  if (!authorize(self, *req, traits, request))
    return;
  auto& sub = st.subscriptions[name];
  sub.traits = traits;
  if (request.member)
    sub.identity = make_member_identity(request.user_id, request.user_info);
  join(self, name, std::move(request), [self, name](caf::error& err) {
    // The channel already sent pusher:subscription_error when the owner
    // refused; other failures (timeouts) are reported here.
    if (err != errc::subscription_refused)
      subscription_error(self, name, "ServerError",
                         "subscription failed: " + to_string(err), 503);
    self->state.subscriptions.erase(name);
  });
}

void on_unsubscribe(self_ptr self, const pusher::client_frame& frame) {
  auto name = pusher::parse_unsubscribe(frame);
  if (!name) {
    send_error(self, name.error.code, name.error.message);
    return;
  }
  // Pusher protocol §2.6: no reply. Internal channels are not the client's.
  if (pusher::classify_channel(*name).is_internal())
    return;
  leave(self, *name);
}

void on_client_event(self_ptr self, pusher::client_frame& frame) {
  auto& st = self->state;
  auto& limits = st.ctx->app.limits;
  auto& channel = frame.channel;
  auto reject = [&](const std::string& why) {
    send_error(self, pusher::to_int(pusher_error::client_event_rejected), why,
               channel);
  };
  if (!st.ctx->app.enable_client_messages)
    return reject("Client events are disabled for this app");
  auto i = st.subscriptions.find(channel);
  if (i == st.subscriptions.end() || !i->second.active
      || i->second.traits.is_internal())
    return reject("Client event on a channel you are not subscribed to: "
                  + channel);
  if (!i->second.traits.allows_client_events())
    return reject("Client events are only allowed on private and presence "
                  "channels");
  if (frame.event.size() > limits.max_event_name_length)
    return reject("Event name is longer than "
                  + std::to_string(limits.max_event_name_length) + " bytes");
  if (frame.data.size() > limits.max_event_payload_bytes)
    return reject("Client event data is larger than "
                  + std::to_string(limits.max_event_payload_bytes) + " bytes");
  // Pusher: at most N client events per second per connection.
  auto now = self->clock().now();
  if (now - st.rate_window >= std::chrono::seconds(1)) {
    st.rate_window = now;
    st.rate_count = 0;
  }
  if (++st.rate_count > limits.client_events_per_second)
    return reject("Client event rate limit exceeded ("
                  + std::to_string(limits.client_events_per_second)
                  + " per second)");
  client_event ev{std::move(frame.event),
                  frame.data.empty() ? std::string{"null"}
                                     : std::move(frame.data),
                  st.link->socket_id(),
                  i->second.identity ? i->second.identity->user_id
                                     : st.user_id(),
                  system_now_ns()};
  st.ctx->counters->client_events.fetch_add(1, std::memory_order_relaxed);
  self->send(i->second.channel, std::move(ev));
}

// Signs the user in on its own watchlist channel (cluster-wide online
// state) and watches the ids of its watchlist through theirs.
void watch(self_ptr self, const std::vector<std::string>& ids) {
  auto& st = self->state;
  auto own = pusher::watchlist_channel(st.user_id());
  if (st.subscriptions.count(own) == 0)
    join_internal(self, st.user_id(), true, true);
  auto change = st.user->watched.replace(ids, st.user->id);
  for (auto& id : change.unwatch)
    leave(self, pusher::watchlist_channel(id));
  for (auto& id : change.watch)
    join_internal(self, id, false, false);
  // Every id already known (none new): the whole list goes out now.
  tell_watchlist(self, st.user->watched.first_frame());
}

// The signin is allowed (by the app's logic, if it asks): the client hears
// signin_success, then its watchlist.
void signed_in(self_ptr self, const std::string& user_id,
               const std::string& user_data, std::vector<std::string> ids) {
  auto& st = self->state;
  bool first = !st.user;
  if (first)
    st.user = std::make_unique<signed_in_user>();
  st.user->id = user_id;
  send_text(self, pusher::encode_signin_success(user_data));
  auto max = st.ctx->app.max_watchlist_size;
  if (ids.size() > max) {
    // Pusher protocol §4.4: keep the first ids, still sign in, then 4302.
    ids.resize(max);
    send_error(self, pusher::to_int(pusher_error::watchlist_over_limit),
               "Watchlist has more than " + std::to_string(max)
                 + " ids; only the first " + std::to_string(max) + " are kept");
  }
  if (first)
    self
      ->request(st.app, std::chrono::seconds(10),
                user_signed_in{st.user_id(), st.link->id()})
      .then([](caf::ok_atom) {}, [](caf::error&) {});
  watch(self, ids);
}

void on_signin(self_ptr self, const pusher::client_frame& frame) {
  auto& st = self->state;
  auto req = pusher::parse_signin(frame);
  auto fail = [&](const std::string& why) {
    close_with(self, pusher_error::unauthorized, why);
  };
  if (!req)
    return fail(req.error.message);
  if (!pusher::verify_user_auth(st.ctx->app.key, st.ctx->app.secret,
                                st.link->socket_id(), req->user_data,
                                req->auth))
    return fail("Invalid signature for pusher:signin");
  auto data = pusher::parse_user_data(req->user_data);
  if (!data)
    return fail(data.error.message);
  if (!st.user_id().empty() && st.user_id() != data->id)
    return fail("Connection is already signed in as another user");
  if (!asks_signin(*st.ctx)) {
    signed_in(self, data->id, req->user_data, std::move(data->watchlist));
    return;
  }
  // App logic decides first (Pusher protocol §4: a refused signin is 4009).
  if (st.signing_in)
    return fail("A pusher:signin is already being decided");
  st.signing_in = true;
  auto user_id = data->id;
  auto user_data = req->user_data;
  auto ids = std::move(data->watchlist);
  self
    ->request(st.app, signin_timeout,
              signin_request{st.link->socket_id(), user_id, user_data})
    .then(
      [self, user_id, user_data, ids](signin_verdict& v) mutable {
        self->state.signing_in = false;
        if (!v.allow)
          return close_with(self, pusher_error::unauthorized,
                            v.reason.empty() ? "Signin refused by the app"
                                             : v.reason);
        if (!self->state.user_id().empty() && self->state.user_id() != user_id)
          return close_with(self, pusher_error::unauthorized,
                            "Connection is already signed in as another "
                            "user");
        signed_in(self, user_id, user_data, std::move(ids));
      },
      [self](caf::error& err) {
        // Nobody could decide (fail closed): back off and come again.
        self->state.signing_in = false;
        close_with(self, pusher_error::over_capacity,
                   "Signin could not be decided; reconnect later ("
                     + to_string(err) + ")");
      });
}

// Authorized connections (Pusher protocol §4.2): signed in, or holding a
// private or presence subscription.
bool is_authorized(self_ptr self) {
  auto& st = self->state;
  if (!st.user_id().empty())
    return true;
  for (auto& [name, sub] : st.subscriptions)
    if (sub.traits.needs_auth())
      return true;
  return false;
}

void on_frame(self_ptr self, std::string& text, bool binary) {
  auto& st = self->state;
  st.link->consumed();
  if (binary) {
    send_error(self, 0, "Binary frames are not supported; send JSON text");
    return;
  }
  auto parsed = pusher::parse_client_frame(text);
  if (!parsed) {
    send_error(self, parsed.error.code, parsed.error.message);
    return;
  }
  auto& frame = *parsed.value;
  auto& event = frame.event;
  if (event == "pusher:ping") {
    send_text(self, pusher::encode_pong());
  } else if (event == "pusher:pong") {
    // nop: any inbound frame counts as activity (the session tracks it).
  } else if (event == "pusher:subscribe") {
    on_subscribe(self, frame);
  } else if (event == "pusher:unsubscribe") {
    on_unsubscribe(self, frame);
  } else if (event == "pusher:signin") {
    on_signin(self, frame);
  } else if (event.rfind("client-", 0) == 0) {
    on_client_event(self, frame);
  } else {
    // Pusher protocol §1.2: unknown events are logged and ignored.
    component_logger("connection")
      ->debug("ignored event socket_id={} event={}", st.link->socket_id(),
              event);
  }
}

} // namespace

namespace {

connection_stats stats_of(const connection_state& st) {
  connection_stats out;
  out.subscriptions = st.subscriptions.size();
  for (auto& [name, sub] : st.subscriptions)
    out.channels.push_back(name);
  auto n = std::min(out.channels.size(), connection_stats::max_listed);
  std::partial_sort(out.channels.begin(), out.channels.begin() + n,
                    out.channels.end());
  out.channels.resize(n);
  out.queued_bytes = st.link->queued_bytes();
  out.age_s = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now() - st.opened)
      .count());
  return out;
}

// The handlers of every connection (flyweight_actor.hpp): built once.
connection_actor::behavior_type shared_behavior() {
  static const connection_actor::behavior_type handlers{
    [](ws_frame_atom, std::string& text, bool binary) {
      on_frame(me(), text, binary);
    },
    [](ws_closed_atom) { me()->quit(); },
    [](rejoin_atom, const std::string& name) { rejoin(me(), name); },
    [](channel_crashed& crashed) { on_channel_crashed(me(), crashed); },
    [](watch_event& ev) {
      auto self = me();
      if (auto& user = self->state.user)
        tell_watchlist(self, user->watched.changed(ev.user_id, ev.online));
    },
    [](terminate_atom) {
      close_with(me(), pusher_error::unauthorized,
                 "You got disconnected by the app.");
    },
    [](auth_check_atom) {
      auto self = me();
      if (!is_authorized(self))
        close_with(self, pusher_error::unauthorized,
                   "Connection not authorized within the timeout");
    },
    [](stats_atom) { return stats_of(me()->state); },
    [](crash_atom) {
      throw std::runtime_error("injected fault in connection "
                               + me()->state.link->socket_id());
    },
  };
  return handlers;
}

} // namespace

connection_actor::behavior_type
connection_behavior(connection_flyweight self,
                    app_context_ptr ctx, app_actor app, session_link_ptr link,
                    pusher::compact_socket_id socket_id) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.app = std::move(app);
  st.link = std::move(link);
  st.link->set_socket_id(socket_id);
  st.opened = std::chrono::steady_clock::now();
  self->attach_functor([link = st.link, app = st.app](const caf::error& reason) {
    // However the actor ends: a crash or shutdown tells the client to come
    // back (Pusher: 4200 reconnect immediately); after a socket close this
    // is a no-op. The app forgets the socket id.
    if (reason && reason != caf::exit_reason::normal)
      link->close_with_error(pusher::to_int(pusher_error::reconnect_now),
                             "Server is restarting this connection; reconnect");
    caf::anon_send(app, connection_ended{link->id()});
  });
  st.link->bind(caf::actor_cast<caf::actor>(self));
  send_text(self, pusher::encode_connection_established(
                    st.link->socket_id(), st.ctx->activity_timeout_s));
  if (auto t = st.ctx->app.user_authentication_timeout_s; t > 0)
    self->delayed_send(self, std::chrono::seconds(t), auth_check_atom::value);
  return shared_behavior();
}

} // namespace starling
