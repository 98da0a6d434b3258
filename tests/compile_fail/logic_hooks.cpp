// The logic hook API is checked by the compiler. Built as is, this file
// registers a correct filter and gate (the control: it must compile). With
// one of the STARLING_BAD_* macros it holds one mistake that must NOT
// compile; tests/CMakeLists.txt builds each case and expects the failure.
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/logic.hpp"

using namespace starling;

namespace {

using filter_actor = logic_actor<client_event_hook>;
using gate_actor = logic_actor<subscribe_hook>;

filter_actor::behavior_type filter(filter_actor::pointer, logic_handle) {
  return {
#if defined(STARLING_BAD_ARGUMENT)
    // The event as a string instead of client_event.
    [](logic_client_event_atom, const std::string&, const std::string&) {
      return client_event_verdict::pass();
    },
#elif defined(STARLING_BAD_VERDICT)
    // A subscribe verdict from a client-event hook.
    [](logic_client_event_atom, const std::string&, const client_event&) {
      return subscribe_verdict::allowed();
    },
#else
    [](logic_client_event_atom, const std::string&, const client_event&) {
      return client_event_verdict::pass();
    },
#endif
  };
}

gate_actor::behavior_type gate(gate_actor::pointer, logic_handle) {
  return {
    [](logic_subscribe_atom, const std::string&, const std::string&,
       const std::string&) { return subscribe_verdict::allowed(); },
  };
}

using publisher_actor = logic_actor<publish_hook, signin_hook>;

publisher_actor::behavior_type publisher(publisher_actor::pointer,
                                         logic_handle) {
  return {
#if defined(STARLING_BAD_PUBLISH_VERDICT)
    // A client-event verdict from the HTTP publish hook.
    [](logic_publish_atom, const std::string&, const api_event&) {
      return client_event_verdict::drop();
    },
#else
    [](logic_publish_atom, const std::string&, const api_event&) {
      return publish_verdict::drop("no");
    },
#endif
    [](logic_signin_atom, const signin_attempt&) {
      return signin_verdict::allowed();
    },
  };
}

#if defined(STARLING_BAD_DYNAMIC)
// A dynamically typed actor: the registry refuses it.
caf::behavior dynamic(caf::event_based_actor*, logic_handle) {
  return {[](logic_client_event_atom, const std::string&, const std::string&) {
    return client_event_verdict::pass();
  }};
}
#endif

#if defined(STARLING_BAD_HOOK_TYPE)
// A home-made signature with a hook atom that is not the hook.
using wrong_actor =
  logic_actor<caf::replies_to<logic_client_event_atom,
                              std::string>::with<client_event_verdict>>;
wrong_actor::behavior_type wrong(wrong_actor::pointer, logic_handle) {
  return {[](logic_client_event_atom, const std::string&) {
    return client_event_verdict::pass();
  }};
}
#endif

#if defined(STARLING_BAD_STATE)
// A snapshot nobody restores: snapshot_hook without restore_hook.
using half_state_actor = logic_actor<client_event_hook, snapshot_hook>;
half_state_actor::behavior_type half_state(half_state_actor::pointer,
                                           logic_handle) {
  return {
    [](logic_client_event_atom, const std::string&, const client_event&) {
      return client_event_verdict::pass();
    },
    [](logic_snapshot_atom) { return std::string{}; },
  };
}
#endif

} // namespace

void register_checked(logic_registry& registry) {
  registry.add("filter", filter).add("gate", gate).add("publisher", publisher);
#if defined(STARLING_BAD_DYNAMIC)
  registry.add("dynamic", dynamic);
#endif
#if defined(STARLING_BAD_HOOK_TYPE)
  registry.add("wrong", wrong);
#endif
#if defined(STARLING_BAD_STATE)
  registry.add("half_state", half_state);
#endif
}
