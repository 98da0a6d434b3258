// A Starling node with one app logic actor: "members_only" refuses
// subscriptions of sockets that did not sign in. Bind it in the config:
//   "apps": [{..., "logic": [{"actor": "members_only", "channels": "private-*"}]}]
#include "actors/logic.hpp"
#include "run_node.hpp"

#include <caf/all.hpp>

using namespace starling;

namespace {

// The hooks it handles are its type: the compiler checks each handler.
using members_only_actor = logic_actor<subscribe_hook>;

members_only_actor::behavior_type members_only(members_only_actor::pointer,
                                               logic_handle) {
  return {
    [](logic_subscribe_atom, const std::string& channel,
       const std::string& socket_id, const std::string& user_id) {
      if (!user_id.empty())
        return subscribe_verdict::allowed();
      return subscribe_verdict::refused(channel + ": sign in first");
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  logic_registry registry;
  registry.add("members_only", members_only);
  return run_node(argc, argv, registry);
}
