// Socket id formatting and validation (Pusher protocol §0 item 2, §1.3).
#include "pusher/socket_id.hpp"

namespace starling::pusher {

namespace {

// The largest uint64_t has 20 digits; longer parts cannot come from us.
constexpr std::size_t max_part_digits = 20;

bool is_digit_run(std::string_view part) {
  if (part.empty() || part.size() > max_part_digits)
    return false;
  for (auto c : part)
    if (c < '0' || c > '9')
      return false;
  return true;
}

} // namespace

std::string make_socket_id(uint64_t high, uint64_t low) {
  return std::to_string(high) + '.' + std::to_string(low);
}

std::string compact_socket_id::to_string() const {
  return make_socket_id(high, low);
}

namespace {

// The exact decimal text of a number: no sign, no leading zero, no
// overflow.
std::optional<uint64_t> parse_part(std::string_view part) {
  if (!is_digit_run(part) || (part.size() > 1 && part[0] == '0'))
    return std::nullopt;
  uint64_t value = 0;
  for (auto c : part) {
    auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

} // namespace

std::optional<compact_socket_id> parse_socket_id(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto high = parse_part(text.substr(0, dot));
  auto low = parse_part(text.substr(dot + 1));
  if (!high || !low)
    return std::nullopt;
  return compact_socket_id{*high, *low};
}

bool is_valid_socket_id(std::string_view id) {
  auto dot = id.find('.');
  if (dot == std::string_view::npos)
    return false;
  return is_digit_run(id.substr(0, dot)) && is_digit_run(id.substr(dot + 1));
}

} // namespace starling::pusher
