// Unit tests for actors/channel: joins through a fake owner, frames on fake
// links, one encode per delivered event, and leave/idle bookkeeping when a
// subscriber unsubscribes or its connection actor ends.
#define CAF_SUITE actors_channel
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "actors/channel.hpp"

#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_session_link.hpp"
#include "pusher/frame.hpp"

using namespace starling;
using namespace std::chrono_literals;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

/// The owner side: answers joins with `reply`, or holds them until
/// `(ok_atom)`; records everything else.
struct fake_owner_state {
  static inline const char* name = "fake_owner";
  owner_joined reply;
  bool hold = false;
  std::deque<caf::response_promise> held;
  std::vector<owner_join> joins;
  std::vector<owner_leave> leaves;
  std::vector<client_event> client_events;
};

using fake_owner_actor = caf::stateful_actor<fake_owner_state>;

caf::behavior fake_owner(fake_owner_actor* self) {
  self->state.reply.data_json = "{}";
  return {
    [=](caf::join_atom, owner_join& join) -> caf::result<owner_joined> {
      self->state.joins.push_back(join);
      if (self->state.hold) {
        self->state.held.push_back(self->make_response_promise());
        return caf::delegated<owner_joined>{};
      }
      return self->state.reply;
    },
    [=](caf::leave_atom, owner_leave& leave) {
      self->state.leaves.push_back(std::move(leave));
    },
    [=](client_event_atom, client_event& ev) {
      self->state.client_events.push_back(std::move(ev));
    },
    [=](caf::ok_atom) {
      // Answers the oldest held join with `reply`.
      auto& st = self->state;
      if (st.held.empty())
        return;
      st.held.front().deliver(st.reply);
      st.held.pop_front();
    },
  };
}

/// The app side: records channel_idle reports.
struct fake_app_state {
  static inline const char* name = "fake_app";
  std::vector<channel_idle> idle;
};

using fake_app_actor = caf::stateful_actor<fake_app_state>;

caf::behavior fake_app(fake_app_actor* self) {
  return {
    [=](const channel_idle& idle) { self->state.idle.push_back(idle); },
  };
}

/// A connection: joins, leaves and sends client events on command and
/// records the channel's answers.
struct fake_connection_state {
  static inline const char* name = "fake_connection";
  std::vector<caf::actor> joined;
  std::vector<caf::error> errors;
};

using fake_connection_actor = caf::stateful_actor<fake_connection_state>;

caf::behavior fake_connection(fake_connection_actor* self, caf::actor channel) {
  return {
    [=](caf::join_atom, channel_join& join) {
      self
        ->request(channel, caf::infinite, caf::join_atom::value,
                  std::move(join))
        .then(
          [=](caf::ok_atom, caf::actor chan) {
            self->state.joined.push_back(std::move(chan));
          },
          [=](caf::error& err) {
            self->state.errors.push_back(std::move(err));
          });
    },
    [=](caf::leave_atom) { self->send(channel, caf::leave_atom::value); },
    [=](client_event_atom, client_event& ev) {
      self->send(channel, client_event_atom::value, std::move(ev));
    },
  };
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  caf::actor app;
  caf::actor owner;
  caf::actor chan;

  fixture() {
    app = spawn_tracked(fake_app);
    owner = spawn_tracked(fake_owner);
    sched.run();
  }

  void start(const std::string& channel) {
    chan = spawn_tracked(channel_behavior, channel, app_context_ptr{ctx}, app,
                         owner);
    sched.run();
  }

  fake_owner_state& owner_seen() {
    return deref<fake_owner_actor>(owner).state;
  }

  std::vector<channel_idle>& idle_reports() {
    return deref<fake_app_actor>(app).state.idle;
  }

  fake_connection_state& conn_seen(const caf::actor& conn) {
    return deref<fake_connection_actor>(conn).state;
  }

  caf::actor connection() {
    auto result = spawn_tracked(fake_connection, chan);
    sched.run();
    return result;
  }

  channel_join join_of(const std::string& channel, const std::string& socket_id,
                       const fake_link_ptr& link) {
    channel_join result;
    result.channel = channel;
    result.socket_id = socket_id;
    result.link = link;
    return result;
  }

  /// Runs one join through channel and owner, message by message.
  void subscribe(const caf::actor& conn, channel_join join) {
    sched.run();
    self->send(conn, caf::join_atom::value, std::move(join));
    expect((caf::join_atom, channel_join), from(self).to(conn));
    expect((caf::join_atom, channel_join), from(conn).to(chan));
    expect((caf::join_atom, owner_join), from(chan).to(owner));
    expect((owner_joined), from(owner).to(chan));
  }

  /// Like subscribe(), plus the channel's ok reply to the connection.
  void subscribe_ok(const caf::actor& conn, channel_join join) {
    subscribe(conn, std::move(join));
    expect((caf::ok_atom, caf::actor), from(chan).to(conn));
    CAF_REQUIRE_EQUAL(conn_seen(conn).joined.size(), 1u);
    CAF_CHECK(conn_seen(conn).joined.front() == chan);
  }

  /// Terminates `conn` as a closed socket would and processes the
  /// channel's down_msg.
  void terminate(const caf::actor& conn) {
    sched.run();
    self->send_exit(conn, caf::exit_reason::user_shutdown);
    expect((caf::exit_msg), from(_).to(conn));
    expect((caf::down_msg), from(_).to(chan));
  }

  std::tuple<uint64_t, uint64_t> stats() {
    return request<uint64_t, uint64_t>(chan, stats_atom::value);
  }

  uint64_t subscriber_count() {
    return std::get<0>(stats());
  }

  uint64_t delivered_count() {
    return std::get<1>(stats());
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(channel_tests, fixture)

// -- joins --------------------------------------------------------------------

CAF_TEST(a join asks the owner and sends subscription_succeeded) {
  start("room");
  auto link = make_fake_link();
  auto conn = connection();
  subscribe_ok(conn, join_of("room", "1.1", link));
  CAF_CHECK_EQUAL(link->texts(),
                  std::vector<std::string>(
                    {pusher::encode_subscription_succeeded("room", "{}")}));
  auto& joins = owner_seen().joins;
  CAF_REQUIRE_EQUAL(joins.size(), 1u);
  CAF_CHECK_EQUAL(joins[0].node, "node-a");
  CAF_CHECK_EQUAL(joins[0].socket_id, "1.1");
  CAF_CHECK(!joins[0].presence);
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
}

CAF_TEST(a presence join passes the member to the owner and its data on) {
  start("presence-room");
  auto data = pusher::encode_presence_data({{"u1", R"({"name":"Ann"})"}});
  owner_seen().reply.data_json = data;
  auto link = make_fake_link();
  auto conn = connection();
  auto join = join_of("presence-room", "1.1", link);
  join.presence = true;
  join.user_id = "u1";
  join.user_info = R"({"name":"Ann"})";
  subscribe_ok(conn, join);
  auto& joins = owner_seen().joins;
  CAF_REQUIRE_EQUAL(joins.size(), 1u);
  CAF_CHECK(joins[0].presence);
  CAF_CHECK_EQUAL(joins[0].user_id, "u1");
  CAF_CHECK_EQUAL(joins[0].user_info, R"({"name":"Ann"})");
  CAF_CHECK_EQUAL(link->texts(),
                  std::vector<std::string>(
                    {pusher::encode_subscription_succeeded("presence-room",
                                                          data)}));
}

CAF_TEST(a cache hit follows subscription_succeeded) {
  start("cache-news");
  auto& reply = owner_seen().reply;
  reply.cache_channel = true;
  reply.cache_hit = true;
  reply.cache_event = "headline";
  reply.cache_data = R"({"title":"x"})";
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("cache-news", "1.1", link));
  CAF_CHECK_EQUAL(
    link->texts(),
    std::vector<std::string>(
      {pusher::encode_subscription_succeeded("cache-news", "{}"),
       pusher::encode_event("headline", "cache-news", R"({"title":"x"})",
                           pusher::data_format::as_string)}));
}

CAF_TEST(a cache miss follows subscription_succeeded) {
  start("cache-news");
  owner_seen().reply.cache_channel = true;
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("cache-news", "1.1", link));
  CAF_CHECK_EQUAL(link->texts(),
                  std::vector<std::string>(
                    {pusher::encode_subscription_succeeded("cache-news", "{}"),
                     pusher::encode_cache_miss("cache-news")}));
}

CAF_TEST(an owner refusal sends subscription_error and replies an error) {
  start("presence-room");
  auto& reply = owner_seen().reply;
  reply.ok = false;
  reply.status = 4100;
  reply.error_type = "LimitReached";
  reply.error = "presence channel is full (100 members)";
  auto link = make_fake_link();
  auto conn = connection();
  subscribe(conn, join_of("presence-room", "1.1", link));
  expect((caf::error), from(chan).to(conn));
  CAF_REQUIRE_EQUAL(conn_seen(conn).errors.size(), 1u);
  CAF_CHECK(conn_seen(conn).errors[0] == errc::subscription_refused);
  CAF_CHECK(conn_seen(conn).joined.empty());
  CAF_CHECK_EQUAL(link->texts(),
                  std::vector<std::string>({pusher::encode_subscription_error(
                    "presence-room", "LimitReached",
                    "presence channel is full (100 members)", 4100)}));
  // Nobody is subscribed: the channel reports itself idle, and no leave
  // is due for a join the owner refused.
  expect((channel_idle), from(chan).to(app));
  CAF_REQUIRE_EQUAL(idle_reports().size(), 1u);
  CAF_CHECK_EQUAL(idle_reports()[0].channel, "presence-room");
  CAF_CHECK_EQUAL(idle_reports()[0].joins, 1u);
  run();
  CAF_CHECK(owner_seen().leaves.empty());
  CAF_CHECK_EQUAL(subscriber_count(), 0u);
}

CAF_TEST(an owner that does not answer in 10 s gives ServerError 503) {
  start("room");
  owner_seen().hold = true;
  auto link = make_fake_link();
  auto conn = connection();
  self->send(conn, caf::join_atom::value, join_of("room", "1.1", link));
  sched.run();
  CAF_CHECK_EQUAL(owner_seen().held.size(), 1u);
  CAF_CHECK_EQUAL(link->frame_count(), 0u);
  advance_time(10s);
  sched.run();
  CAF_CHECK_EQUAL(link->texts(), std::vector<std::string>(
                                   {pusher::encode_subscription_error(
                                     "room", "ServerError",
                                     "channel owner unavailable", 503)}));
  CAF_CHECK_EQUAL(conn_seen(conn).errors.size(), 1u);
  CAF_CHECK_EQUAL(idle_reports().size(), 1u);
}

// -- delivery -----------------------------------------------------------------

CAF_TEST(an event is encoded once and shared by all but the excluded) {
  start("room");
  std::vector<fake_link_ptr> links;
  for (auto id : {"1.1", "1.2", "1.3"}) {
    links.push_back(make_fake_link());
    subscribe_ok(connection(), join_of("room", id, links.back()));
  }
  for (auto& link : links)
    link->clear_frames();
  channel_event ev;
  ev.seq = 1;
  ev.event = "news";
  ev.data = "hello";
  ev.exclude = "1.2";
  self->send(chan, deliver_atom::value, ev);
  expect((deliver_atom, channel_event), from(self).to(chan));
  auto f1 = links[0]->frames();
  auto f2 = links[1]->frames();
  auto f3 = links[2]->frames();
  CAF_REQUIRE_EQUAL(f1.size(), 1u);
  CAF_CHECK_EQUAL(f2.size(), 0u);
  CAF_REQUIRE_EQUAL(f3.size(), 1u);
  CAF_CHECK_EQUAL(*f1[0], pusher::encode_event("news", "room", "hello",
                                              pusher::data_format::as_string));
  // One buffer for the whole node, not one copy per subscriber...
  CAF_CHECK(f1[0].get() == f3[0].get());
  // ...handed to the transport in one batch.
  size_t batches = 0;
  for (auto& link : links)
    batches += link->batch_count();
  CAF_CHECK_EQUAL(batches, 1u);
  CAF_CHECK_EQUAL(delivered_count(), 2u);
}

CAF_TEST(an event after a gap waits for the missing one or 50 ms) {
  start("room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  link->clear_frames();
  auto ev = [](uint64_t seq) {
    channel_event result;
    result.seq = seq;
    result.event = "n" + std::to_string(seq);
    result.data = "x";
    result.origin = "node-b";
    return result;
  };
  for (uint64_t seq : {10u, 12u, 13u})
    self->send(chan, deliver_atom::value, ev(seq));
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 1u); // 12 and 13 wait for 11
  self->send(chan, deliver_atom::value, ev(11));
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 4u); // 11, 12, 13 in order
  // A stale number is dropped; a gap that never fills waits 50 ms at most.
  self->send(chan, deliver_atom::value, ev(12));
  self->send(chan, deliver_atom::value, ev(20));
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 4u);
  advance_time(std::chrono::milliseconds(50));
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 5u);
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 5u);
  CAF_CHECK(texts[1].find("\"n11\"") != std::string::npos);
  CAF_CHECK(texts[3].find("\"n13\"") != std::string::npos);
  CAF_CHECK(texts[4].find("\"n20\"") != std::string::npos);
}

CAF_TEST(an event without exclusion reaches every subscriber) {
  start("room");
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", l1));
  subscribe_ok(connection(), join_of("room", "1.2", l2));
  l1->clear_frames();
  l2->clear_frames();
  channel_event ev;
  ev.event = "news";
  ev.data = "x";
  self->send(chan, deliver_atom::value, ev);
  run();
  CAF_CHECK_EQUAL(l1->frame_count(), 1u);
  CAF_CHECK_EQUAL(l2->frame_count(), 1u);
}

CAF_TEST(a relayed client event keeps raw JSON data and the user id) {
  start("presence-room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("presence-room", "1.1", link));
  link->clear_frames();
  channel_event ev;
  ev.event = "client-typing";
  ev.data = R"({"on":true})";
  ev.data_is_json = true;
  ev.user_id = "u2";
  ev.exclude = "1.2";
  self->send(chan, deliver_atom::value, ev);
  run();
  CAF_CHECK_EQUAL(link->texts(),
                  std::vector<std::string>({pusher::encode_event(
                    "client-typing", "presence-room", R"({"on":true})",
                    pusher::data_format::as_json, "u2")}));
}

CAF_TEST(client events from a subscriber go to the owner) {
  start("private-room");
  auto conn = connection();
  subscribe_ok(conn, join_of("private-room", "1.1", make_fake_link()));
  self->send(conn, client_event_atom::value,
             client_event{"client-a", "{}", "1.1", ""});
  expect((client_event_atom, client_event), from(self).to(conn));
  expect((client_event_atom, client_event), from(conn).to(chan));
  expect((client_event_atom, client_event), from(chan).to(owner));
  CAF_REQUIRE_EQUAL(owner_seen().client_events.size(), 1u);
  CAF_CHECK_EQUAL(owner_seen().client_events[0].event, "client-a");
  CAF_CHECK_EQUAL(owner_seen().client_events[0].socket_id, "1.1");
}

// -- leaving ------------------------------------------------------------------

CAF_TEST(a terminated connection is removed and reported to the owner) {
  start("room");
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  auto c1 = connection();
  auto c2 = connection();
  subscribe_ok(c1, join_of("room", "1.1", l1));
  subscribe_ok(c2, join_of("room", "1.2", l2));
  terminate(c1);
  expect((caf::leave_atom, owner_leave), from(chan).to(owner));
  auto& leaves = owner_seen().leaves;
  CAF_REQUIRE_EQUAL(leaves.size(), 1u);
  CAF_CHECK_EQUAL(leaves[0].node, "node-a");
  CAF_CHECK_EQUAL(leaves[0].socket_id, "1.1");
  CAF_CHECK(!leaves[0].presence);
  // Someone is left: no idle report.
  disallow((channel_idle), from(chan).to(app));
  run();
  CAF_CHECK(idle_reports().empty());
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
  l1->clear_frames();
  l2->clear_frames();
  channel_event ev;
  ev.event = "after";
  self->send(chan, deliver_atom::value, ev);
  run();
  CAF_CHECK_EQUAL(l1->frame_count(), 0u);
  CAF_CHECK_EQUAL(l2->frame_count(), 1u);
}

CAF_TEST(a presence leave carries the user id) {
  start("presence-room");
  auto conn = connection();
  auto join = join_of("presence-room", "1.1", make_fake_link());
  join.presence = true;
  join.user_id = "u1";
  subscribe_ok(conn, join);
  terminate(conn);
  expect((caf::leave_atom, owner_leave), from(chan).to(owner));
  auto& leaves = owner_seen().leaves;
  CAF_REQUIRE_EQUAL(leaves.size(), 1u);
  CAF_CHECK(leaves[0].presence);
  CAF_CHECK_EQUAL(leaves[0].user_id, "u1");
}

CAF_TEST(the last leave reports channel_idle with the join count) {
  start("room");
  auto c1 = connection();
  auto c2 = connection();
  subscribe_ok(c1, join_of("room", "1.1", make_fake_link()));
  subscribe_ok(c2, join_of("room", "1.2", make_fake_link()));
  terminate(c1);
  expect((caf::leave_atom, owner_leave), from(chan).to(owner));
  terminate(c2);
  expect((caf::leave_atom, owner_leave), from(chan).to(owner));
  expect((channel_idle), from(chan).to(app));
  CAF_REQUIRE_EQUAL(idle_reports().size(), 1u);
  CAF_CHECK_EQUAL(idle_reports()[0].channel, "room");
  CAF_CHECK_EQUAL(idle_reports()[0].joins, 2u);
}

CAF_TEST(an unsubscribe removes the subscriber exactly once) {
  start("room");
  auto conn = connection();
  subscribe_ok(conn, join_of("room", "1.1", make_fake_link()));
  self->send(conn, caf::leave_atom::value);
  expect((caf::leave_atom), from(self).to(conn));
  expect((caf::leave_atom), from(conn).to(chan));
  expect((caf::leave_atom, owner_leave), from(chan).to(owner));
  expect((channel_idle), from(chan).to(app));
  // The connection ending later must not produce a second leave.
  self->send_exit(conn, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(owner_seen().leaves.size(), 1u);
  CAF_CHECK_EQUAL(idle_reports().size(), 1u);
}

CAF_TEST(a connection that ends while its join is pending still leaves) {
  start("room");
  owner_seen().hold = true;
  auto link = make_fake_link();
  auto conn = connection();
  self->send(conn, caf::join_atom::value, join_of("room", "1.1", link));
  sched.run();
  CAF_REQUIRE_EQUAL(owner_seen().held.size(), 1u);
  self->send_exit(conn, caf::exit_reason::user_shutdown);
  sched.run();
  // The owner accepts after the connection is gone.
  self->send(owner, caf::ok_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(owner_seen().leaves.size(), 1u);
  CAF_CHECK_EQUAL(idle_reports().size(), 1u);
  CAF_CHECK_EQUAL(subscriber_count(), 0u);
}

CAF_TEST(stop ends the channel) {
  start("room");
  self->monitor(chan);
  self->send(chan, stop_atom::value);
  run();
  auto [down] = pop_self<caf::down_msg>();
  CAF_CHECK(down.source == chan.address());
}

CAF_TEST_FIXTURE_SCOPE_END()
