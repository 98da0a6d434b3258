// Where a node's socket ids come from: random and unguessable in a node,
// a counter in tests that name sockets.
#pragma once

#include <cstdint>
#include <functional>

#include "pusher/socket_id.hpp"

namespace starling {

/// Returns a fresh socket id in Pusher's "digits.digits" shape each call.
/// Called from several actors at once: sources must be thread-safe.
using socket_id_source = std::function<pusher::compact_socket_id()>;

/// Two random decimals of up to 10 digits each (about 66 bits from the
/// kernel's CSPRNG): nothing about one id tells another, and ids of
/// different nodes do not collide in practice.
socket_id_source random_socket_ids();

/// "<prefix>.1", "<prefix>.2", ... (tests).
socket_id_source counting_socket_ids(uint64_t prefix);

} // namespace starling
