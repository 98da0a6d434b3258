// Example logic "ticker": a timer inside a logic actor that publishes.
#include "logic_examples.hpp"

#include <chrono>
#include <memory>

namespace starling::examples {

namespace {

constexpr auto tick_interval = std::chrono::milliseconds(200);

} // namespace

ticker_actor::behavior_type ticker(ticker_actor::pointer self,
                                   logic_handle handle) {
  // Channel-bound, it ticks on its channel while that channel has an owner
  // (someone subscribed): one ticker per channel in the whole cluster.
  // App-bound, every node runs one, so it ticks on "ticker" once per node.
  auto channel = handle.channel.empty() ? std::string{"ticker"} : handle.channel;
  auto seq = std::make_shared<uint64_t>(0);
  // The pending timer holds the actor; the runtime ends it with its owner.
  self->delayed_send(self, tick_interval, tick_atom::value);
  return {
    [self, handle, channel, seq](tick_atom) {
      handle.publish(channel, "tick", "{\"seq\":" + std::to_string(++*seq) + "}");
      self->delayed_send(self, tick_interval, tick_atom::value);
    },
  };
}

} // namespace starling::examples
