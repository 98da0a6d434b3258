// The names examples/config/*.json binds the example logic actors under.
#include "logic_examples.hpp"
#include "counter.hpp"
#include "game_room.hpp"
#include "hook_examples.hpp"
#include "presence_lobby.hpp"

namespace starling::examples {

void register_examples(logic_registry& registry) {
  registry.add("chat_filter", chat_filter)
    .add("vip_gate", vip_gate)
    .add("ticker", ticker)
    .add("counter", counter)
    .add("game_room", game_room)
    .add("publish_filter", publish_filter)
    .add("signin_gate", signin_gate)
    .add("lobby", lobby)
    .add("room_gate", room_gate);
}

} // namespace starling::examples
