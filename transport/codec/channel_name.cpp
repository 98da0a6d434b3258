// Channel name classification and validation (Pusher protocol §2.1-2.2).
#include "transport/codec/channel_name.hpp"

#include <cstdio>

namespace starling::codec {

namespace {

constexpr std::string_view user_channel_prefix = "#server-to-user-";

/// One prefix and what it means.
struct prefix_rule {
  std::string_view prefix; ///< Anchored at the start of the name.
  channel_kind kind;       ///< Authorization kind.
  bool cached;             ///< Whether the channel keeps its last event.
};

// Longest first: `private-encrypted-cache-` must win over `private-encrypted-`
// and `private-`. Anchored matching only; Soketi and Sockudo use unanchored
// regexes and so call `chat-cache-1` a cache channel (protocol §2.1 pitfall).
constexpr prefix_rule prefix_rules[] = {
  {"private-encrypted-cache-", channel_kind::encrypted_channel, true},
  {"private-encrypted-", channel_kind::encrypted_channel, false},
  {"private-cache-", channel_kind::private_channel, true},
  {"private-", channel_kind::private_channel, false},
  {"presence-cache-", channel_kind::presence_channel, true},
  {"presence-", channel_kind::presence_channel, false},
  {"cache-", channel_kind::public_channel, true},
  {user_channel_prefix, channel_kind::user_channel, false},
};

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool is_name_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
      || (c >= '0' && c <= '9'))
    return true;
  switch (c) {
    case '_':
    case '-':
    case '=':
    case '@':
    case ',':
    case '.':
    case ';':
      return true;
    default:
      return false;
  }
}

// The message ends up in a JSON frame: show non-printable or non-ASCII bytes
// as hex so that the frame stays valid UTF-8.
std::string invalid_char_message(std::string_view what, char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f)
    return std::string{what} + " contains an invalid character '" + c + "'";
  char hex[8];
  std::snprintf(hex, sizeof(hex), "0x%02x", byte);
  return std::string{what} + " contains an invalid byte " + hex;
}

// Returns an empty string when every byte of `text` is in the charset.
std::string check_charset(std::string_view what, std::string_view text) {
  for (auto c : text)
    if (!is_name_char(c))
      return invalid_char_message(what, c);
  return {};
}

} // namespace

bool channel_traits::requires_auth() const {
  // The user channel needs a signed-in connection, not an `auth` signature;
  // the server checks that itself (protocol §4.3).
  switch (kind) {
    case channel_kind::private_channel:
    case channel_kind::encrypted_channel:
    case channel_kind::presence_channel:
      return true;
    default:
      return false;
  }
}

bool channel_traits::allows_client_events() const {
  // Protocol §5: private and presence only; pusher-js refuses to send them on
  // encrypted channels, so nothing legitimate arrives there.
  return kind == channel_kind::private_channel
    || kind == channel_kind::presence_channel;
}

channel_traits classify_channel(std::string_view name) {
  for (const auto& rule : prefix_rules)
    if (starts_with(name, rule.prefix))
      return channel_traits{rule.kind, rule.cached};
  return channel_traits{};
}

std::string validate_channel_name(std::string_view name, std::size_t max_length,
                                  bool allow_user_channel) {
  if (name.empty())
    return "Channel name is empty";
  if (name.size() > max_length)
    return "Channel name is longer than " + std::to_string(max_length)
      + " characters";
  if (starts_with(name, user_channel_prefix)) {
    if (!allow_user_channel)
      return "Channel names starting with '#' are reserved";
    auto id = name.substr(user_channel_prefix.size());
    if (id.empty())
      return "Channel name '#server-to-user-' has an empty user id";
    return check_charset("User id of the channel name", id);
  }
  return check_charset("Channel name", name);
}

std::string validate_event_name(std::string_view name, std::size_t max_length) {
  // Any characters: Laravel publishes `App\Events\Foo` and `.custom.name`
  // although the HTTP API docs say alphanumeric (protocol §2.2).
  if (name.empty())
    return "Event name is empty";
  if (name.size() > max_length)
    return "Event name is longer than " + std::to_string(max_length)
      + " characters";
  return {};
}

std::string_view user_channel_id(std::string_view name) {
  if (!starts_with(name, user_channel_prefix))
    return {};
  return name.substr(user_channel_prefix.size());
}

} // namespace starling::codec
