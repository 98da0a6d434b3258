// Example logic "vip_gate": refuses subscriptions of users whose id does
// not start with "vip".
#include "logic_examples.hpp"

namespace starling::examples {

vip_gate_actor::behavior_type vip_gate(vip_gate_actor::pointer, logic_handle) {
  return {
    [](logic_subscribe_atom, const std::string& channel,
       const std::string& socket_id, const std::string& user_id) {
      // user_id: the presence member, else the signed-in user (pusher:signin),
      // else empty.
      if (user_id.rfind("vip", 0) == 0)
        return subscribe_verdict::allowed();
      return subscribe_verdict::refused(
        channel + " is for VIP members only (sign in as a vip* user)");
    },
  };
}

} // namespace starling::examples
