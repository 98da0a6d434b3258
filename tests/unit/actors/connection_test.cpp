// Unit tests for actors/connection: the client's side of the Pusher protocol
// against a fake app (answers joins), a fake channel and a fake session
// link: frames, subscribe auth, unsubscribe, client events and their limits,
// sign-in with the own watchlist channel and the watchlist frames, re-joins
// of a crashed channel, terminate and the auth timeout.
#define CAF_SUITE actors_connection
#include "tests/support/actor_fixture.hpp"

#include "actors/connection.hpp"

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "pusher/frame.hpp"
#include "pusher/signature.hpp"
#include "tests/support/fake_session_link.hpp"
#include "tests/support/probes.hpp"

using namespace starling;
using test::fake_link_ptr;
using test::join_answer;
using test::make_fake_link;

namespace {

using strings = std::vector<std::string>;

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
  connection_actor conn;

  fixture() {
    channel = spawn_tracked(test::fake_channel, caf::actor{});
    app = spawn_tracked(test::fake_app, channel);
    sched.run();
  }

  void start() {
    conn = spawn_tracked(connection_behavior, app_context_ptr{ctx},
                         caf::actor_cast<app_actor>(app),
                         session_link_ptr{link},
                         *pusher::parse_socket_id(socket_id));
    sched.run();
  }

  test::fake_app_state& app_seen() {
    return state_of<test::fake_app_state>(app);
  }

  test::fake_channel_state& channel_seen(const caf::actor& ch) {
    return state_of<test::fake_channel_state>(ch);
  }

  test::fake_channel_state& channel_seen() {
    return channel_seen(channel);
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

  /// Returns a signed pusher:signin frame for `user_data`.
  std::string signin_frame(const std::string& user_data) {
    auto auth = ctx->app.key + ":"
                + pusher::hmac_sha256_hex(ctx->app.secret,
                                          std::string{socket_id} + "::user::"
                                            + user_data);
    return "{\"event\":\"pusher:signin\",\"data\":{\"auth\":"
           + pusher::json_quote(auth)
           + ",\"user_data\":" + pusher::json_quote(user_data) + "}}";
  }

  /// Signs in and lets every join it causes complete.
  void sign_in(const std::string& user_data) {
    frame(signin_frame(user_data));
    sched.run();
  }

  /// Subscribes through the fake app (answer ok).
  void subscribe_ok(const std::string& text) {
    frame(text);
    expect((channel_join), from(conn).to(app));
    expect((channel_joined), from(app).to(conn));
  }

  /// Returns the joins the app got for `name`.
  std::vector<channel_join> joins_of(const std::string& name) {
    std::vector<channel_join> result;
    for (auto& j : app_seen().joins)
      if (j.channel == name)
        result.push_back(j);
    return result;
  }

  uint64_t subscription_count() {
    return ask<connection_stats>(conn, stats_atom::value).subscriptions;
  }
};

} // namespace

// -- start and housekeeping ---------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(connection_basics, fixture)

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
  CAF_CHECK_EQUAL(ctx->counters->protocol_errors.load(), 1u);
}

CAF_TEST(a binary frame gets pusher error) {
  start();
  caf::anon_send(conn, ws_frame_atom::value,
                 std::string{R"({"event":"pusher:ping"})"}, true);
  sched.run();
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
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.source == conn.address());
  CAF_CHECK(!down.reason);
  CAF_CHECK(link->closes().empty());
}

CAF_TEST(a crashed connection closes the link with 4200) {
  start();
  self->monitor(conn);
  caf::anon_send(conn, crash_atom::value);
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.reason);
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4200);
  CAF_REQUIRE(closes[0].final_frame != nullptr);
  CAF_CHECK(contains(*closes[0].final_frame, R"("code":4200)"));
}

CAF_TEST(terminate from the app closes with 4009) {
  start();
  caf::anon_send(conn, terminate_atom::value);
  sched.run();
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4009);
  CAF_REQUIRE(closes[0].final_frame != nullptr);
  CAF_CHECK(
    contains(*closes[0].final_frame, "You got disconnected by the app."));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- subscribe ----------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(connection_subscribe, fixture)

CAF_TEST(a public subscribe reaches the app with the connection details) {
  start();
  subscribe_ok(subscribe_frame("room"));
  auto& joins = app_seen().joins;
  CAF_REQUIRE_EQUAL(joins.size(), 1u);
  CAF_CHECK_EQUAL(joins[0].channel, "room");
  CAF_CHECK_EQUAL(joins[0].socket_id, socket_id);
  CAF_CHECK(!joins[0].member);
  CAF_CHECK(!joins[0].silent);
  CAF_CHECK(!joins[0].rejoin);
  CAF_CHECK(joins[0].link.get() == link.get());
  CAF_CHECK_EQUAL(subscription_count(), 1u);
  // The channel writes subscription_succeeded; the connection adds nothing.
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
}

CAF_TEST(a private subscribe with a bad signature gets AuthError 401) {
  start();
  frame(subscribe_frame("private-room", "app-key:0123456789abcdef"));
  disallow((channel_join), from(conn).to(app));
  sched.run();
  auto text = link->last_text();
  CAF_CHECK(contains(text, R"("event":"pusher:subscription_error")"));
  CAF_CHECK(contains(text, R"("channel":"private-room")"));
  CAF_CHECK(contains(text, R"("type":"AuthError")"));
  CAF_CHECK(contains(text, R"("status":401)"));
  CAF_CHECK(app_seen().joins.empty());
  CAF_CHECK_EQUAL(subscription_count(), 0u);
  CAF_CHECK_EQUAL(ctx->counters->subscription_errors.load(), 1u);
}

CAF_TEST(a private subscribe without auth gets AuthError 401) {
  start();
  frame(subscribe_frame("private-room"));
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("type":"AuthError")"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(a signature for another socket id is refused) {
  start();
  auto other = ctx->app.key + ":"
               + pusher::hmac_sha256_hex(ctx->app.secret, "99.99:private-room");
  frame(subscribe_frame("private-room", other));
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("status":401)"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(a signature with another key is refused) {
  start();
  auto sig = pusher::hmac_sha256_hex(ctx->app.secret,
                                     std::string{socket_id} + ":private-room");
  frame(subscribe_frame("private-room", "other-key:" + sig));
  sched.run();
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
  CAF_CHECK(joins[0].member);
  CAF_CHECK_EQUAL(joins[0].user_id, "u1");
  CAF_CHECK_EQUAL(joins[0].user_info, R"({"name":"Ann"})");
}

CAF_TEST(a presence signature that does not cover channel_data is refused) {
  start();
  std::string data = R"({"user_id":"u1"})";
  frame(subscribe_frame("presence-room", auth_for("presence-room"), data));
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("type":"AuthError")"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(presence channel_data without a user id gets 4301 InvalidChannelData) {
  start();
  std::string data = R"({"user_info":{}})";
  frame(
    subscribe_frame("presence-room", auth_for("presence-room", data), data));
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("type":"InvalidChannelData")"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(an invalid channel name gets subscription_error 4009) {
  start();
  frame(subscribe_frame("bad channel!"));
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("status":4009)"));
  CAF_CHECK(app_seen().joins.empty());
}

CAF_TEST(a duplicate subscribe gets Existing subscription and no second join) {
  start();
  subscribe_ok(subscribe_frame("room"));
  frame(subscribe_frame("room"));
  disallow((channel_join), from(conn).to(app));
  sched.run();
  CAF_CHECK_EQUAL(link->last_text(),
                  pusher::encode_error(
                    0, "Existing subscription to channel room", "room"));
  CAF_CHECK_EQUAL(app_seen().joins.size(), 1u);
  CAF_CHECK_EQUAL(subscription_count(), 1u);
}

CAF_TEST(a duplicate subscribe while the first is pending is refused too) {
  start();
  app_seen().answer = join_answer::hold;
  frame(subscribe_frame("room"));
  frame(subscribe_frame("room"));
  sched.run();
  CAF_CHECK(contains(link->last_text(), "Existing subscription"));
  CAF_CHECK_EQUAL(app_seen().joins.size(), 1u);
}

CAF_TEST(a refused join adds no frame and can be retried) {
  start();
  app_seen().answer = join_answer::refuse;
  frame(subscribe_frame("room"));
  expect((channel_join), from(conn).to(app));
  expect((caf::error), from(app).to(conn));
  // The channel already told the client; the connection stays silent.
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
  CAF_CHECK_EQUAL(subscription_count(), 0u);
  app_seen().answer = join_answer::ok;
  subscribe_ok(subscribe_frame("room"));
  CAF_CHECK_EQUAL(subscription_count(), 1u);
}

CAF_TEST(subscribes past the per connection cap get 4100 and no join) {
  ctx->app.limits.max_subscriptions_per_connection = 2;
  start();
  subscribe_ok(subscribe_frame("a"));
  subscribe_ok(subscribe_frame("b"));
  frame(subscribe_frame("c"));
  disallow((channel_join), from(conn).to(app));
  sched.run();
  auto text = link->last_text();
  CAF_CHECK(contains(text, R"("event":"pusher:subscription_error")"));
  CAF_CHECK(contains(text, R"("channel":"c")"));
  CAF_CHECK(contains(text, R"("type":"LimitReached")"));
  CAF_CHECK(contains(text, R"("status":4100)"));
  CAF_CHECK_EQUAL(subscription_count(), 2u);
  CAF_CHECK_EQUAL(ctx->counters->subscription_limit_hits.load(), 1u);
  CAF_CHECK(link->closes().empty());
  // Leaving one makes room again.
  frame(unsubscribe_frame("a"));
  sched.run();
  subscribe_ok(subscribe_frame("c"));
  CAF_CHECK_EQUAL(subscription_count(), 2u);
}

CAF_TEST(a failed join gets ServerError 503) {
  start();
  app_seen().answer = join_answer::fail;
  frame(subscribe_frame("room"));
  expect((channel_join), from(conn).to(app));
  expect((caf::error), from(app).to(conn));
  auto text = link->last_text();
  CAF_CHECK(contains(text, R"("event":"pusher:subscription_error")"));
  CAF_CHECK(contains(text, R"("type":"ServerError")"));
  CAF_CHECK(contains(text, R"("status":503)"));
  CAF_CHECK_EQUAL(subscription_count(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- unsubscribe and crashed channels -----------------------------------------

CAF_TEST_FIXTURE_SCOPE(connection_unsubscribe, fixture)

CAF_TEST(an unsubscribe tells the channel) {
  start();
  subscribe_ok(subscribe_frame("room"));
  frame(unsubscribe_frame("room"));
  expect((caf::unsubscribe_atom), from(conn).to(channel));
  CAF_CHECK_EQUAL(channel_seen().unsubscribes, 1u);
  CAF_CHECK_EQUAL(subscription_count(), 0u);
}

CAF_TEST(an unsubscribe of an unknown channel is ignored) {
  start();
  frame(unsubscribe_frame("room"));
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
  CAF_CHECK_EQUAL(channel_seen().unsubscribes, 0u);
}

CAF_TEST(an unsubscribe while the join is pending leaves once it completes) {
  start();
  app_seen().answer = join_answer::hold;
  frame(subscribe_frame("room"));
  frame(unsubscribe_frame("room"));
  sched.run();
  CAF_CHECK_EQUAL(channel_seen().unsubscribes, 0u);
  self->send(app, caf::ok_atom::value);
  expect((caf::ok_atom), from(self).to(app));
  expect((channel_joined), from(app).to(conn));
  expect((caf::unsubscribe_atom), from(conn).to(channel));
  CAF_CHECK_EQUAL(channel_seen().unsubscribes, 1u);
  CAF_CHECK_EQUAL(subscription_count(), 0u);
}

CAF_TEST(subscribe unsubscribe subscribe while pending ends subscribed) {
  // pusher-js does this when an app unsubscribes and subscribes again
  // before the first subscription_succeeded arrived.
  start();
  app_seen().answer = join_answer::hold;
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
  CAF_CHECK_EQUAL(channel_seen().unsubscribes, 0u);
}

// What a channel does as it crashes (channel.cpp): tell each subscriber,
// then end.
void crash(const caf::actor& ch, const connection_actor& subscriber,
           const std::string& name) {
  caf::send_as(ch, subscriber, channel_crashed{name, 0});
  caf::anon_send_exit(ch, caf::exit_reason::user_shutdown);
}

CAF_TEST(a crashed channel is re-joined silently) {
  start();
  subscribe_ok(subscribe_frame("room"));
  auto frames_before = link->frame_count();
  auto replacement = spawn_tracked(test::fake_channel, caf::actor{});
  sched.run();
  app_seen().channel = replacement;
  crash(channel, conn, "room");
  sched.run();
  auto joins = joins_of("room");
  CAF_REQUIRE_EQUAL(joins.size(), 2u);
  CAF_CHECK(joins[1].rejoin);
  CAF_CHECK_EQUAL(joins[1].socket_id, socket_id);
  // The client never noticed.
  CAF_CHECK_EQUAL(link->frame_count(), frames_before);
  CAF_CHECK_EQUAL(subscription_count(), 1u);
  frame(unsubscribe_frame("room"));
  sched.run();
  CAF_CHECK_EQUAL(channel_seen(replacement).unsubscribes, 1u);
}

CAF_TEST(a crash word from a channel not joined is ignored) {
  start();
  subscribe_ok(subscribe_frame("room"));
  auto other = spawn_tracked(test::fake_channel, caf::actor{});
  sched.run();
  caf::send_as(other, conn, channel_crashed{"room", 0}); // Not our channel.
  caf::anon_send(conn, channel_crashed{"lobby", 0});    // Not subscribed.
  sched.run();
  CAF_CHECK_EQUAL(joins_of("room").size(), 1u);
  CAF_CHECK_EQUAL(joins_of("lobby").size(), 0u);
  CAF_CHECK_EQUAL(subscription_count(), 1u);
  frame(unsubscribe_frame("room"));
  sched.run();
  CAF_CHECK_EQUAL(channel_seen().unsubscribes, 1u);
}

CAF_TEST(a presence re-join keeps the member) {
  start();
  std::string data = R"({"user_id":"u1","user_info":{"a":1}})";
  subscribe_ok(
    subscribe_frame("presence-room", auth_for("presence-room", data), data));
  auto replacement = spawn_tracked(test::fake_channel, caf::actor{});
  sched.run();
  app_seen().channel = replacement;
  crash(channel, conn, "presence-room");
  sched.run();
  auto joins = joins_of("presence-room");
  CAF_REQUIRE_EQUAL(joins.size(), 2u);
  CAF_CHECK(joins[1].rejoin);
  CAF_CHECK(joins[1].member);
  CAF_CHECK_EQUAL(joins[1].user_id, "u1");
  CAF_CHECK_EQUAL(joins[1].user_info, R"({"a":1})");
}

CAF_TEST(a channel that keeps failing is given up after 20 re-joins) {
  start();
  subscribe_ok(subscribe_frame("room"));
  app_seen().answer = join_answer::fail;
  crash(channel, conn, "room");
  // run(): each retry waits 50 ms on the fake clock.
  run();
  CAF_CHECK_EQUAL(joins_of("room").size(), 22u); // the join, 21 re-joins
  auto text = link->last_text();
  CAF_CHECK(contains(text, R"("event":"pusher:subscription_error")"));
  CAF_CHECK(contains(text, "channel unavailable; resubscribe"));
  CAF_CHECK(contains(text, R"("status":503)"));
  CAF_CHECK_EQUAL(subscription_count(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- client events ------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(connection_client_events, fixture)

CAF_TEST(a client event on a private channel goes to the channel) {
  ctx->app.enable_client_messages = true;
  start();
  subscribe_ok(subscribe_frame("private-room", auth_for("private-room")));
  frame(client_event_frame("client-typing", "private-room", R"({"on":true})"));
  expect((client_event), from(conn).to(channel));
  auto& events = channel_seen().client_events;
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].event, "client-typing");
  CAF_CHECK_EQUAL(events[0].data, R"({"on":true})");
  CAF_CHECK_EQUAL(events[0].socket_id, socket_id);
  CAF_CHECK(events[0].user_id.empty());
  CAF_CHECK_EQUAL(ctx->counters->client_events.load(), 1u);
}

CAF_TEST(a presence client event carries the user id) {
  ctx->app.enable_client_messages = true;
  start();
  std::string data = R"({"user_id":"u7"})";
  subscribe_ok(
    subscribe_frame("presence-room", auth_for("presence-room", data), data));
  frame(client_event_frame("client-x", "presence-room", "[1]"));
  sched.run();
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
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("code":4301)"));
  CAF_CHECK(channel_seen().client_events.empty());
}

CAF_TEST(client events on a public channel get 4301) {
  ctx->app.enable_client_messages = true;
  start();
  subscribe_ok(subscribe_frame("room"));
  frame(client_event_frame("client-typing", "room", "{}"));
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("code":4301)"));
  CAF_CHECK(channel_seen().client_events.empty());
}

CAF_TEST(client events on a channel not subscribed get 4301) {
  ctx->app.enable_client_messages = true;
  start();
  frame(client_event_frame("client-typing", "private-room", "{}"));
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("code":4301)"));
  CAF_CHECK(channel_seen().client_events.empty());
}

CAF_TEST(client events with long names or data get 4301) {
  ctx->app.enable_client_messages = true;
  ctx->app.limits.max_event_name_length = 10;
  ctx->app.limits.max_event_payload_bytes = 8;
  start();
  subscribe_ok(subscribe_frame("private-room", auth_for("private-room")));
  frame(client_event_frame("client-too-long", "private-room", "1"));
  CAF_CHECK(contains(link->last_text(), R"("code":4301)"));
  frame(client_event_frame("client-a", "private-room", R"("123456789")"));
  CAF_CHECK(contains(link->last_text(), R"("code":4301)"));
  sched.run();
  CAF_CHECK(channel_seen().client_events.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- sign-in, user channels and the watchlist ---------------------------------

CAF_TEST_FIXTURE_SCOPE(connection_sign_in, fixture)

CAF_TEST(a user channel needs a sign-in as that user) {
  start();
  frame(subscribe_frame("#server-to-user-u1"));
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("type":"AuthError")"));
  CAF_CHECK(app_seen().joins.empty());
  std::string user_data = R"({"id":"u1"})";
  frame(signin_frame(user_data));
  CAF_CHECK_EQUAL(link->last_text(), pusher::encode_signin_success(user_data));
  expect((user_signed_in), from(conn).to(app));
  CAF_REQUIRE_EQUAL(app_seen().sign_ins.size(), 1u);
  CAF_CHECK_EQUAL(app_seen().sign_ins[0].user_id, "u1");
  sched.run();
  subscribe_ok(subscribe_frame("#server-to-user-u1"));
  CAF_CHECK_EQUAL(joins_of("#server-to-user-u1").size(), 1u);
}

CAF_TEST(a user channel of another user is refused after sign-in) {
  start();
  sign_in(R"({"id":"u1"})");
  frame(subscribe_frame("#server-to-user-u2"));
  sched.run();
  CAF_CHECK(contains(link->last_text(), R"("type":"AuthError")"));
  CAF_CHECK(joins_of("#server-to-user-u2").empty());
}

CAF_TEST(a sign-in joins the own watchlist channel silently) {
  start();
  sign_in(R"({"id":"u1"})");
  auto joins = joins_of("#watchlist-u1");
  CAF_REQUIRE_EQUAL(joins.size(), 1u);
  CAF_CHECK(joins[0].member);
  CAF_CHECK(joins[0].silent);
  CAF_CHECK_EQUAL(joins[0].user_id, "u1");
  CAF_CHECK_EQUAL(joins[0].socket_id, socket_id);
  CAF_CHECK_EQUAL(app_seen().joins.size(), 1u);
  // No watchlist: no watchlist frame; the client sees only its sign-in.
  CAF_CHECK_EQUAL(link->texts(),
                  strings(
                    {pusher::encode_connection_established(socket_id, 120),
                     pusher::encode_signin_success(R"({"id":"u1"})")}));
  CAF_CHECK_EQUAL(subscription_count(), 1u);
  // The client cannot leave an internal channel, nor send events on it.
  frame(unsubscribe_frame("#watchlist-u1"));
  sched.run();
  CAF_CHECK_EQUAL(channel_seen().unsubscribes, 0u);
  CAF_CHECK_EQUAL(subscription_count(), 1u);
  // Signing in again as the same user joins nothing new.
  sign_in(R"({"id":"u1"})");
  CAF_CHECK_EQUAL(joins_of("#watchlist-u1").size(), 1u);
  CAF_CHECK_EQUAL(app_seen().sign_ins.size(), 1u);
}

CAF_TEST(a sign-in as another user closes with 4009) {
  start();
  sign_in(R"({"id":"u1"})");
  frame(signin_frame(R"({"id":"u2"})"));
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4009);
}

CAF_TEST(watchlist ids are watched through their channels) {
  start();
  app_seen().members["#watchlist-u2"] = 1; // online
  app_seen().members["#watchlist-u3"] = 0; // offline
  sign_in(R"({"id":"u1","watchlist":["u2","u3"]})");
  for (auto id : {"u2", "u3"}) {
    auto joins = joins_of(std::string{"#watchlist-"} + id);
    CAF_REQUIRE_EQUAL(joins.size(), 1u);
    CAF_CHECK(!joins[0].member);
    CAF_CHECK(!joins[0].silent);
  }
  // One frame once every status is known.
  CAF_CHECK_EQUAL(link->last_text(),
                  pusher::encode_watchlist_events({"u2"}, {"u3"}));
  auto frames = link->frame_count();
  // Then one frame per change.
  caf::anon_send(conn, watch_event{"u3", true});
  sched.run();
  CAF_CHECK_EQUAL(link->last_text(),
                  pusher::encode_watchlist_events({"u3"}, {}));
  caf::anon_send(conn, watch_event{"u2", false});
  sched.run();
  CAF_CHECK_EQUAL(link->last_text(),
                  pusher::encode_watchlist_events({}, {"u2"}));
  // No change, no frame; ids nobody watches are ignored.
  caf::anon_send(conn, watch_event{"u2", false});
  caf::anon_send(conn, watch_event{"u9", true});
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), frames + 2);
}

CAF_TEST(the first watchlist frame waits for every join) {
  start();
  app_seen().answer = join_answer::hold;
  app_seen().members["#watchlist-u2"] = 1;
  sign_in(R"({"id":"u1","watchlist":["u2","u3"]})");
  auto frames = link->frame_count();
  // Answers in order: own channel, u2, u3.
  self->send(app, caf::ok_atom::value);
  self->send(app, caf::ok_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), frames);
  // An event before the first frame only updates what it will show.
  caf::anon_send(conn, watch_event{"u2", false});
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), frames);
  self->send(app, caf::ok_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(link->last_text(),
                  pusher::encode_watchlist_events({}, {"u2", "u3"}));
}

CAF_TEST(the own id in the watchlist is online without a channel) {
  start();
  sign_in(R"({"id":"u1","watchlist":["u1","u2"]})");
  CAF_CHECK_EQUAL(joins_of("#watchlist-u1").size(), 1u); // the silent one
  CAF_CHECK(joins_of("#watchlist-u1")[0].silent);
  CAF_CHECK_EQUAL(link->last_text(),
                  pusher::encode_watchlist_events({"u1"}, {"u2"}));
}

CAF_TEST(a watched channel that cannot be joined counts as offline) {
  start();
  app_seen().answer = join_answer::hold;
  app_seen().members["#watchlist-u2"] = 1;
  sign_in(R"({"id":"u1","watchlist":["u2"]})");
  self->send(app, caf::ok_atom::value); // own channel
  sched.run();
  app_seen().answer = join_answer::fail;
  // The held join of u2 times out.
  advance_time(std::chrono::seconds(15));
  sched.run();
  CAF_CHECK_EQUAL(link->last_text(),
                  pusher::encode_watchlist_events({}, {"u2"}));
}

CAF_TEST(a watchlist over the limit keeps the first ids and gets 4302) {
  ctx->app.max_watchlist_size = 2;
  start();
  sign_in(R"({"id":"u1","watchlist":["a","b","c"]})");
  auto texts = link->texts();
  CAF_REQUIRE_GREATER_OR_EQUAL(texts.size(), 3u);
  CAF_CHECK(contains(texts[2], R"("code":4302)"));
  CAF_CHECK_EQUAL(joins_of("#watchlist-a").size(), 1u);
  CAF_CHECK_EQUAL(joins_of("#watchlist-b").size(), 1u);
  CAF_CHECK(joins_of("#watchlist-c").empty());
  CAF_CHECK(link->closes().empty());
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

CAF_TEST(a sign-in counts as authorized for the timeout) {
  ctx->app.user_authentication_timeout_s = 30;
  start();
  sign_in(R"({"id":"u1"})");
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
