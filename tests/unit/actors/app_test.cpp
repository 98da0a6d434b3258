// Unit tests for actors/app: admission (socket ids, 4003, 4004), routing of
// joins to channels, and the idle protocol that stops channels and owners
// only when no join is on its way.
#define CAF_SUITE actors_app
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "actors/app.hpp"

#include <regex>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_session_link.hpp"
#include "pusher/frame.hpp"

using namespace starling;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

/// A connection that subscribes through the app on command and records the
/// answers.
struct fake_connection_state {
  static inline const char* name = "fake_connection";
  std::vector<caf::actor> joined;
  std::vector<caf::error> errors;
};

using fake_connection_actor = caf::stateful_actor<fake_connection_state>;

caf::behavior fake_connection(fake_connection_actor* self, caf::actor app) {
  return {
    [=](caf::join_atom, channel_join& join) {
      self
        ->request(app, caf::infinite, caf::subscribe_atom::value,
                  std::move(join))
        .then(
          [=](caf::ok_atom, caf::actor chan) {
            self->state.joined.push_back(std::move(chan));
          },
          [=](caf::error& err) {
            self->state.errors.push_back(std::move(err));
          });
    },
  };
}

/// Returns the socket id inside a connection_established frame, or "".
std::string socket_id_of(const std::string& frame) {
  std::smatch m;
  std::regex re{R"re(\\"socket_id\\":\\"([^\\"]*)\\")re"};
  if (!std::regex_search(frame, m, re))
    return {};
  return m[1].str();
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  caf::actor app;

  void start() {
    app = spawn_tracked(app_behavior, app_context_ptr{ctx});
    sched.run();
  }

  app_state& app_st() {
    return deref<caf::stateful_actor<app_state>>(app).state;
  }

  /// Opens a WebSocket on the app, as the node hands it over.
  void open(const fake_link_ptr& link) {
    caf::anon_send(app, ws_opened{ctx->app.key, "protocol=7", link});
    run();
  }

  caf::actor connection() {
    auto result = spawn_tracked(fake_connection, app);
    sched.run();
    return result;
  }

  fake_connection_state& conn_seen(const caf::actor& conn) {
    return deref<fake_connection_actor>(conn).state;
  }

  channel_join join_of(const std::string& channel, const std::string& socket_id,
                       const fake_link_ptr& link) {
    channel_join result;
    result.channel = channel;
    result.socket_id = socket_id;
    result.link = link;
    return result;
  }

  caf::actor channel_actor(const std::string& name) {
    auto i = app_st().channels.find(name);
    CAF_REQUIRE(i != app_st().channels.end());
    return i->second.actor;
  }

  /// Returns (connections, channels, owners).
  std::tuple<uint64_t, uint64_t, uint64_t> stats() {
    return request<uint64_t, uint64_t, uint64_t>(app, stats_atom::value);
  }

  uint64_t connection_count() {
    return std::get<0>(stats());
  }

  uint64_t channel_count() {
    return std::get<1>(stats());
  }

  uint64_t owner_count() {
    return std::get<2>(stats());
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(app_tests, fixture)

// -- admission ----------------------------------------------------------------

CAF_TEST(an admitted connection gets a fresh socket id like 123.456) {
  start();
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  open(l1);
  open(l2);
  CAF_REQUIRE_EQUAL(l1->frame_count(), 1u);
  CAF_REQUIRE_EQUAL(l2->frame_count(), 1u);
  auto first = l1->texts()[0];
  auto id1 = socket_id_of(first);
  auto id2 = socket_id_of(l2->texts()[0]);
  std::regex form{R"(\d+\.\d+)"};
  CAF_CHECK(std::regex_match(id1, form));
  CAF_CHECK(std::regex_match(id2, form));
  CAF_CHECK_NOT_EQUAL(id1, id2);
  CAF_CHECK_EQUAL(id1, "4711.1");
  CAF_CHECK_EQUAL(first,
                  pusher::encode_connection_established(id1, 120));
  CAF_CHECK_EQUAL(connection_count(), 2u);
}

CAF_TEST(a disabled app refuses with 4003) {
  ctx->app.enabled = false;
  start();
  auto link = make_fake_link();
  open(link);
  CAF_CHECK_EQUAL(link->frame_count(), 0u);
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4003);
  CAF_REQUIRE(closes[0].final_frame != nullptr);
  CAF_CHECK_EQUAL(*closes[0].final_frame,
                  pusher::encode_error(4003, "Application is disabled"));
  CAF_CHECK_EQUAL(connection_count(), 0u);
}

CAF_TEST(max_connections refuses with 4004 until a connection closes) {
  ctx->app.limits.max_connections = 1;
  start();
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  auto l3 = make_fake_link();
  open(l1);
  open(l2);
  CAF_CHECK(l1->closes().empty());
  auto closes = l2->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4004);
  CAF_REQUIRE(closes[0].final_frame != nullptr);
  CAF_CHECK(closes[0].final_frame->find("\"code\":4004")
            != std::string::npos);
  CAF_CHECK_EQUAL(l2->frame_count(), 0u);
  // The first socket closes: its connection ends and frees the slot.
  auto conn = l1->bound();
  CAF_REQUIRE(conn != nullptr);
  caf::anon_send(conn, ws_closed_atom::value);
  conn = nullptr;
  run();
  CAF_CHECK_EQUAL(connection_count(), 0u);
  open(l3);
  CAF_CHECK(l3->closes().empty());
  CAF_CHECK_EQUAL(l3->frame_count(), 1u);
}

// -- routing and the idle protocol --------------------------------------------

CAF_TEST(a subscribe spawns the channel and its owner once) {
  start();
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  auto c1 = connection();
  auto c2 = connection();
  self->send(c1, caf::join_atom::value, join_of("room", "1.1", l1));
  self->send(c2, caf::join_atom::value, join_of("room", "1.2", l2));
  run();
  CAF_REQUIRE_EQUAL(conn_seen(c1).joined.size(), 1u);
  CAF_REQUIRE_EQUAL(conn_seen(c2).joined.size(), 1u);
  CAF_CHECK(conn_seen(c1).joined[0] == conn_seen(c2).joined[0]);
  CAF_CHECK_EQUAL(l1->texts(), std::vector<std::string>(
                                 {pusher::encode_subscription_succeeded("room",
                                                                       "{}")}));
  auto [connections, channels, owners] = stats();
  CAF_CHECK_EQUAL(connections, 0u);
  CAF_CHECK_EQUAL(channels, 1u);
  CAF_CHECK_EQUAL(owners, 1u);
}

CAF_TEST(a published event reaches subscribers through the owner) {
  start();
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  self->send(connection(), caf::join_atom::value, join_of("room", "1.1", l1));
  self->send(connection(), caf::join_atom::value, join_of("room", "1.2", l2));
  run();
  l1->clear_frames();
  l2->clear_frames();
  caf::anon_send(app, publish_request{ctx->app.id, {"room", "empty-room"},
                                      "news", "hello", "1.2"});
  run();
  CAF_CHECK_EQUAL(l1->texts(), std::vector<std::string>({pusher::encode_event(
                                 "news", "room", "hello",
                                 pusher::data_format::as_string)}));
  CAF_CHECK_EQUAL(l2->frame_count(), 0u);
  // Nobody can be subscribed to "empty-room": no owner was spawned for it.
  CAF_CHECK_EQUAL(owner_count(), 1u);
}

CAF_TEST(the last leave stops the channel and its owner) {
  start();
  auto conn = connection();
  self->send(conn, caf::join_atom::value,
             join_of("room", "1.1", make_fake_link()));
  run();
  auto chan = channel_actor("room");
  self->monitor(chan);
  self->send_exit(conn, caf::exit_reason::user_shutdown);
  run();
  auto [down] = pop_self<caf::down_msg>();
  CAF_CHECK(down.source == chan.address());
  auto [connections, channels, owners] = stats();
  CAF_CHECK_EQUAL(channels, 0u);
  CAF_CHECK_EQUAL(owners, 0u);
}

CAF_TEST(a channel idle report that raced a join does not stop the channel) {
  start();
  auto a = connection();
  auto b = connection();
  auto la = make_fake_link();
  auto lb = make_fake_link();
  self->send(a, caf::join_atom::value, join_of("room", "1.1", la));
  run();
  auto chan = channel_actor("room");
  // b's subscribe is on its way to the app...
  self->send(b, caf::join_atom::value, join_of("room", "1.2", lb));
  expect((caf::join_atom, channel_join), from(self).to(b));
  // ...when a's connection ends and the channel reports itself idle.
  self->send_exit(a, caf::exit_reason::user_shutdown);
  expect((caf::exit_msg), from(_).to(a));
  expect((caf::down_msg), from(_).to(chan));
  expect((caf::subscribe_atom, channel_join), from(b).to(app));
  expect((channel_idle), from(chan).to(app));
  run();
  // The channel lives on and b is subscribed.
  CAF_CHECK(channel_actor("room") == chan);
  CAF_REQUIRE_EQUAL(conn_seen(b).joined.size(), 1u);
  CAF_CHECK(conn_seen(b).joined[0] == chan);
  CAF_CHECK_EQUAL(lb->texts(), std::vector<std::string>(
                                 {pusher::encode_subscription_succeeded("room",
                                                                       "{}")}));
  CAF_CHECK_EQUAL(channel_count(), 1u);
  // Events still reach b.
  lb->clear_frames();
  caf::anon_send(app, publish_request{ctx->app.id, {"room"}, "news", "x", ""});
  run();
  CAF_CHECK_EQUAL(lb->frame_count(), 1u);
  // Once b leaves too, the join counts match and both actors stop.
  self->monitor(chan);
  self->send_exit(b, caf::exit_reason::user_shutdown);
  run();
  auto [down] = pop_self<caf::down_msg>();
  CAF_CHECK(down.source == chan.address());
  auto [connections, channels, owners] = stats();
  CAF_CHECK_EQUAL(channels, 0u);
  CAF_CHECK_EQUAL(owners, 0u);
}

CAF_TEST(a crashed channel is forgotten and the next subscribe respawns it) {
  start();
  auto c1 = connection();
  self->send(c1, caf::join_atom::value,
             join_of("room", "1.1", make_fake_link()));
  run();
  auto old_chan = channel_actor("room");
  caf::anon_send(old_chan, crash_atom::value);
  run();
  CAF_CHECK(app_st().channels.count("room") == 0);
  auto c2 = connection();
  auto l2 = make_fake_link();
  self->send(c2, caf::join_atom::value, join_of("room", "1.2", l2));
  run();
  CAF_REQUIRE_EQUAL(conn_seen(c2).joined.size(), 1u);
  CAF_CHECK(conn_seen(c2).joined[0] != old_chan);
  CAF_CHECK_EQUAL(l2->frame_count(), 1u);
}

CAF_TEST(a crashed channel leaves no ghost subscribers at the owner) {
  start();
  auto c1 = connection();
  auto join = join_of("presence-room", "1.1", make_fake_link());
  join.presence = true;
  join.user_id = "u1";
  self->send(c1, caf::join_atom::value, join);
  run();
  auto owner = app_st().owners.at("presence-room").actor;
  caf::anon_send(channel_actor("presence-room"), crash_atom::value);
  run();
  // The subscriber's connection ends after its channel crashed.
  self->send_exit(c1, caf::exit_reason::user_shutdown);
  run();
  // Nobody is subscribed any more: after the re-join grace, u1 is no
  // presence member, the owner has nothing left and the app stopped it.
  CAF_CHECK_EQUAL(app_st().owners.count("presence-room"), 0u);
  CAF_CHECK(owner->getf(caf::abstract_actor::is_terminated_flag));
}

CAF_TEST_FIXTURE_SCOPE_END()
