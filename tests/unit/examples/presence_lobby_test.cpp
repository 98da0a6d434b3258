// Unit tests for the presence lobby example (examples/presence_lobby): the
// seating (rooms filled in order, freed seats taken first), the gate's
// verdict from a seat channel's last event, and the two actors through a
// real app: joining presence-lobby seats the member and caches the seat on
// its seat channel; room_gate admits the member to that room only.
#define CAF_SUITE examples_presence_lobby
#include "tests/support/actor_fixture.hpp"

#include "presence_lobby.hpp"

#include <memory>
#include <string>

#include "actors/app.hpp"
#include "actors/errors.hpp"
#include "actors/logic_bindings.hpp"
#include "actors/messages.hpp"
#include "tests/support/fake_session_link.hpp"
#include "tests/support/probes.hpp"

using namespace starling;
using namespace starling::examples;

namespace {

channel_report seat(std::string event, std::string data) {
  channel_report r;
  r.cache_hit = true;
  r.cache_event = std::move(event);
  r.cache_data = std::move(data);
  return r;
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  app_actor app;
  int sockets = 0;

  fixture() {
    logic_registry registry;
    registry.add("lobby", lobby).add("room_gate", room_gate);
    config::logic_binding_settings l;
    l.actor = "lobby";
    l.channels = "presence-lobby";
    config::logic_binding_settings g;
    g.actor = "room_gate";
    g.channels = "presence-room-*";
    g.timeout_ms = 2000;
    ctx->app.logic = {l, g};
    ctx->logic = make_logic_table(ctx->app, registry);
    app = spawn_tracked(app_behavior, app_context_ptr{ctx});
    run();
  }

  /// Joins `channel` as presence member `user`; returns the fake
  /// connection (its joined / errors tell the outcome).
  caf::actor join(const std::string& channel, const std::string& user) {
    auto conn = spawn_tracked(test::fake_connection,
                              caf::actor_cast<caf::actor>(app));
    channel_join j;
    j.channel = channel;
    j.socket_id = "1." + std::to_string(++sockets);
    j.link = test::make_fake_link();
    // As the connection actor does.
    j.link->set_socket_id(*pusher::parse_socket_id(j.socket_id));
    j.member = true;
    j.user_id = user;
    self->send(conn, std::move(j));
    // No timers: run() would fire the seat cache's expiry at once.
    sched.run();
    return conn;
  }

  bool admitted(const caf::actor& conn) {
    auto& st = state_of<test::fake_connection_state>(conn);
    return st.joined.size() == 1 && st.errors.empty();
  }

  channel_report seat_of(const std::string& user) {
    return ask<channel_report>(app,
                               channel_request{ctx->app.id, seat_channel(user)});
  }
};

} // namespace

CAF_TEST(rooms fill in order and a freed seat is taken first) {
  lobby_seating s{2};
  CAF_CHECK_EQUAL(s.seat("a"), 1u);
  CAF_CHECK_EQUAL(s.seat("b"), 1u);
  CAF_CHECK_EQUAL(s.seat("c"), 2u);
  CAF_CHECK_EQUAL(s.seat("a"), 1u); // Seated already: same room.
  CAF_CHECK_EQUAL(s.occupants(1), 2u);
  CAF_CHECK_EQUAL(s.leave("b"), std::optional<std::size_t>{1});
  CAF_CHECK(!s.leave("b"));
  CAF_CHECK(!s.room_of("b"));
  CAF_CHECK_EQUAL(s.seat("d"), 1u);
  CAF_CHECK_EQUAL(s.seat("e"), 2u);
  CAF_CHECK_EQUAL(s.seat("f"), 3u);
  CAF_CHECK_EQUAL(s.occupants(2), 2u);
  CAF_CHECK_EQUAL(s.occupants(9), 0u);
}

CAF_TEST(the seating survives its snapshot and damaged ones start empty) {
  lobby_seating s{2};
  s.seat("a");
  s.seat("b");
  s.seat("c");
  s.leave("a");
  CAF_CHECK_EQUAL(s.encode(), R"({"b":1,"c":2})");
  lobby_seating back{2};
  back.decode(s.encode());
  CAF_CHECK_EQUAL(back.room_of("c"), std::optional<std::size_t>{2});
  CAF_CHECK_EQUAL(back.occupants(1), 1u);
  CAF_CHECK_EQUAL(back.seat("d"), 1u); // a's free seat, as before.
  CAF_CHECK_EQUAL(back.seat("e"), 2u);
  for (auto bad : {"", "[1]", R"({"x":0})", R"({"x":"1"})", "{"}) {
    lobby_seating damaged{2};
    damaged.decode(bad);
    CAF_CHECK_EQUAL(damaged.encode(), "{}");
    CAF_CHECK_EQUAL(damaged.seat("z"), 1u);
  }
}

CAF_TEST(the gate admits a user to the room of its seat only) {
  auto mine = seat("room-assigned", R"({"room":"presence-room-2"})");
  CAF_CHECK(room_verdict("presence-room-2", "ann", mine).allow);
  auto other = room_verdict("presence-room-1", "ann", mine);
  CAF_CHECK(!other.allow);
  CAF_CHECK_EQUAL(other.status, 403);
  CAF_CHECK(!room_verdict("presence-room-2", "ann",
                          seat("room-released", R"({"room":null})"))
               .allow);
  CAF_CHECK(!room_verdict("presence-room-2", "ann", channel_report{}).allow);
  CAF_CHECK(!room_verdict("presence-room-2", "", mine).allow);
  CAF_CHECK(!room_verdict("presence-room-2", "ann", seat("room-assigned", "{"))
               .allow);
}

CAF_TEST_FIXTURE_SCOPE(presence_lobby_tests, fixture)

CAF_TEST(joining the lobby seats members and the gate follows the seats) {
  join("presence-lobby", "ann");
  join("presence-lobby", "bob");
  join("presence-lobby", "cid");
  auto s = seat_of("cid");
  CAF_CHECK(s.cache_hit);
  CAF_CHECK_EQUAL(s.cache_event, "room-assigned");
  CAF_CHECK_EQUAL(s.cache_data, R"({"room":"presence-room-2"})");
  CAF_CHECK_EQUAL(seat_of("ann").cache_data, R"({"room":"presence-room-1"})");
  CAF_CHECK(admitted(join("presence-room-1", "ann")));
  CAF_CHECK(admitted(join("presence-room-2", "cid")));
  CAF_CHECK(!admitted(join("presence-room-1", "cid")));
  // Nobody seated: refused.
  CAF_CHECK(!admitted(join("presence-room-1", "zed")));
}

CAF_TEST_FIXTURE_SCOPE_END()
