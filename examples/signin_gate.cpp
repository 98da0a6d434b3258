// Example logic "signin_gate": refuses banned users at pusher:signin.
#include "hook_examples.hpp"

namespace starling::examples {

signin_gate_actor::behavior_type signin_gate(signin_gate_actor::pointer,
                                             logic_handle) {
  return {
    [](logic_signin_atom, const signin_attempt& who) {
      if (who.user_id.rfind("banned", 0) == 0)
        return signin_verdict::refused("user " + who.user_id + " is banned");
      return signin_verdict::allowed();
    },
  };
}

} // namespace starling::examples
