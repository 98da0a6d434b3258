// Example app logic "presence lobby": users join `presence-lobby`, the
// server seats each in a room (rooms of lobby_room_size, filled in order),
// tells the user on its own cache channel, and a gate lets a user into
// `presence-room-<k>` only when that is its seat (examples/README.md,
// "Presence lobby").
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/logic.hpp"

namespace starling::examples {

/// Seats per room.
constexpr std::size_t lobby_room_size = 2;

/// The per-user channel that tells `user_id` its seat (a private cache
/// channel: a user who subscribes late still gets the last word).
std::string seat_channel(const std::string& user_id);

/// Returns the room channel of room `k` (1-based): "presence-room-<k>".
std::string room_channel(std::size_t k);

/// Who sits where: rooms of `room_size`, the lowest room with a free seat
/// first. Pure, no CAF.
class lobby_seating {
public:
  explicit lobby_seating(std::size_t room_size = lobby_room_size)
    : room_size_(room_size) {
  }

  /// Seats `user_id` (or keeps its seat); returns its room (1-based).
  std::size_t seat(const std::string& user_id);

  /// Frees the seat of `user_id`; returns the room it left, if it had one.
  std::optional<std::size_t> leave(const std::string& user_id);

  /// Returns the room of `user_id`, if seated.
  std::optional<std::size_t> room_of(const std::string& user_id) const;

  /// Returns how many sit in room `k`.
  std::size_t occupants(std::size_t k) const;

  /// Returns the seating as JSON text, `{"user":room,...}` (the lobby's
  /// snapshot).
  std::string encode() const;

  /// Takes the seating of encode(); text that is not one leaves it empty
  /// (a damaged snapshot must not crash-loop the lobby).
  void decode(const std::string& text);

private:
  std::size_t room_size_;
  std::map<std::string, std::size_t> seats_; // user -> room
  std::vector<std::size_t> counts_;          // room k at index k - 1
};

/// "lobby", bound to `presence-lobby`: a member who joins is seated and
/// gets `room-assigned` `{"room":"presence-room-<k>"}` on
/// seat_channel(user); one who leaves frees the seat and gets
/// `room-released` `{"room":null}` there. The seating is its snapshot:
/// it survives a restart, an owner move and its owner's node dying.
using lobby_actor = logic_actor<member_hook, snapshot_hook, restore_hook>;
lobby_actor::behavior_type lobby(lobby_actor::stateful_pointer<lobby_seating> self,
                                 logic_handle handle);

/// Whether `user_id` may enter `channel`, judged by the last event of its
/// seat channel (`cache_event` / `cache_data` of a channel_report).
subscribe_verdict room_verdict(const std::string& channel,
                               const std::string& user_id,
                               const channel_report& seat);

/// "room_gate", bound to `presence-room-*`: asks the seat channel of the
/// subscribing member (wherever its owner lives in the cluster) and admits
/// it only to its own room.
using room_gate_actor = logic_actor<subscribe_hook>;
room_gate_actor::behavior_type room_gate(room_gate_actor::pointer self,
                                         logic_handle handle);

} // namespace starling::examples
