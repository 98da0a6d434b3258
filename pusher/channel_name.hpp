// Channel and event name rules (Pusher protocol §2.1-2.2): whether a name a
// client or publisher gave is legal. What a name's prefix means is in
// channel_kind.hpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pusher/channel_kind.hpp"

namespace starling::pusher {

/// Checks a channel name a client or publisher gave: non-empty, at most
/// `max_length` characters, charset `[A-Za-z0-9_\-=@,.;]`. The reserved form
/// `#server-to-user-<user id>` is accepted only when `allow_user_channel`.
/// Returns an empty string when valid, else a message saying what is wrong.
std::string validate_channel_name(std::string_view name, std::size_t max_length,
                                  bool allow_user_channel = true);

/// Checks an event name: non-empty and at most `max_length` bytes.
/// Returns an empty string when valid, else the problem.
std::string validate_event_name(std::string_view name, std::size_t max_length);

} // namespace starling::pusher
