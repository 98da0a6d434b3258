// Channel name rules and classification (Pusher protocol §2.1-2.2): which
// prefix means which kind, and whether a name is legal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace starling::codec {

/// How a channel is authorized; independent of whether it is cached.
enum class channel_kind {
  public_channel,    ///< No prefix (or `cache-`): no auth.
  private_channel,   ///< `private-`: signed `socket_id:channel`.
  encrypted_channel, ///< `private-encrypted-`: signed like private.
  presence_channel,  ///< `presence-`: signed with channel_data, has a roster.
  user_channel,      ///< `#server-to-user-<id>`: signed-in user only.
};

/// What a channel name says about the channel.
struct channel_traits {
  channel_kind kind = channel_kind::public_channel; ///< Authorization kind.
  bool cached = false; ///< One of the four `*cache-` prefixes: keeps the last event.

  /// Returns whether subscribing needs an `auth` signature.
  bool requires_auth() const;
  /// Returns whether clients may send `client-` events on this channel
  /// (private and presence kinds, including their cache variants).
  bool allows_client_events() const;
  /// Returns whether this is a presence channel.
  bool is_presence() const { return kind == channel_kind::presence_channel; }
};

/// Classifies `name` by prefix, longest prefix first (`private-encrypted-`
/// before `private-`). Cache is an extra attribute, never a kind.
channel_traits classify_channel(std::string_view name);

/// Checks a channel name a client or publisher gave: non-empty, at most
/// `max_length` characters, charset `[A-Za-z0-9_\-=@,.;]`. The reserved form
/// `#server-to-user-<user id>` is accepted only when `allow_user_channel`.
/// Returns an empty string when valid, else a message saying what is wrong.
std::string validate_channel_name(std::string_view name, std::size_t max_length,
                                  bool allow_user_channel = true);

/// Checks an event name: non-empty and at most `max_length` bytes.
/// Returns an empty string when valid, else the problem.
std::string validate_event_name(std::string_view name, std::size_t max_length);

/// Returns the user id of a `#server-to-user-<id>` channel, or empty.
std::string_view user_channel_id(std::string_view name);

} // namespace starling::codec
