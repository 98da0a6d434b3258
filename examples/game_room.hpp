// Example logic "game_room": authoritative game state per channel, moves
// validated by the server, the state broadcast on a fixed tick, and kept
// across crashes and owner moves (snapshot_hook / restore_hook).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <caf/all.hpp>

#include "actors/logic.hpp"

namespace starling::examples {

/// The state of one room: players on a 10x10 board and a coin. A player
/// who steps on the coin scores and the coin jumps elsewhere.
class game_board {
public:
  static constexpr int size = 10; ///< Squares per side.

  /// One player's square and score.
  struct player {
    int x = 0;
    int y = 0;
    uint64_t score = 0;
  };

  /// `id` joins on the start square (0,0); no change when already in.
  void join(const std::string& id);

  /// `id` leaves the board.
  void leave(const std::string& id);

  /// Moves `id` (joining first if needed) by the move in `data`, JSON
  /// {"dx":d,"dy":d} with d in -1..1, one square at most. Returns why the
  /// move is refused (nothing changes), or an empty string.
  std::string move(const std::string& id, const std::string& data);

  /// Returns the state as JSON text (what is broadcast and snapshotted):
  /// {"coin":{"x":..,"y":..},"moves":N,"players":{id:{"score","x","y"}}}.
  std::string to_json() const;

  /// Parses to_json() text; nothing when it is not a board.
  static std::optional<game_board> from_json(const std::string& text);

  /// Bumped by every change (the tick broadcasts when it moved).
  uint64_t version() const { return version_; }

  /// Returns the players by id.
  const std::map<std::string, player>& players() const { return players_; }

private:
  std::map<std::string, player> players_;
  int coin_x_ = 5;
  int coin_y_ = 5;
  uint64_t moves_ = 0;   // Accepted moves.
  uint64_t version_ = 0; // Not part of the state: counts changes here.
};

/// Game tick (its own message).
using game_tick_atom = caf::atom_constant<caf::atom("ex_gtick")>;

/// How often the room broadcasts its state (when it changed).
constexpr auto game_tick = std::chrono::milliseconds(100);

/// "game_room", bound to presence channels: `client-move` events
/// ({"dx":..,"dy":..}) from members are validated and applied to the board,
/// never relayed (the board is the truth); a refused move is answered to
/// its sender alone with `game-refused` {"reason":..}. Members join on
/// member_added and leave on member_removed. Every 100 ms, if anything
/// changed, it publishes `game-state` with the board on its channel.
using game_room_actor =
  logic_actor<client_event_hook, member_hook, snapshot_hook, restore_hook,
              caf::reacts_to<game_tick_atom>>;
game_room_actor::behavior_type game_room(game_room_actor::pointer self,
                                         logic_handle handle);

} // namespace starling::examples
