// Socket ids: two unsigned decimals joined by '.', unique across the cluster.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace starling::pusher {

/// Returns the socket id "<high>.<low>"; callers pass a per-node random
/// prefix as `high` and a per-node counter as `low` (randomness passed in).
std::string make_socket_id(uint64_t high, uint64_t low);

/// Returns whether `id` matches `^\d+\.\d+$` (what the server SDKs accept).
bool is_valid_socket_id(std::string_view id);

} // namespace starling::pusher
