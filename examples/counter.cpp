// Example logic "counter" (counter.hpp).
#include "counter.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace starling::examples {

counter_actor::behavior_type counter(counter_actor::pointer, logic_handle) {
  auto count = std::make_shared<uint64_t>(0);
  return {
    [count](logic_client_event_atom, const std::string&, const client_event&) {
      return client_event_verdict::rewrite(
        {}, "{\"count\":" + std::to_string(++*count) + "}");
    },
    [count](logic_snapshot_atom) { return std::to_string(*count); },
    [count](logic_restore_atom, const std::string& snapshot) {
      // Not ours (or damaged): start from zero rather than crash-loop.
      try {
        *count = std::stoull(snapshot);
      } catch (const std::exception&) {
        *count = 0;
      }
    },
  };
}

} // namespace starling::examples
