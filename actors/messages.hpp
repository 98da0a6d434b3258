// The message catalogue: every protocol header, and the one registration of
// the types that cross nodes. Each conversation has its own header under
// actors/protocol/; the typed handles that use them are in actors/fwd.hpp.
#pragma once

#include "actors/fwd.hpp"
#include "actors/protocol/admin.hpp"
#include "actors/protocol/cluster.hpp"
#include "actors/protocol/owner.hpp"
#include "actors/protocol/transport.hpp"
#include "actors/protocol/webhook.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace starling {

/// Registers every message type and typed handle that crosses nodes (owner
/// calls, handoffs, peer queries). Every node must register the same set.
void add_message_types(caf::actor_system_config& cfg);

} // namespace starling
