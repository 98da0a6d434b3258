// Unit tests for actors/app: admission (socket ids, 4003, 4004), routing of
// joins to channels (spawned once, stopped when idle unless a join raced
// the report, respawned after a crash), the HTTP API through the owner
// directory, signed-in users and terminate_connections, fault injection,
// and the app's end when its owner directory ends.
#define CAF_SUITE actors_app
#include "tests/support/actor_fixture.hpp"

#include "actors/app.hpp"

#include <regex>
#include <string>
#include <vector>

#include "actors/channel.hpp"
#include "actors/channel_owner.hpp"
#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "actors/owner_directory.hpp"
#include "pusher/frame.hpp"
#include "pusher/signature.hpp"
#include "tests/support/fake_session_link.hpp"
#include "tests/support/probes.hpp"

using namespace starling;
using namespace std::chrono_literals;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

using strings = std::vector<std::string>;

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
  app_actor app;

  void start() {
    app = spawn_tracked(app_behavior, app_context_ptr{ctx});
    sched.run();
  }

  app_state& app_st() {
    return state_of<app_state>(app);
  }

  directory_state& dir_st() {
    return state_of<directory_state>(app_st().directory);
  }

  /// Opens a WebSocket on the app, as the transport hands it over.
  void open(const fake_link_ptr& link) {
    caf::anon_send(app, ws_opened{"protocol=7", link});
    sched.run();
  }

  caf::actor connection() {
    auto result = spawn_tracked(test::fake_connection,
                                caf::actor_cast<caf::actor>(app));
    sched.run();
    return result;
  }

  test::fake_connection_state& conn_seen(const caf::actor& conn) {
    return state_of<test::fake_connection_state>(conn);
  }

  channel_join join_of(const std::string& channel, const std::string& socket_id,
                       const fake_link_ptr& link) {
    channel_join result;
    result.channel = channel;
    result.socket_id = socket_id;
    result.link = link;
    link->set_socket_id(socket_id); // As the connection actor does.
    return result;
  }

  channel_actor channel_of(const std::string& name) {
    auto i = app_st().channels.find(name);
    CAF_REQUIRE(i != app_st().channels.end());
    return i->second.actor;
  }

  owner_actor owner_of(const std::string& name) {
    auto i = dir_st().owners.find(name);
    CAF_REQUIRE(i != dir_st().owners.end());
    return i->second;
  }

  app_stats stats() {
    return ask<app_stats>(app, stats_atom::value);
  }

  /// Signs the connection of `link` in as `user` with a valid signature.
  void sign_in(const fake_link_ptr& link, const std::string& socket_id,
               const std::string& user) {
    auto user_data = R"({"id":")" + user + R"("})";
    auto auth = ctx->app.key + ":"
                + pusher::hmac_sha256_hex(ctx->app.secret,
                                          socket_id + "::user::" + user_data);
    auto frame = "{\"event\":\"pusher:signin\",\"data\":{\"auth\":"
                 + pusher::json_quote(auth) + ",\"user_data\":"
                 + pusher::json_quote(user_data) + "}}";
    caf::anon_send(link->bound(), ws_frame_atom::value, frame, false);
    sched.run();
    CAF_REQUIRE_EQUAL(link->last_text(),
                      pusher::encode_signin_success(user_data));
  }
};

} // namespace

// -- admission ----------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(app_admission, fixture)

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
  CAF_CHECK_EQUAL(first, pusher::encode_connection_established(id1, 120));
  CAF_CHECK_EQUAL(stats().connections, 2u);
  // The session is bound to its connection actor.
  CAF_CHECK(l1->bound() != nullptr);
  CAF_CHECK(app_st().by_socket.count(*pusher::parse_socket_id(id2)) == 1);
  CAF_CHECK(l2->id() == *pusher::parse_socket_id(id2));
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
  CAF_CHECK_EQUAL(stats().connections, 0u);
  CAF_CHECK_EQUAL(ctx->counters->refused_connections.load(), 1u);
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
  CAF_CHECK(closes[0].final_frame->find("\"code\":4004") != std::string::npos);
  CAF_CHECK_EQUAL(l2->frame_count(), 0u);
  // The first socket closes: its connection ends and frees the slot.
  auto conn = l1->bound();
  CAF_REQUIRE(conn != nullptr);
  caf::anon_send(conn, ws_closed_atom::value);
  conn = nullptr;
  sched.run();
  CAF_CHECK_EQUAL(stats().connections, 0u);
  open(l3);
  CAF_CHECK(l3->closes().empty());
  CAF_CHECK_EQUAL(l3->frame_count(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- routing and the idle protocol --------------------------------------------

CAF_TEST_FIXTURE_SCOPE(app_routing, fixture)

CAF_TEST(a join spawns the channel and its owner once) {
  start();
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  auto c1 = connection();
  auto c2 = connection();
  self->send(c1, join_of("room", "1.1", l1));
  self->send(c2, join_of("room", "1.2", l2));
  sched.run();
  CAF_REQUIRE_EQUAL(conn_seen(c1).joined.size(), 1u);
  CAF_REQUIRE_EQUAL(conn_seen(c2).joined.size(), 1u);
  CAF_CHECK(conn_seen(c1).joined[0].channel == conn_seen(c2).joined[0].channel);
  CAF_CHECK(conn_seen(c1).joined[0].channel == channel_of("room"));
  CAF_CHECK_EQUAL(l1->texts(), strings({pusher::encode_subscription_succeeded(
                                 "room", "{}")}));
  auto s = stats();
  CAF_CHECK_EQUAL(s.connections, 0u);
  CAF_CHECK_EQUAL(s.channels, 1u);
  CAF_CHECK_EQUAL(s.owners, 1u);
  CAF_CHECK_EQUAL(app_st().channels.at("room").joins, 2u);
}

CAF_TEST(a published event reaches subscribers through the owner) {
  start();
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  self->send(connection(), join_of("room", "1.1", l1));
  self->send(connection(), join_of("room", "1.2", l2));
  sched.run();
  l1->clear_frames();
  l2->clear_frames();
  CAF_CHECK(ask<caf::ok_atom>(app, publish_request{ctx->app.id,
                                                   {"room", "empty-room"},
                                                   "news", "hello", "1.2"})
            == caf::ok_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(l1->texts(), strings({pusher::encode_event(
                                 "news", "room", "hello",
                                 pusher::data_format::as_string)}));
  CAF_CHECK_EQUAL(l2->frame_count(), 0u);
  // Nobody can be subscribed to "empty-room": no owner was spawned for it.
  CAF_CHECK_EQUAL(stats().owners, 1u);
  // The HTTP API queries go through the directory to the owner.
  auto report = ask<channel_report>(app, channel_request{"app-1", "room"});
  CAF_CHECK(report.occupied);
  CAF_CHECK_EQUAL(report.subscription_count, 2u);
  auto list = ask<std::vector<channel_report>>(
    app, channels_request{"app-1", "", false});
  CAF_REQUIRE_EQUAL(list.size(), 1u);
  CAF_CHECK_EQUAL(list[0].name, "room");
}

CAF_TEST(the last leave stops the channel and its owner) {
  start();
  auto conn = connection();
  self->send(conn, join_of("room", "1.1", make_fake_link()));
  sched.run();
  auto chan = channel_of("room");
  auto owner = owner_of("room");
  self->monitor(chan);
  self->send_exit(conn, caf::exit_reason::user_shutdown);
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.source == chan.address());
  CAF_CHECK(!down.reason);
  CAF_CHECK(terminated(owner));
  auto s = stats();
  CAF_CHECK_EQUAL(s.channels, 0u);
  CAF_CHECK_EQUAL(s.owners, 0u);
}

CAF_TEST(a channel idle report that raced a join does not stop the channel) {
  start();
  auto a = connection();
  auto b = connection();
  auto la = make_fake_link();
  auto lb = make_fake_link();
  self->send(a, join_of("room", "1.1", la));
  sched.run();
  auto chan = channel_of("room");
  // b's join is on its way to the app...
  self->send(b, join_of("room", "1.2", lb));
  expect((channel_join), from(self).to(b));
  // ...when a's connection ends and the channel reports itself idle.
  self->send_exit(a, caf::exit_reason::user_shutdown);
  expect((caf::exit_msg), from(_).to(a));
  expect((caf::down_msg), from(_).to(chan));
  expect((channel_join), from(b).to(app));
  expect((channel_idle), from(chan).to(app));
  sched.run();
  // The channel lives on and b is subscribed.
  CAF_CHECK(channel_of("room") == chan);
  CAF_CHECK(!terminated(chan));
  CAF_REQUIRE_EQUAL(conn_seen(b).joined.size(), 1u);
  CAF_CHECK(conn_seen(b).joined[0].channel == chan);
  CAF_CHECK(conn_seen(b).errors.empty());
  CAF_CHECK_EQUAL(lb->texts(), strings({pusher::encode_subscription_succeeded(
                                 "room", "{}")}));
  CAF_CHECK_EQUAL(stats().channels, 1u);
  // Events still reach b.
  lb->clear_frames();
  ask<caf::ok_atom>(app,
                    publish_request{ctx->app.id, {"room"}, "news", "x", ""});
  sched.run();
  CAF_CHECK_EQUAL(lb->frame_count(), 1u);
  // Once b leaves too, the join counts match and both actors stop.
  self->monitor(chan);
  self->send_exit(b, caf::exit_reason::user_shutdown);
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.source == chan.address());
  auto s = stats();
  CAF_CHECK_EQUAL(s.channels, 0u);
  CAF_CHECK_EQUAL(s.owners, 0u);
}

CAF_TEST(a join racing the end of an idle owner finds a fresh owner) {
  start();
  auto a = connection();
  auto la = make_fake_link();
  self->send(a, join_of("room", "1.1", la));
  sched.run();
  auto chan = channel_of("room");
  auto owner = owner_of("room");
  auto* first_part = state_of<channel_state>(chan).owner_part.get();
  auto b = connection();
  auto lb = make_fake_link();
  // a leaves, and b's join passes the app before the channel saw a leave.
  self->send(a, caf::unsubscribe_atom::value);
  expect((caf::unsubscribe_atom), from(self).to(a));
  self->send(b, join_of("room", "1.2", lb));
  expect((channel_join), from(self).to(b));
  expect((channel_join), from(b).to(app));
  // The channel tells the owner a left, which ends it once idle; b's join
  // reaches the owner after that.
  expect((caf::unsubscribe_atom), from(a).to(chan));
  expect((channel_join), from(b).to(chan));
  expect((owner_leave), from(chan).to(owner));
  sched.run();
  // The channel hosts its owner: the owner part ended, the channel went on
  // and hosts a fresh one.
  CAF_CHECK(owner.address() == chan.address());
  CAF_CHECK(!terminated(chan));
  CAF_CHECK(state_of<channel_state>(chan).owner_part.get() != first_part);
  CAF_CHECK(conn_seen(b).errors.empty());
  CAF_REQUIRE_EQUAL(conn_seen(b).joined.size(), 1u);
  CAF_CHECK_EQUAL(lb->texts(), strings({pusher::encode_subscription_succeeded(
                                 "room", "{}")}));
  CAF_CHECK(owner_of("room").address() == chan.address());
  lb->clear_frames();
  ask<caf::ok_atom>(app,
                    publish_request{ctx->app.id, {"room"}, "news", "x", ""});
  sched.run();
  CAF_CHECK_EQUAL(lb->frame_count(), 1u);
}

CAF_TEST(a crashed channel is forgotten and the next join respawns it) {
  start();
  auto c1 = connection();
  self->send(c1, join_of("room", "1.1", make_fake_link()));
  sched.run();
  auto old_chan = channel_of("room");
  caf::anon_send(old_chan, crash_atom::value);
  sched.run();
  CAF_CHECK(app_st().channels.count("room") == 0);
  CAF_CHECK(terminated(old_chan));
  auto c2 = connection();
  auto l2 = make_fake_link();
  self->send(c2, join_of("room", "1.2", l2));
  sched.run();
  CAF_REQUIRE_EQUAL(conn_seen(c2).joined.size(), 1u);
  CAF_CHECK(conn_seen(c2).joined[0].channel != old_chan);
  CAF_CHECK_EQUAL(l2->frame_count(), 1u);
}

// A channel that ends without its exception handler (an exit) cannot say
// channel_crashed: the app finds it by its exit's address.
CAF_TEST(a channel ended without a word is forgotten too) {
  start();
  auto c1 = connection();
  self->send(c1, join_of("room", "1.1", make_fake_link()));
  auto c0 = connection();
  self->send(c0, join_of("other", "1.3", make_fake_link()));
  sched.run();
  auto old_chan = channel_of("room");
  auto other = channel_of("other");
  caf::anon_send_exit(old_chan, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK(app_st().channels.count("room") == 0);
  CAF_CHECK(channel_of("other") == other);
  CAF_CHECK(!terminated(app));
  auto c2 = connection();
  self->send(c2, join_of("room", "1.2", make_fake_link()));
  sched.run();
  CAF_REQUIRE_EQUAL(conn_seen(c2).joined.size(), 1u);
  CAF_CHECK(conn_seen(c2).joined[0].channel != old_chan);
}

CAF_TEST(an owner killed with the channel that hosts it is forgotten) {
  start();
  self->send(connection(), join_of("room", "1.1", make_fake_link()));
  sched.run();
  auto chan = channel_of("room");
  CAF_REQUIRE(owner_of("room").address() == chan.address());
  // No word from either part: the app's watch finds the channel, and the
  // directory (which does not watch a hosted owner) learns it from the app.
  caf::anon_send_exit(chan, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK(terminated(chan));
  CAF_CHECK_EQUAL(dir_st().owners.count("room"), 0u);
  CAF_CHECK_EQUAL(stats().owners, 0u);
  // The next join gets a fresh channel hosting a fresh owner.
  self->send(connection(), join_of("room", "1.2", make_fake_link()));
  sched.run();
  CAF_CHECK(channel_of("room") != chan);
  CAF_CHECK(owner_of("room").address() == channel_of("room").address());
}

CAF_TEST(a crashed channel leaves no ghost subscribers at the owner) {
  start();
  // An owner in an actor of its own (made before the channel, which then
  // does not host it).
  auto owner = ask<owner_actor>(app_st().directory,
                               owner_request{"presence-room"});
  auto c1 = connection();
  auto join = join_of("presence-room", "1.1", make_fake_link());
  join.member = true;
  join.user_id = "u1";
  self->send(c1, join);
  sched.run();
  CAF_REQUIRE(owner_of("presence-room") == owner);
  CAF_REQUIRE(owner.address() != channel_of("presence-room").address());
  caf::anon_send(channel_of("presence-room"), crash_atom::value);
  sched.run();
  // The subscriber's connection ends after its channel crashed.
  self->send_exit(c1, caf::exit_reason::user_shutdown);
  sched.run();
  // Nobody is subscribed any more: after the re-join grace, u1 is no
  // presence member; once nobody came back for the events numbered since
  // the crash (10 s), the owner has nothing left and ends itself.
  CAF_CHECK(!terminated(owner));
  advance_time(2s);
  sched.run();
  CAF_CHECK(!terminated(owner));
  CAF_CHECK_EQUAL(ask<std::vector<std::string>>(owner, users_atom::value),
                  std::vector<std::string>{});
  advance_time(8s);
  sched.run();
  CAF_CHECK(terminated(owner));
  CAF_CHECK_EQUAL(dir_st().owners.count("presence-room"), 0u);
  CAF_CHECK_EQUAL(stats().owners, 0u);
}

CAF_TEST(peer calls go to the owner directory) {
  start();
  auto owner = ask<owner_actor>(app, local_owner_request{"app-1", "room"});
  CAF_REQUIRE(owner);
  CAF_CHECK(owner == owner_of("room"));
  CAF_CHECK(ask<caf::ok_atom>(app, caf::leave_atom::value)
            == caf::ok_atom::value);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- users, faults and the app's end ------------------------------------------

CAF_TEST_FIXTURE_SCOPE(app_users, fixture)

CAF_TEST(terminate_connections closes the signed-in connections of a user) {
  start();
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  auto l3 = make_fake_link();
  open(l1);
  open(l2);
  open(l3);
  sign_in(l1, "4711.1", "u1");
  sign_in(l2, "4711.2", "u1");
  sign_in(l3, "4711.3", "u2");
  CAF_CHECK_EQUAL(app_st().users.users(), 2u);
  CAF_CHECK_EQUAL(app_st().users.connections_of("u1").size(), 2u);
  CAF_CHECK(ask<caf::ok_atom>(app, terminate_request{"app-1", "u1", false})
            == caf::ok_atom::value);
  sched.run();
  for (auto& link : {l1, l2}) {
    auto closes = link->closes();
    CAF_REQUIRE_EQUAL(closes.size(), 1u);
    CAF_CHECK_EQUAL(closes[0].code, 4009);
    CAF_REQUIRE(closes[0].final_frame != nullptr);
    CAF_CHECK(closes[0].final_frame->find("You got disconnected by the app.")
              != std::string::npos);
  }
  CAF_CHECK(l3->closes().empty());
  // Alone, no peer is asked.
  CAF_CHECK(app_st().bridge == nullptr);
}

CAF_TEST(a connection that ends is signed out) {
  start();
  auto link = make_fake_link();
  open(link);
  sign_in(link, "4711.1", "u1");
  CAF_CHECK_EQUAL(app_st().users.users(), 1u);
  caf::anon_send(link->bound(), ws_closed_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(app_st().users.users(), 0u);
  CAF_CHECK_EQUAL(stats().connections, 0u);
  // A sign-in from something that is no connection of this app, or not
  // the one of that socket id, is ignored.
  CAF_CHECK(ask<caf::ok_atom>(app, user_signed_in{"u9", {4711, 1}})
            == caf::ok_atom::value);
  open(make_fake_link()); // 4711.2
  sched.run();
  CAF_CHECK(ask<caf::ok_atom>(app, user_signed_in{"u9", {4711, 2}})
            == caf::ok_atom::value);
  CAF_CHECK_EQUAL(app_st().users.users(), 0u);
}

CAF_TEST(in a cluster terminate_connections asks the peers too) {
  start();
  auto peer = spawn_tracked(test::fake_node, caf::actor{});
  auto bridge = spawn_tracked(test::fake_bridge,
                              cluster_member{"node-a", "127.0.0.1", 1, 1});
  sched.run();
  auto& bs = state_of<test::fake_bridge_state>(bridge);
  bs.view.members.push_back(cluster_member{"node-b", "127.0.0.1", 2, 1});
  bs.peers = {peer};
  self->send(app,
             cluster_changed{bs.view, caf::actor_cast<cluster_actor>(bridge)});
  sched.run();
  CAF_CHECK_EQUAL(app_st().view.members.size(), 2u);
  ask<caf::ok_atom>(app, terminate_request{"app-1", "u1", false});
  sched.run();
  auto& asked = state_of<test::fake_node_state>(peer).terminates;
  CAF_REQUIRE_EQUAL(asked.size(), 1u);
  CAF_CHECK_EQUAL(asked[0].user_id, "u1");
  CAF_CHECK(asked[0].local_only);
  // A peer's own question is answered locally only.
  ask<caf::ok_atom>(app, terminate_request{"app-1", "u1", true});
  sched.run();
  CAF_CHECK_EQUAL(asked.size(), 1u);
}

CAF_TEST(the topology lists connections channels owners and users) {
  start();
  auto link = make_fake_link();
  open(link);
  sign_in(link, "4711.1", "u1");
  self->send(connection(), join_of("room", "1.9", make_fake_link()));
  sched.run();
  auto json = ask<std::string>(app, topology_request{});
  CAF_MESSAGE(json);
  CAF_CHECK(json.find(R"("id":"app-1")") != std::string::npos);
  CAF_CHECK(json.find(R"("connections":1)") != std::string::npos);
  CAF_CHECK(json.find(R"("signed_in_users":1)") != std::string::npos);
  CAF_CHECK(json.find(R"("room")") != std::string::npos);
  // The sign-in joined the user's watchlist channel (internal, but local).
  CAF_CHECK(json.find(R"("#watchlist-u1")") != std::string::npos);
  CAF_CHECK(json.find(R"("status":"running")") != std::string::npos);
}

CAF_TEST(fault injection crashes the named actor) {
  start();
  auto link = make_fake_link();
  open(link);
  self->send(connection(), join_of("room", "1.1", make_fake_link()));
  sched.run();
  auto chan = channel_of("room");
  auto owner = owner_of("room");
  auto conn = link->bound();
  auto crash = [&](const std::string& kind, const std::string& name) {
    return ask_error<caf::ok_atom>(app, crash_request{"app-1", kind, name});
  };
  // The channel hosts its owner: they end together, and a join (as the
  // subscriber's re-join) spawns the channel's replacement, which hosts a
  // rebuilt owner.
  CAF_CHECK(owner.address() == chan.address());
  CAF_CHECK(!crash("owner", "room"));
  sched.run();
  CAF_CHECK(terminated(owner));
  CAF_CHECK(terminated(chan));
  self->send(connection(), join_of("room", "1.2", make_fake_link()));
  sched.run();
  auto chan2 = channel_of("room");
  CAF_CHECK(chan2 != chan);
  CAF_CHECK(!crash("channel", "room"));
  CAF_CHECK(!crash("connection", "4711.1"));
  sched.run();
  CAF_CHECK(terminated(chan2));
  CAF_CHECK(terminated(conn));
  // A crashed connection tells its client to reconnect.
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4200);
  // Its exit does not end the app, and it is forgotten (connection_ended).
  CAF_CHECK_EQUAL(stats().connections, 0u);
  CAF_CHECK(app_st().by_socket.empty());
  CAF_CHECK(crash("connection", "4711.1") == errc::unknown_app);
  CAF_CHECK(crash("channel", "nope") == errc::unknown_app);
  CAF_CHECK(crash("webhooks", "") == errc::unknown_app);
  CAF_CHECK(crash("logic", "gate") == errc::not_available);
  CAF_CHECK(!terminated(app));
  // The app itself throws; its node restarts it.
  self->monitor(app);
  caf::anon_send(app, crash_request{"app-1", "app", ""});
  sched.run();
  CAF_CHECK(pop_down().reason);
}

// Children are not linked to the app (app_children): a failing app still
// ends them, with its reason, as a link would.
CAF_TEST(a failing app ends its connections and channels) {
  start();
  auto link = make_fake_link();
  open(link);
  auto conn = link->bound();
  self->send(connection(), join_of("room", "1.1", make_fake_link()));
  sched.run();
  auto chan = channel_of("room");
  CAF_REQUIRE(!terminated(conn));
  CAF_REQUIRE(!terminated(chan));
  self->monitor(app);
  caf::anon_send(app, crash_request{"app-1", "app", ""});
  sched.run();
  CAF_CHECK(pop_down().reason);
  CAF_CHECK(terminated(conn));
  CAF_CHECK(terminated(chan));
  // The connection's client is told to come back (4200).
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4200);
}

CAF_TEST(an ended owner directory ends the app) {
  start();
  auto link = make_fake_link();
  open(link);
  self->monitor(app);
  caf::anon_send_exit(app_st().directory, caf::exit_reason::user_shutdown);
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.source == app.address());
  CAF_CHECK(down.reason);
  // Its connections went with it and told their clients to reconnect.
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4200);
}

// Owners are not linked to their directory (directory_children): a failing
// directory ends them as a link would, and an owner that ends without a
// word (killed: no handler runs, no owner_ended) is still forgotten.
CAF_TEST(a failing directory ends its owners) {
  start();
  self->send(connection(), join_of("room", "1.1", make_fake_link()));
  sched.run();
  auto owner = owner_of("room");
  caf::anon_send_exit(app_st().directory, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK(terminated(owner));
}

CAF_TEST(an owner killed without a word is forgotten) {
  start();
  // A cache channel's owner lives on without subscribers (it holds the
  // event), so nothing but the directory's watch notices its end.
  ask<caf::ok_atom>(app, publish_request{ctx->app.id, {"cache-room"}, "news",
                                         "x", ""});
  sched.run();
  auto owner = owner_of("cache-room");
  caf::anon_send_exit(owner, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK(terminated(owner));
  CAF_CHECK(!terminated(app_st().directory));
  CAF_CHECK_EQUAL(dir_st().owners.count("cache-room"), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
