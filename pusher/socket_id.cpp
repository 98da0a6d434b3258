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

bool is_valid_socket_id(std::string_view id) {
  auto dot = id.find('.');
  if (dot == std::string_view::npos)
    return false;
  return is_digit_run(id.substr(0, dot)) && is_digit_run(id.substr(dot + 1));
}

} // namespace starling::pusher
