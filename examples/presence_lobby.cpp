// Example app logic "lobby" and "room_gate" (presence_lobby.hpp).
#include "presence_lobby.hpp"

#include <nlohmann/json.hpp>

#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling::examples {

namespace {

using json = nlohmann::json;

// How long the gate waits for the seat channel's owner (under the
// binding's timeout_ms in config/presence_lobby.json).
constexpr auto seat_query_timeout = std::chrono::milliseconds(1500);

} // namespace

std::string seat_channel(const std::string& user_id) {
  return "private-cache-lobby-" + user_id;
}

std::string room_channel(std::size_t k) {
  return "presence-room-" + std::to_string(k);
}

std::size_t lobby_seating::seat(const std::string& user_id) {
  if (auto i = seats_.find(user_id); i != seats_.end())
    return i->second;
  std::size_t k = 0;
  while (k < counts_.size() && counts_[k] >= room_size_)
    ++k;
  if (k == counts_.size())
    counts_.push_back(0);
  ++counts_[k];
  seats_.emplace(user_id, k + 1);
  return k + 1;
}

std::optional<std::size_t> lobby_seating::leave(const std::string& user_id) {
  auto i = seats_.find(user_id);
  if (i == seats_.end())
    return std::nullopt;
  auto k = i->second;
  seats_.erase(i);
  --counts_[k - 1];
  return k;
}

std::optional<std::size_t>
lobby_seating::room_of(const std::string& user_id) const {
  auto i = seats_.find(user_id);
  if (i == seats_.end())
    return std::nullopt;
  return i->second;
}

std::size_t lobby_seating::occupants(std::size_t k) const {
  return k >= 1 && k <= counts_.size() ? counts_[k - 1] : 0;
}

std::string lobby_seating::encode() const {
  return json(seats_).dump();
}

void lobby_seating::decode(const std::string& text) {
  seats_.clear();
  counts_.clear();
  auto data = json::parse(text, nullptr, false);
  if (!data.is_object())
    return;
  for (auto& [user, room] : data.items()) {
    if (!room.is_number_unsigned() || room.get<std::size_t>() == 0
        || room.get<std::size_t>() > 1000000)
      continue;
    auto k = room.get<std::size_t>();
    if (counts_.size() < k)
      counts_.resize(k, 0);
    ++counts_[k - 1];
    seats_.emplace(user, k);
  }
}

lobby_actor::behavior_type
lobby(lobby_actor::stateful_pointer<lobby_seating> self, logic_handle handle) {
  // The seating is the snapshot: a restarted lobby, or one beside the
  // lobby's next owner, seats newcomers around those already seated.
  return {
    [self](logic_snapshot_atom) { return self->state.encode(); },
    [self](logic_restore_atom, const std::string& snapshot) {
      self->state.decode(snapshot);
    },
    [self, handle](logic_member_atom, const member_change& change) {
      auto log = component_logger("logic");
      if (change.added) {
        auto k = self->state.seat(change.user_id);
        log->info("lobby seats user={} room={}", change.user_id, k);
        handle.publish(seat_channel(change.user_id), "room-assigned",
                       json{{"room", room_channel(k)}}.dump());
      } else if (self->state.leave(change.user_id)) {
        handle.publish(seat_channel(change.user_id), "room-released",
                       json{{"room", nullptr}}.dump());
      }
    },
  };
}

subscribe_verdict room_verdict(const std::string& channel,
                               const std::string& user_id,
                               const channel_report& seat) {
  if (user_id.empty())
    return subscribe_verdict::refused("join presence-lobby first");
  if (seat.cache_hit && seat.cache_event == "room-assigned") {
    auto data = json::parse(seat.cache_data, nullptr, false);
    if (data.is_object() && data.value("room", json()) == channel)
      return subscribe_verdict::allowed();
  }
  return subscribe_verdict::refused(channel + " is not the room of "
                                    + user_id);
}

room_gate_actor::behavior_type room_gate(room_gate_actor::pointer self,
                                         logic_handle handle) {
  return {
    [self, handle](logic_subscribe_atom, const std::string& channel,
                   const std::string&, const std::string& user_id)
      -> caf::result<subscribe_verdict> {
      if (user_id.empty())
        return room_verdict(channel, user_id, channel_report{});
      // The seat channel's owner knows the last word, wherever it runs.
      auto rp = self->make_response_promise<subscribe_verdict>();
      self
        ->request(handle.app, seat_query_timeout,
                  channel_request{handle.app_id, seat_channel(user_id)})
        .then(
          [rp, channel, user_id](channel_report& seat) mutable {
            rp.deliver(room_verdict(channel, user_id, seat));
          },
          [rp](caf::error& err) mutable {
            // An error answer is the binding's on_unavailable verdict.
            rp.deliver(std::move(err));
          });
      return rp;
    },
  };
}

} // namespace starling::examples
