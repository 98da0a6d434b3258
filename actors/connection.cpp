// Connection actor: the client's side of the Pusher protocol.
#include "actors/connection.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "pusher/error_code.hpp"
#include "pusher/frame.hpp"
#include "pusher/signature.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = caf::stateful_actor<connection_state>*;
using pusher::pusher_error;

// A join waits for the channel and its owner; past this the client is told.
constexpr auto join_timeout = std::chrono::seconds(15);

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

void on_joined(self_ptr self, const std::string& name, caf::actor channel) {
  auto& subs = self->state.subscriptions;
  auto i = subs.find(name);
  if (i == subs.end() || i->second.cancelled) {
    self->send(channel, caf::leave_atom::value);
    if (i != subs.end())
      subs.erase(i);
    return;
  }
  // Watch the channel: if it crashes, re-join its replacement silently.
  self->monitor(channel);
  i->second.channel = std::move(channel);
  i->second.active = true;
  i->second.rejoin_attempts = 0;
}

// The channel of `name` crashed: join the app's replacement without telling
// the client (its subscription never ended). Retries while the app has not
// yet replaced the channel.
void rejoin(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.subscriptions.find(name);
  if (i == st.subscriptions.end() || i->second.active)
    return;
  channel_join join;
  join.channel = name;
  join.socket_id = st.socket_id;
  join.link = st.link;
  join.presence = i->second.traits.has_roster();
  join.user_id = i->second.user_id;
  join.user_info = i->second.user_info;
  join.rejoin = true;
  self->request(st.app, join_timeout, caf::subscribe_atom::value, std::move(join))
    .then(
      [self, name](caf::ok_atom, caf::actor channel) {
        on_joined(self, name, std::move(channel));
      },
      [self, name](caf::error&) {
        auto& subs = self->state.subscriptions;
        auto i = subs.find(name);
        if (i == subs.end())
          return;
        if (++i->second.rejoin_attempts > 20) {
          // The channel keeps failing: the client must resubscribe.
          subs.erase(i);
          subscription_error(self, name, "ServerError",
                             "channel unavailable; resubscribe", 503);
          return;
        }
        self->delayed_send(self, std::chrono::milliseconds(50),
                           rejoin_atom::value, name);
      });
}

void on_subscribe(self_ptr self, const pusher::client_frame& frame) {
  auto& st = self->state;
  auto& limits = st.ctx->app.limits;
  auto req = pusher::parse_subscribe(frame);
  if (!req) {
    send_error(self, req.error.code, req.error.message);
    return;
  }
  auto& name = req->channel;
  if (auto problem = pusher::validate_channel_name(
        name, limits.max_channel_name_length);
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
  auto traits = pusher::classify_channel(name);
  if (traits.kind == pusher::channel_kind::user_channel) {
    if (st.user_id.empty() || pusher::user_channel_id(name) != st.user_id) {
      subscription_error(self, name, "AuthError",
                         "#server-to-user channels need a sign-in as that user",
                         401);
      return;
    }
  }
  channel_join join;
  join.channel = name;
  join.socket_id = st.socket_id;
  join.link = st.link;
  if (traits.needs_auth()) {
    bool with_data = traits.has_roster() && req->channel_data.has_value();
    if (!pusher::verify_channel_auth(st.ctx->app.key, st.ctx->app.secret,
                                    st.socket_id, name,
                                    with_data ? *req->channel_data : "",
                                    with_data, req->auth)) {
      subscription_error(self, name, "AuthError",
                         "Invalid signature: expected HMAC SHA256 hex digest of "
                           + st.socket_id + ":" + name
                           + (with_data ? ":<channel_data>" : ""),
                         401);
      return;
    }
  }
  if (traits.has_roster()) {
    if (!req->channel_data) {
      subscription_error(self, name, "AuthError",
                         "presence channels need channel_data", 401);
      return;
    }
    auto member = pusher::parse_channel_data(*req->channel_data,
                                            limits.max_presence_user_id_length,
                                            limits.max_presence_member_bytes);
    if (!member) {
      subscription_error(self, name, "InvalidChannelData",
                         member.error.message, 4301);
      return;
    }
    join.presence = true;
    join.user_id = member->user_id;
    join.user_info = member->user_info;
  } else {
    // Off presence, a signed-in connection's user id rides along so app
    // logic can decide on it (owners use it only when `presence` is set).
    join.user_id = st.user_id;
  }
  auto& sub = st.subscriptions[name];
  sub.traits = traits;
  sub.user_id = join.user_id;
  sub.user_info = join.user_info;
  self->request(st.app, join_timeout, caf::subscribe_atom::value, std::move(join))
    .then(
      [self, name](caf::ok_atom, caf::actor channel) {
        on_joined(self, name, std::move(channel));
      },
      [self, name](caf::error& err) {
        // The channel already sent pusher:subscription_error when the owner
        // refused; other failures (timeouts) are reported here.
        if (err != errc::subscription_refused)
          subscription_error(self, name, "ServerError",
                             "subscription failed: " + to_string(err), 503);
        self->state.subscriptions.erase(name);
      });
}

void on_unsubscribe(self_ptr self, const pusher::client_frame& frame) {
  auto& subs = self->state.subscriptions;
  auto name = pusher::parse_unsubscribe(frame);
  if (!name) {
    send_error(self, name.error.code, name.error.message);
    return;
  }
  auto i = subs.find(*name);
  if (i == subs.end())
    return; // Pusher protocol §2.6: no reply.
  if (!i->second.active) {
    i->second.cancelled = true;
    return;
  }
  self->demonitor(i->second.channel);
  self->send(i->second.channel, caf::leave_atom::value);
  subs.erase(i);
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
  if (i == st.subscriptions.end() || !i->second.active)
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
                  st.socket_id, i->second.user_id};
  st.ctx->counters->client_events.fetch_add(1, std::memory_order_relaxed);
  self->send(i->second.channel, client_event_atom::value, std::move(ev));
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
                               st.socket_id, req->user_data, req->auth))
    return fail("Invalid signature for pusher:signin");
  auto data = pusher::parse_user_data(req->user_data);
  if (!data)
    return fail(data.error.message);
  if (!st.user_id.empty() && st.user_id != data->id)
    return fail("Connection is already signed in as another user");
  st.user_id = data->id;
  send_text(self, pusher::encode_signin_success(req->user_data));
  auto watchlist = data->watchlist;
  auto max = st.ctx->app.max_watchlist_size;
  if (watchlist.size() > max) {
    // Pusher protocol §4.4: keep the first ids, still sign in, then 4302.
    watchlist.resize(max);
    send_error(self, pusher::to_int(pusher_error::watchlist_over_limit),
               "Watchlist has more than " + std::to_string(max)
                 + " ids; only the first " + std::to_string(max) + " are kept");
  }
  self
    ->request(st.app, std::chrono::seconds(10), user_signed_in{st.user_id,
                                                               watchlist})
    .then([self, watchlist](std::vector<std::string>& online) {
      if (watchlist.empty())
        return;
      std::vector<std::string> offline;
      for (auto& id : watchlist)
        if (std::find(online.begin(), online.end(), id) == online.end())
          offline.push_back(id);
      send_text(self, pusher::encode_watchlist_events(online, offline));
    });
}

// Authorized connections (Pusher protocol §4.2): signed in, or holding a
// private or presence subscription.
bool is_authorized(self_ptr self) {
  auto& st = self->state;
  if (!st.user_id.empty())
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
      ->debug("ignored event socket_id={} event={}", st.socket_id, event);
  }
}

} // namespace

caf::behavior connection_behavior(caf::stateful_actor<connection_state>* self,
                                  app_context_ptr ctx, caf::actor app,
                                  session_link_ptr link, std::string socket_id) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.app = std::move(app);
  st.link = std::move(link);
  st.socket_id = std::move(socket_id);
  self->attach_functor([link = st.link](const caf::error& reason) {
    // However the actor ends: a crash or shutdown tells the client to come
    // back (Pusher: 4200 reconnect immediately); after a socket close this
    // is a no-op.
    if (reason && reason != caf::exit_reason::normal) {
      link->close_with_error(pusher::to_int(pusher_error::reconnect_now),
                             "Server is restarting this connection; reconnect");
    }
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    // Only channels are monitored; a channel never stops while we are
    // subscribed, so this is a crash.
    for (auto& [name, sub] : self->state.subscriptions) {
      if (sub.active && sub.channel.address() == dm.source) {
        sub.active = false;
        sub.channel = nullptr;
        rejoin(self, name);
        return;
      }
    }
  });
  st.link->bind(caf::actor_cast<caf::actor>(self));
  send_text(self, pusher::encode_connection_established(
                    st.socket_id, st.ctx->activity_timeout_s));
  if (auto t = st.ctx->app.user_authentication_timeout_s; t > 0)
    self->delayed_send(self, std::chrono::seconds(t), auth_check_atom::value);
  return {
    [self](ws_frame_atom, std::string& text, bool binary) {
      on_frame(self, text, binary);
    },
    [self](ws_closed_atom) { self->quit(); },
    [self](rejoin_atom, const std::string& name) { rejoin(self, name); },
    [self](watchlist_atom, const std::string& what, const std::string& user) {
      std::vector<std::string> ids{user};
      send_text(self, what == "online"
                        ? pusher::encode_watchlist_events(ids, {})
                        : pusher::encode_watchlist_events({}, ids));
    },
    [self](terminate_atom) {
      close_with(self, pusher_error::unauthorized,
                 "You got disconnected by the app.");
    },
    [self](auth_check_atom) {
      if (!is_authorized(self))
        close_with(self, pusher_error::unauthorized,
                   "Connection not authorized within the timeout");
    },
    [self](stats_atom) {
      return static_cast<uint64_t>(self->state.subscriptions.size());
    },
    [self](crash_atom) -> caf::result<void> {
      throw std::runtime_error("injected fault in connection "
                               + self->state.socket_id);
    },
  };
}

} // namespace starling
