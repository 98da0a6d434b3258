// Unit tests for actors/connection: the client's side of the Pusher protocol
// against a fake app (answers subscribe requests), a fake channel and a fake
// session link.
#define CAF_SUITE actors_connection
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "actors/connection.hpp"

#include <deque>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_session_link.hpp"
#include "pusher/frame.hpp"
#include "pusher/signature.hpp"

using namespace starling;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

/// How the fake app answers `(subscribe_atom, channel_join)`.
enum class app_answer { ok, refuse, fail, hold };

/// The app side: routes every join to one fake channel, or refuses, or
/// fails, or holds the request until `(ok_atom)`.
struct fake_app_state {
  static inline const char* name = "fake_app";
  app_answer answer = app_answer::ok;
  caf::actor channel;
  std::vector<channel_join> joins;
  std::deque<caf::response_promise> held;
  std::vector<user_signed_in> sign_ins;
  std::vector<std::string> online; ///< Answer to user_signed_in.
};

using fake_app_actor = caf::stateful_actor<fake_app_state>;

caf::behavior fake_app(fake_app_actor* self, caf::actor channel) {
  self->state.channel = std::move(channel);
  return {
    [=](caf::subscribe_atom,
        channel_join& join) -> caf::result<caf::ok_atom, caf::actor> {
      auto& st = self->state;
      st.joins.push_back(join);
      switch (st.answer) {
        case app_answer::ok:
          return {caf::ok_atom::value, st.channel};
        case app_answer::refuse:
          return caf::make_error(errc::subscription_refused);
        case app_answer::fail:
          return caf::make_error(caf::sec::request_receiver_down);
        case app_answer::hold:
          break;
      }
      st.held.push_back(self->make_response_promise());
      return caf::delegated<caf::ok_atom, caf::actor>{};
    },
    [=](caf::ok_atom) {
      auto& st = self->state;
      if (st.held.empty())
        return;
      st.held.front().deliver(caf::ok_atom::value, st.channel);
      st.held.pop_front();
    },
    [=](user_signed_in& msg) {
      self->state.sign_ins.push_back(msg);
      return self->state.online;
    },
  };
}

/// The channel side: records unsubscribes and client events.
struct fake_channel_state {
  static inline const char* name = "fake_channel";
  std::size_t leaves = 0;
  std::vector<client_event> client_events;
};

using fake_channel_actor = caf::stateful_actor<fake_channel_state>;

caf::behavior fake_channel(fake_channel_actor* self) {
  return {
    [=](caf::leave_atom) { ++self->state.leaves; },
    [=](client_event_atom, client_event& ev) {
      self->state.client_events.push_back(std::move(ev));
    },
  };
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Returns `{"event":"pusher:subscribe","data":{...}}`.
std::string
subscribe_frame(const std::string& channel, const std::string& auth = {},
                const std::optional<std::string>& channel_data = {}) {
  auto data = "{\"channel\":" + pusher::json_quote(channel);
  if (!auth.empty())
    data += ",\"auth\":" + pusher::json_quote(auth);
  if (channel_data)
    data += ",\"channel_data\":" + pusher::json_quote(*channel_data);
  data += '}';
  return "{\"event\":\"pusher:subscribe\",\"data\":" + data + "}";
}

std::string unsubscribe_frame(const std::string& channel) {
  return "{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":"
         + pusher::json_quote(channel) + "}}";
}

std::string client_event_frame(const std::string& event,
                               const std::string& channel,
                               const std::string& data_json) {
  return "{\"event\":" + pusher::json_quote(event)
         + ",\"channel\":" + pusher::json_quote(channel)
         + ",\"data\":" + data_json + "}";
}

constexpr const char* socket_id = "1234.1";

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  fake_link_ptr link = make_fake_link();
  caf::actor channel;
  caf::actor app;
  caf::actor conn;

  fixture() {
    channel = spawn_tracked(fake_channel);
    app = spawn_tracked(fake_app, channel);
    sched.run();
  }

  void start() {
    conn = spawn_tracked(connection_behavior, app_context_ptr{ctx}, app,
                         session_link_ptr{link}, std::string{socket_id});
    sched.run();
  }

  fake_app_state& app_seen() {
    return deref<fake_app_actor>(app).state;
  }

  fake_channel_state& channel_seen() {
    return deref<fake_channel_actor>(channel).state;
  }

  /// Delivers one inbound text frame, as the session does, and processes it.
  void frame(std::string text) {
    sched.run();
    caf::anon_send(conn, ws_frame_atom::value, std::move(text), false);
    expect((ws_frame_atom, std::string, bool), from(_).to(conn));
  }

  /// Returns a valid subscribe `auth` for this connection.
  std::string auth_for(const std::string& channel,
                       const std::optional<std::string>& channel_data = {}) {
    auto message = std::string{socket_id} + ":" + channel;
    if (channel_data)
      message += ":" + *channel_data;
    return ctx->app.key + ":"
           + pusher::hmac_sha256_hex(ctx->app.secret, message);
  }

  /// Subscribes to `channel` through the fake app (answer ok).
  void subscribe_ok(const std::string& text) {
    frame(text);
    expect((caf::subscribe_atom, channel_join), from(conn).to(app));
    expect((caf::ok_atom, caf::actor), from(app).to(conn));
  }

  uint64_t subscription_count() {
    return request<uint64_t>(conn, stats_atom::value);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(connection_tests, fixture)

// -- start and housekeeping ---------------------------------------------------

CAF_TEST(connection_established is the first frame and carries the socket id) {
  start();
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 1u);
  CAF_CHECK_EQUAL(texts[0],
                  pusher::encode_connection_established(socket_id, 120));
  std::smatch m;
  std::regex re{R"re(\\"socket_id\\":\\"([^\\"]*)\\")re"};
  CAF_REQUIRE(std::regex_search(texts[0], m, re));
  CAF_CHECK(std::regex_match(m[1].str(), std::regex{R"(\d+\.\d+)"}));
  CAF_CHECK(contains(texts[0], R"(\"activity_timeout\":120)"));
  auto binds = link->binds();
  CAF_REQUIRE_EQUAL(binds.size(), 1u);
  CAF_CHECK(binds[0] == conn.address());
}

CAF_TEST(pusher ping is answered with pusher pong) {
  start();
  frame(R"({"event":"pusher:ping","data":{}})");
  CAF_CHECK_EQUAL(link->last_text(), pusher::encode_pong());
  CAF_CHECK_EQUAL(link->consumed_count(), 1u);
}

CAF_TEST(every inbound frame is reported consumed) {
  start();
  frame(R"({"event":"pusher:ping","data":{}})");
  frame("not json");
  frame(R"({"event":"pusher:pong","data":{}})");
  frame(R"({"event":"some-unknown-event"})");
  CAF_CHECK_EQUAL(link->consumed_count(), 4u);
}

CAF_TEST(malformed JSON gets pusher error and the connection stays up) {
  start();
  frame(R"({"event":"pusher:ping",)");
  auto text = link->last_text();
  CAF_CHECK(contains(text, R"("event":"pusher:error")"));
  CAF_CHECK(link->closes().empty());
  frame(R"({"event":"pusher:ping","data":{}})");
  CAF_CHECK_EQUAL(link->last_text(), pusher::encode_pong());
}

CAF_TEST(a binary frame gets pusher error) {
  start();
  caf::anon_send(conn, ws_frame_atom::value,
                 std::string{R"({"event":"pusher:ping"})"}, true);
  run();
  CAF_CHECK(contains(link->last_text(), R"("event":"pusher:error")"));
  CAF_CHECK(link->closes().empty());
}

CAF_TEST(pusher pong and unknown events get no answer) {
  start();
  frame(R"({"event":"pusher:pong","data":{}})");
  frame(R"({"event":"whatever","data":{}})");
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
}

CAF_TEST(ws_closed ends the actor normally without closing the link) {
  start();
  self->monitor(conn);
  caf::anon_send(conn, ws_closed_atom::value);
  run();
  auto [down] = pop_self<caf::down_msg>();
  CAF_CHECK(down.source == conn.address());
  CAF_CHECK(!down.reason);
  CAF_CHECK(link->closes().empty());
}

CAF_TEST(a crashed connection closes the link with 4200) {
  start();
  self->monitor(conn);
  caf::anon_send(conn, crash_atom::value);
  run();
  auto [down] = pop_self<caf::down_msg>();
  CAF_CHECK(down.reason);
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4200);
  CAF_REQUIRE(closes[0].final_frame != nullptr);
  CAF_CHECK(contains(*closes[0].final_frame, R"("code":4200)"));
}

// -- subscribe ----------------------------------------------------------------

CAF_TEST(a public subscribe reaches the app with the connection details) {
  start();
  subscribe_ok(subscribe_frame("room"));
  auto& joins = app_seen().joins;
  CAF_REQUIRE_EQUAL(joins.size(), 1u);
  CAF_CHECK_EQUAL(joins[0].channel, "room");
  CAF_CHECK_EQUAL(joins[0].socket_id, socket_id);
  CAF_CHECK(!joins[0].presence);
  CAF_CHECK(joins[0].link.get() == link.get());
  CAF_CHECK_EQUAL(subscription_count(), 1u);
  // The channel writes subscription_succeeded; the connection adds nothing.
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
}

CAF_TEST(a private subscribe with a bad signature gets AuthError 401) {
  start();
  frame(subscribe_frame("private-room", "app-key:0123456789abcdef"));
  disallow((caf::subscribe_atom, channel_join), from(conn).to(app));
  run();
  auto text = link->last_text();
  CAF_CHECK(contains(text, R"("event":"pusher:subscription_error")"));
  CAF_CHECK(contains(text, R"("channel":"private-room")"));
  CAF_CHECK(contains(text, R"("type":"AuthError")"));
  CAF_CHECK(contains(text, R"("status":401)"));
  CAF_CHECK(app_seen().joins.empty());
  CAF_CHECK_EQUAL(subscription_count(), 0u);
}

CAF_TEST(a private subscribe without auth gets AuthError 401) {
  start();
  frame(subscribe_frame("private-room"));
  run();
  CAF_CHECK(contains(link->last_text(), R"("type":"AuthError")"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(a signature for another socket id is refused) {
  start();
  auto other = ctx->app.key + ":"
               + pusher::hmac_sha256_hex(ctx->app.secret, "99.99:private-room");
  frame(subscribe_frame("private-room", other));
  run();
  CAF_CHECK(contains(link->last_text(), R"("status":401)"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(a signature with another key is refused) {
  start();
  auto sig = pusher::hmac_sha256_hex(ctx->app.secret,
                                    std::string{socket_id} + ":private-room");
  frame(subscribe_frame("private-room", "other-key:" + sig));
  run();
  CAF_CHECK(contains(link->last_text(), R"("status":401)"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(a private subscribe with a valid signature reaches the app) {
  start();
  subscribe_ok(subscribe_frame("private-room", auth_for("private-room")));
  CAF_REQUIRE_EQUAL(app_seen().joins.size(), 1u);
  CAF_CHECK_EQUAL(app_seen().joins[0].channel, "private-room");
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
}

CAF_TEST(a presence subscribe passes the signed member to the app) {
  start();
  std::string data = R"({"user_id":"u1","user_info":{"name":"Ann"}})";
  subscribe_ok(
    subscribe_frame("presence-room", auth_for("presence-room", data), data));
  auto& joins = app_seen().joins;
  CAF_REQUIRE_EQUAL(joins.size(), 1u);
  CAF_CHECK(joins[0].presence);
  CAF_CHECK_EQUAL(joins[0].user_id, "u1");
  CAF_CHECK_EQUAL(joins[0].user_info, R"({"name":"Ann"})");
}

CAF_TEST(a presence signature that does not cover channel_data is refused) {
  start();
  std::string data = R"({"user_id":"u1"})";
  frame(subscribe_frame("presence-room", auth_for("presence-room"), data));
  run();
  CAF_CHECK(contains(link->last_text(), R"("type":"AuthError")"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(an invalid channel name gets subscription_error 4009) {
  start();
  frame(subscribe_frame("bad channel!"));
  run();
  CAF_CHECK(contains(link->last_text(), R"("status":4009)"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(a duplicate subscribe gets Existing subscription and no second join) {
  start();
  subscribe_ok(subscribe_frame("room"));
  frame(subscribe_frame("room"));
  disallow((caf::subscribe_atom, channel_join), from(conn).to(app));
  run();
  CAF_CHECK_EQUAL(link->last_text(),
                  pusher::encode_error(
                    0, "Existing subscription to channel room", "room"));
  CAF_CHECK_EQUAL(app_seen().joins.size(), 1u);
  CAF_CHECK_EQUAL(subscription_count(), 1u);
}

CAF_TEST(a duplicate subscribe while the first is pending is refused too) {
  start();
  app_seen().answer = app_answer::hold;
  frame(subscribe_frame("room"));
  frame(subscribe_frame("room"));
  sched.run();
  CAF_CHECK(contains(link->last_text(), "Existing subscription"));
  CAF_CHECK_EQUAL(app_seen().joins.size(), 1u);
}

CAF_TEST(a refused join adds no frame and can be retried) {
  start();
  app_seen().answer = app_answer::refuse;
  frame(subscribe_frame("room"));
  expect((caf::subscribe_atom, channel_join), from(conn).to(app));
  expect((caf::error), from(app).to(conn));
  // The channel already told the client; the connection stays silent.
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
  CAF_CHECK_EQUAL(subscription_count(), 0u);
  app_seen().answer = app_answer::ok;
  subscribe_ok(subscribe_frame("room"));
  CAF_CHECK_EQUAL(subscription_count(), 1u);
}

CAF_TEST(a failed join gets ServerError 503) {
  start();
  app_seen().answer = app_answer::fail;
  frame(subscribe_frame("room"));
  expect((caf::subscribe_atom, channel_join), from(conn).to(app));
  expect((caf::error), from(app).to(conn));
  auto text = link->last_text();
  CAF_CHECK(contains(text, R"("event":"pusher:subscription_error")"));
  CAF_CHECK(contains(text, R"("type":"ServerError")"));
  CAF_CHECK(contains(text, R"("status":503)"));
  CAF_CHECK_EQUAL(subscription_count(), 0u);
}

// -- unsubscribe --------------------------------------------------------------

CAF_TEST(an unsubscribe tells the channel) {
  start();
  subscribe_ok(subscribe_frame("room"));
  frame(unsubscribe_frame("room"));
  expect((caf::leave_atom), from(conn).to(channel));
  CAF_CHECK_EQUAL(channel_seen().leaves, 1u);
  CAF_CHECK_EQUAL(subscription_count(), 0u);
}

CAF_TEST(an unsubscribe of an unknown channel is ignored) {
  start();
  frame(unsubscribe_frame("room"));
  run();
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
  CAF_CHECK_EQUAL(channel_seen().leaves, 0u);
}

CAF_TEST(an unsubscribe while the join is pending leaves once it completes) {
  start();
  app_seen().answer = app_answer::hold;
  frame(subscribe_frame("room"));
  frame(unsubscribe_frame("room"));
  sched.run();
  CAF_CHECK_EQUAL(channel_seen().leaves, 0u);
  self->send(app, caf::ok_atom::value);
  expect((caf::ok_atom), from(self).to(app));
  expect((caf::ok_atom, caf::actor), from(app).to(conn));
  expect((caf::leave_atom), from(conn).to(channel));
  CAF_CHECK_EQUAL(channel_seen().leaves, 1u);
  CAF_CHECK_EQUAL(subscription_count(), 0u);
}

CAF_TEST(subscribe unsubscribe subscribe while pending ends subscribed) {
  // pusher-js does this when an app unsubscribes and subscribes again
  // before the first subscription_succeeded arrived.
  start();
  app_seen().answer = app_answer::hold;
  frame(subscribe_frame("room"));
  frame(unsubscribe_frame("room"));
  frame(subscribe_frame("room"));
  sched.run();
  CAF_CHECK(!contains(link->last_text(), "Existing subscription"));
  // Answer every join the app got (one or two, depending on the design).
  for (int i = 0; i < 3; ++i) {
    self->send(app, caf::ok_atom::value);
    sched.run();
  }
  CAF_CHECK_EQUAL(subscription_count(), 1u);
}

// -- client events ------------------------------------------------------------

CAF_TEST(a client event on a private channel goes to the channel) {
  ctx->app.enable_client_messages = true;
  start();
  subscribe_ok(subscribe_frame("private-room", auth_for("private-room")));
  frame(client_event_frame("client-typing", "private-room", R"({"on":true})"));
  expect((client_event_atom, client_event), from(conn).to(channel));
  auto& events = channel_seen().client_events;
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].event, "client-typing");
  CAF_CHECK_EQUAL(events[0].data, R"({"on":true})");
  CAF_CHECK_EQUAL(events[0].socket_id, socket_id);
  CAF_CHECK(events[0].user_id.empty());
}

CAF_TEST(a presence client event carries the user id) {
  ctx->app.enable_client_messages = true;
  start();
  std::string data = R"({"user_id":"u7"})";
  subscribe_ok(
    subscribe_frame("presence-room", auth_for("presence-room", data), data));
  frame(client_event_frame("client-x", "presence-room", "[1]"));
  run();
  auto& events = channel_seen().client_events;
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].user_id, "u7");
}

CAF_TEST(client events over the rate limit get 4301) {
  ctx->app.enable_client_messages = true;
  ctx->app.limits.client_events_per_second = 3;
  start();
  subscribe_ok(subscribe_frame("private-room", auth_for("private-room")));
  auto frames_before = link->frame_count();
  // sched.run(), not run(): run() fires pending request timers, which
  // moves the actor clock past the one-second rate window.
  for (int i = 0; i < 3; ++i)
    frame(client_event_frame("client-n", "private-room", std::to_string(i)));
  sched.run();
  CAF_CHECK_EQUAL(channel_seen().client_events.size(), 3u);
  CAF_CHECK_EQUAL(link->frame_count(), frames_before);
  frame(client_event_frame("client-n", "private-room", "3"));
  sched.run();
  CAF_CHECK_EQUAL(channel_seen().client_events.size(), 3u);
  auto text = link->last_text();
  CAF_CHECK(contains(text, R"("event":"pusher:error")"));
  CAF_CHECK(contains(text, R"("code":4301)"));
  CAF_CHECK(contains(text, R"("channel":"private-room")"));
  CAF_CHECK(link->closes().empty());
}

CAF_TEST(the client event rate window restarts after one second) {
  ctx->app.enable_client_messages = true;
  ctx->app.limits.client_events_per_second = 2;
  start();
  subscribe_ok(subscribe_frame("private-room", auth_for("private-room")));
  for (int i = 0; i < 3; ++i)
    frame(client_event_frame("client-n", "private-room", std::to_string(i)));
  sched.run();
  CAF_CHECK_EQUAL(channel_seen().client_events.size(), 2u);
  // A second passes on the actor clock: the next event is within the limit.
  advance_time(std::chrono::seconds(1));
  frame(client_event_frame("client-n", "private-room", "3"));
  sched.run();
  CAF_CHECK_EQUAL(channel_seen().client_events.size(), 3u);
}

CAF_TEST(client events get 4301 when the app disables them) {
  start();
  subscribe_ok(subscribe_frame("private-room", auth_for("private-room")));
  frame(client_event_frame("client-typing", "private-room", "{}"));
  run();
  CAF_CHECK(contains(link->last_text(), R"("code":4301)"));
  CAF_CHECK(channel_seen().client_events.empty());
}

CAF_TEST(client events on a public channel get 4301) {
  ctx->app.enable_client_messages = true;
  start();
  subscribe_ok(subscribe_frame("room"));
  frame(client_event_frame("client-typing", "room", "{}"));
  run();
  CAF_CHECK(contains(link->last_text(), R"("code":4301)"));
  CAF_CHECK(channel_seen().client_events.empty());
}

CAF_TEST(client events on a channel not subscribed get 4301) {
  ctx->app.enable_client_messages = true;
  start();
  frame(client_event_frame("client-typing", "private-room", "{}"));
  run();
  CAF_CHECK(contains(link->last_text(), R"("code":4301)"));
  CAF_CHECK(channel_seen().client_events.empty());
}

// -- sign-in and user channels ------------------------------------------------

CAF_TEST(a user channel needs a sign-in as that user) {
  start();
  frame(subscribe_frame("#server-to-user-u1"));
  run();
  CAF_CHECK(contains(link->last_text(), R"("type":"AuthError")"));
  CAF_CHECK(app_seen().joins.empty());
  std::string user_data = R"({"id":"u1"})";
  auto auth = ctx->app.key + ":"
              + pusher::hmac_sha256_hex(ctx->app.secret, std::string{socket_id}
                                                          + "::user::"
                                                          + user_data);
  frame("{\"event\":\"pusher:signin\",\"data\":{\"auth\":"
        + pusher::json_quote(auth)
        + ",\"user_data\":" + pusher::json_quote(user_data) + "}}");
  CAF_CHECK_EQUAL(link->last_text(), pusher::encode_signin_success(user_data));
  expect((user_signed_in), from(conn).to(app));
  CAF_REQUIRE_EQUAL(app_seen().sign_ins.size(), 1u);
  CAF_CHECK_EQUAL(app_seen().sign_ins[0].user_id, "u1");
  subscribe_ok(subscribe_frame("#server-to-user-u1"));
  CAF_CHECK_EQUAL(app_seen().joins.size(), 1u);
}

CAF_TEST(a user channel of another user is refused after sign-in) {
  start();
  std::string user_data = R"({"id":"u1"})";
  auto auth = ctx->app.key + ":"
              + pusher::hmac_sha256_hex(ctx->app.secret, std::string{socket_id}
                                                          + "::user::"
                                                          + user_data);
  frame("{\"event\":\"pusher:signin\",\"data\":{\"auth\":"
        + pusher::json_quote(auth)
        + ",\"user_data\":" + pusher::json_quote(user_data) + "}}");
  run();
  frame(subscribe_frame("#server-to-user-u2"));
  run();
  CAF_CHECK(contains(link->last_text(), R"("type":"AuthError")"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(an unauthorized connection is closed after the auth timeout) {
  ctx->app.user_authentication_timeout_s = 30;
  start();
  subscribe_ok(subscribe_frame("room"));
  CAF_CHECK(link->closes().empty());
  advance_time(std::chrono::seconds(30));
  sched.run();
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4009);
}

CAF_TEST(a private subscription counts as authorized for the timeout) {
  ctx->app.user_authentication_timeout_s = 30;
  start();
  subscribe_ok(subscribe_frame("private-room", auth_for("private-room")));
  advance_time(std::chrono::seconds(30));
  sched.run();
  CAF_CHECK(link->closes().empty());
}

CAF_TEST(a bad sign-in closes with 4009) {
  start();
  frame(R"({"event":"pusher:signin","data":{"auth":"app-key:00",)"
        R"("user_data":"{\"id\":\"u1\"}"}})");
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4009);
}

CAF_TEST_FIXTURE_SCOPE_END()
