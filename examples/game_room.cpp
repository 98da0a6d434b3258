// Example logic "game_room" (game_room.hpp).
#include "game_room.hpp"

#include <memory>

#include <nlohmann/json.hpp>

namespace starling::examples {

namespace {

using json = nlohmann::json;

// Where the coin goes after (x, y) was taken: a fixed walk over the board,
// so a room's course does not depend on a random seed.
int next_coin(int v, int mul, int add) {
  return (v * mul + add) % game_board::size;
}

bool on_board(int v) {
  return v >= 0 && v < game_board::size;
}

} // namespace

void game_board::join(const std::string& id) {
  if (players_.emplace(id, player{}).second)
    ++version_;
}

void game_board::leave(const std::string& id) {
  if (players_.erase(id) > 0)
    ++version_;
}

std::string game_board::move(const std::string& id, const std::string& data) {
  auto m = json::parse(data, nullptr, false);
  if (!m.is_object() || !m.contains("dx") || !m.contains("dy")
      || !m["dx"].is_number_integer() || !m["dy"].is_number_integer())
    return "a move is {\"dx\":d,\"dy\":d} with integers";
  auto dx = m["dx"].get<int64_t>();
  auto dy = m["dy"].get<int64_t>();
  if (dx < -1 || dx > 1 || dy < -1 || dy > 1 || (dx == 0 && dy == 0))
    return "one square at a time";
  join(id);
  auto& p = players_[id];
  auto x = p.x + static_cast<int>(dx);
  auto y = p.y + static_cast<int>(dy);
  if (!on_board(x) || !on_board(y))
    return "off the board";
  p.x = x;
  p.y = y;
  if (x == coin_x_ && y == coin_y_) {
    ++p.score;
    coin_x_ = next_coin(coin_x_, 3, 7);
    coin_y_ = next_coin(coin_y_, 7, 3);
  }
  ++moves_;
  ++version_;
  return {};
}

std::string game_board::to_json() const {
  json players = json::object();
  for (auto& [id, p] : players_)
    players[id] = {{"x", p.x}, {"y", p.y}, {"score", p.score}};
  return json{{"players", players},
              {"coin", {{"x", coin_x_}, {"y", coin_y_}}},
              {"moves", moves_}}
    .dump();
}

std::optional<game_board> game_board::from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  try {
    game_board b;
    for (auto& [id, p] : j.at("players").items())
      b.players_[id] = player{p.at("x").get<int>(), p.at("y").get<int>(),
                              p.at("score").get<uint64_t>()};
    b.coin_x_ = j.at("coin").at("x").get<int>();
    b.coin_y_ = j.at("coin").at("y").get<int>();
    b.moves_ = j.at("moves").get<uint64_t>();
    for (auto& [id, p] : b.players_)
      if (!on_board(p.x) || !on_board(p.y))
        return std::nullopt;
    if (!on_board(b.coin_x_) || !on_board(b.coin_y_))
      return std::nullopt;
    return b;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

game_room_actor::behavior_type game_room(game_room_actor::pointer self,
                                         logic_handle handle) {
  struct room {
    game_board board;
    uint64_t sent = 0; // Version last broadcast.
  };
  auto r = std::make_shared<room>();
  // The pending timer holds the actor; the runtime ends it with its owner.
  self->delayed_send(self, game_tick, game_tick_atom::value);
  return {
    [r](logic_client_event_atom, const std::string&, const client_event& ev) {
      if (ev.event != "client-move")
        return client_event_verdict::pass();
      auto who = ev.user_id.empty() ? ev.socket_id : ev.user_id;
      auto refused = r->board.move(who, ev.data);
      if (refused.empty())
        return client_event_verdict::drop(); // The tick tells everyone.
      return client_event_verdict::drop().answer(
        "game-refused", json{{"reason", refused}}.dump());
    },
    [r](logic_member_atom, const member_change& m) {
      if (m.added)
        r->board.join(m.user_id);
      else
        r->board.leave(m.user_id);
    },
    [r](logic_snapshot_atom) { return r->board.to_json(); },
    [r](logic_restore_atom, const std::string& snapshot) {
      // A damaged snapshot starts a fresh board rather than a crash loop.
      if (auto b = game_board::from_json(snapshot))
        r->board = std::move(*b);
      r->sent = r->board.version(); // Clients saw this state already.
    },
    [self, r, handle](game_tick_atom) {
      if (r->board.version() != r->sent) {
        r->sent = r->board.version();
        handle.publish(handle.channel, "game-state", r->board.to_json());
      }
      self->delayed_send(self, game_tick, game_tick_atom::value);
    },
  };
}

} // namespace starling::examples
