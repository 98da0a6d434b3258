// Unit tests for the example "game_room" logic (examples/game_room.cpp):
// the board's rules (moves, refusals, the coin, its JSON and a damaged
// snapshot), and the actor: moves are dropped and refused moves answered,
// its snapshot restores a fresh instance, members join and leave, and the
// tick publishes only what changed. Also the "counter" example.
#define CAF_SUITE examples_game_room
#include "tests/support/actor_fixture.hpp"

#include "counter.hpp"
#include "game_room.hpp"
#include "actors/messages.hpp"

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

using namespace starling;
using namespace starling::examples;
using json = nlohmann::json;

namespace {

client_event move(const std::string& user, int dx, int dy) {
  client_event ev;
  ev.event = "client-move";
  ev.data = json{{"dx", dx}, {"dy", dy}}.dump();
  ev.socket_id = "1.1";
  ev.user_id = user;
  return ev;
}

json board_json(const game_board& b) {
  return json::parse(b.to_json());
}

struct fixture : test::actor_fixture {
  logic_handle handle;

  fixture() {
    handle.actor_name = "game_room";
    handle.app_id = "app-1";
    handle.channel = "presence-game-1";
  }

  game_room_actor spawn_room() {
    auto room = sys.spawn(game_room, handle);
    track(room);
    sched.run(); // Jobs only: its tick re-arms forever.
    return room;
  }

  template <class T, class... Ts>
  T ask_room(const game_room_actor& room, Ts... xs) {
    auto rh = self->request(room, caf::infinite, std::move(xs)...);
    sched.run();
    T result{};
    rh.receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    return result;
  }
};

} // namespace

CAF_TEST(moves go one square at a time and stay on the board) {
  game_board b;
  CAF_CHECK_EQUAL(b.move("alice", R"({"dx":1,"dy":1})"), "");
  CAF_CHECK_EQUAL(b.players().at("alice").x, 1);
  CAF_CHECK_EQUAL(b.players().at("alice").y, 1);
  CAF_CHECK_EQUAL(b.move("alice", R"({"dx":2,"dy":0})"), "one square at a time");
  CAF_CHECK_EQUAL(b.move("alice", R"({"dx":0,"dy":0})"), "one square at a time");
  CAF_CHECK_EQUAL(b.move("bob", R"({"dx":-1,"dy":0})"), "off the board");
  CAF_CHECK_EQUAL(b.move("bob", R"({"dx":"1","dy":0})"),
                  "a move is {\"dx\":d,\"dy\":d} with integers");
  CAF_CHECK_EQUAL(b.move("bob", "not json"),
                  "a move is {\"dx\":d,\"dy\":d} with integers");
  // Refused moves change nothing but bob's joining.
  auto j = board_json(b); // Held: the check macros keep references.
  CAF_CHECK_EQUAL(j["moves"], 1);
  CAF_CHECK_EQUAL(j["players"]["alice"],
                  json({{"x", 1}, {"y", 1}, {"score", 0}}));
}

CAF_TEST(the coin scores and jumps) {
  game_board b;
  for (int i = 0; i < 5; ++i)
    CAF_CHECK_EQUAL(b.move("alice", R"({"dx":1,"dy":1})"), "");
  auto j = board_json(b);
  CAF_CHECK_EQUAL(j["players"]["alice"]["score"], 1);
  CAF_CHECK_EQUAL(j["coin"], json({{"x", 2}, {"y", 8}}));
  CAF_CHECK_EQUAL(j["moves"], 5);
}

CAF_TEST(a board round-trips through its JSON and damaged ones are refused) {
  game_board b;
  b.join("bob");
  b.move("alice", R"({"dx":0,"dy":1})");
  auto copy = game_board::from_json(b.to_json());
  CAF_REQUIRE(copy.has_value());
  CAF_CHECK_EQUAL(copy->to_json(), b.to_json());
  CAF_CHECK(!game_board::from_json("").has_value());
  CAF_CHECK(!game_board::from_json(R"({"players":{}})").has_value());
  CAF_CHECK(!game_board::from_json(
               R"({"players":{"a":{"x":11,"y":0,"score":0}},"coin":{"x":1,"y":1},"moves":0})")
               .has_value());
}

CAF_TEST_FIXTURE_SCOPE(game_room_actor_tests, fixture)

CAF_TEST(moves are dropped and refused ones answered to the sender) {
  auto room = spawn_room();
  auto ok = ask_room<client_event_verdict>(room, logic_client_event_atom::value,
                                           handle.channel, move("alice", 1, 0));
  CAF_CHECK(ok.action == event_action::drop);
  CAF_CHECK(ok.answer_event.empty());
  auto bad = ask_room<client_event_verdict>(room, logic_client_event_atom::value,
                                            handle.channel, move("alice", 0, 3));
  CAF_CHECK(bad.action == event_action::drop);
  CAF_CHECK_EQUAL(bad.answer_event, "game-refused");
  CAF_CHECK_EQUAL(json::parse(bad.answer_data),
                  json({{"reason", "one square at a time"}}));
  client_event chat;
  chat.event = "client-chat";
  chat.data = "{}";
  auto pass = ask_room<client_event_verdict>(room, logic_client_event_atom::value,
                                             handle.channel, chat);
  CAF_CHECK(pass.action == event_action::pass);
}

CAF_TEST(a fresh room restored from a snapshot goes on from it) {
  auto room = spawn_room();
  self->send(room, logic_member_atom::value,
             member_change{handle.channel, "bob", true});
  for (int i = 0; i < 3; ++i)
    ask_room<client_event_verdict>(room, logic_client_event_atom::value,
                                   handle.channel, move("alice", 1, 1));
  auto snapshot = ask_room<std::string>(room, logic_snapshot_atom::value);
  auto fresh = spawn_room();
  self->send(fresh, logic_restore_atom::value, snapshot);
  ask_room<client_event_verdict>(fresh, logic_client_event_atom::value,
                                 handle.channel, move("alice", 1, 1));
  auto j = json::parse(ask_room<std::string>(fresh, logic_snapshot_atom::value));
  CAF_CHECK_EQUAL(j["players"]["alice"],
                  json({{"x", 4}, {"y", 4}, {"score", 0}}));
  CAF_CHECK_EQUAL(j["players"]["bob"], json({{"x", 0}, {"y", 0}, {"score", 0}}));
  CAF_CHECK_EQUAL(j["moves"], 4);
  // A member who leaves leaves the board.
  self->send(fresh, logic_member_atom::value,
             member_change{handle.channel, "bob", false});
  j = json::parse(ask_room<std::string>(fresh, logic_snapshot_atom::value));
  CAF_CHECK(!j["players"].contains("bob"));
  // A damaged snapshot: a fresh board, no crash.
  auto third = spawn_room();
  self->send(third, logic_restore_atom::value, std::string{"{broken"});
  j = json::parse(ask_room<std::string>(third, logic_snapshot_atom::value));
  CAF_CHECK_EQUAL(j["moves"], 0);
  CAF_CHECK(!terminated(third));
}

CAF_TEST(the tick publishes the board when it changed) {
  auto published = std::make_shared<std::vector<publish_request>>();
  auto app = sys.spawn([published](caf::event_based_actor*) -> caf::behavior {
    return {[published](publish_request& r) { published->push_back(r); }};
  });
  track(app);
  handle.app = caf::actor_cast<app_actor>(app);
  auto room = spawn_room();
  ask_room<client_event_verdict>(room, logic_client_event_atom::value,
                                 handle.channel, move("alice", 0, 1));
  sched.trigger_timeouts();
  sched.run();
  CAF_REQUIRE_EQUAL(published->size(), 1u);
  CAF_CHECK_EQUAL(published->front().event, "game-state");
  CAF_CHECK_EQUAL(published->front().channels,
                  std::vector<std::string>({handle.channel}));
  auto state = json::parse(published->front().data);
  CAF_CHECK_EQUAL(state["players"]["alice"],
                  json({{"x", 0}, {"y", 1}, {"score", 0}}));
  // Nothing changed since: the next ticks stay quiet.
  sched.trigger_timeouts();
  sched.run();
  sched.trigger_timeouts();
  sched.run();
  CAF_CHECK_EQUAL(published->size(), 1u);
}

CAF_TEST(the counter numbers events and goes on from its snapshot) {
  auto c = sys.spawn(counter, handle);
  track(c);
  sched.run();
  client_event ev;
  ev.event = "client-n";
  ev.data = "{}";
  for (int i = 1; i <= 2; ++i) {
    auto rh = self->request(c, caf::infinite, logic_client_event_atom::value,
                            handle.channel, ev);
    sched.run();
    rh.receive(
      [&](client_event_verdict& v) {
        CAF_CHECK(v.action == event_action::rewrite);
        CAF_CHECK_EQUAL(v.data, "{\"count\":" + std::to_string(i) + "}");
      },
      [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  }
  auto fresh = sys.spawn(counter, handle);
  track(fresh);
  self->send(fresh, logic_restore_atom::value, std::string{"41"});
  sched.run();
  auto rh = self->request(fresh, caf::infinite, logic_client_event_atom::value,
                          handle.channel, ev);
  sched.run();
  rh.receive(
    [&](client_event_verdict& v) { CAF_CHECK_EQUAL(v.data, "{\"count\":42}"); },
    [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
}

CAF_TEST_FIXTURE_SCOPE_END()
