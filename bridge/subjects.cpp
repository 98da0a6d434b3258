// Subject names of the cluster bridge and the channel token encoding.
#include "bridge/subjects.hpp"

namespace starling::bridge {

namespace {

constexpr char hex_digits[] = "0123456789ABCDEF";

// Pusher names use `[A-Za-z0-9_\-=@,.;]` (plus `#` for user channels). Of
// those only `.` splits NATS tokens (nats-server server/sublist.go tokenizes
// on it); `#` and `%` are escaped so that the escape stays unambiguous.
bool is_plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '='
         || c == '@' || c == ',' || c == ';';
}

int hex_value(char c) {
  // Uppercase only: accepting `%2e` as well as `%2E` would give one name two
  // tokens, and two nodes would subscribe to different subjects.
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::string channel_token(std::string_view channel) {
  if (channel.empty())
    return "%";
  std::string token;
  token.reserve(channel.size());
  for (char ch : channel) {
    auto c = static_cast<unsigned char>(ch);
    if (is_plain(c)) {
      token += ch;
    } else {
      token += '%';
      token += hex_digits[c >> 4];
      token += hex_digits[c & 0x0F];
    }
  }
  return token;
}

std::optional<std::string> decode_channel_token(std::string_view token) {
  if (token == "%")
    return std::string{};
  if (token.empty())
    return std::nullopt;
  std::string channel;
  channel.reserve(token.size());
  for (std::size_t i = 0; i < token.size(); ++i) {
    auto c = static_cast<unsigned char>(token[i]);
    if (is_plain(c)) {
      channel += token[i];
      continue;
    }
    if (c != '%' || i + 2 >= token.size())
      return std::nullopt;
    auto high = hex_value(token[i + 1]);
    auto low = hex_value(token[i + 2]);
    if (high < 0 || low < 0)
      return std::nullopt;
    auto decoded = static_cast<unsigned char>(high * 16 + low);
    if (is_plain(decoded))
      return std::nullopt;
    channel += static_cast<char>(decoded);
    i += 2;
  }
  return channel;
}

bool is_subject_token(std::string_view token) {
  if (token.empty())
    return false;
  for (char ch : token) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == 0x7F || c == '.' || c == '*' || c == '>')
      return false;
  }
  return true;
}

std::string event_subject(std::string_view prefix, std::string_view app_id,
                          std::string_view channel) {
  std::string subject{prefix};
  subject += ".ev.";
  subject += channel_token(app_id);
  subject += '.';
  subject += channel_token(channel);
  return subject;
}

std::string members_subject(std::string_view prefix) {
  std::string subject{prefix};
  subject += ".members";
  return subject;
}

std::string node_subject(std::string_view prefix, std::string_view node_id) {
  std::string subject{prefix};
  subject += ".node.";
  subject += channel_token(node_id);
  return subject;
}

} // namespace starling::bridge
