// Channel and event name validation (Pusher protocol §2.1-2.2).
#include "pusher/channel_name.hpp"

#include <cstdio>

namespace starling::pusher {

namespace {

constexpr std::string_view user_channel_prefix = "#server-to-user-";

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

} // namespace starling::pusher
