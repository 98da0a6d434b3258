// Connect path and query checks (Pusher protocol §1.1).
#include "pusher/handshake.hpp"

#include <cctype>

#include "pusher/signature.hpp"

namespace starling::pusher {

std::optional<connect_target> parse_connect_path(std::string_view target,
                                                 std::string_view prefix) {
  connect_target out;
  auto path = target;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    out.query = std::string{target.substr(q + 1)};
  }
  if (path.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  path.remove_prefix(prefix.size());
  constexpr std::string_view app = "/app/";
  if (path.substr(0, app.size()) != app)
    return std::nullopt;
  path.remove_prefix(app.size());
  if (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  if (path.empty() || path.find('/') != std::string_view::npos)
    return std::nullopt;
  out.app_key = std::string{path};
  return out;
}

std::optional<connect_refusal> check_connect_query(std::string_view query) {
  auto params = parse_query(query);
  auto protocol = find_param(params, "protocol");
  if (protocol == nullptr)
    return std::nullopt;
  if (protocol->empty())
    return connect_refusal{pusher_error::no_protocol,
                           "No protocol version supplied"};
  int version = 0;
  for (char c : *protocol) {
    if (c < '0' || c > '9' || version > 1000)
      return connect_refusal{pusher_error::unsupported_protocol,
                             "Unsupported protocol version " + *protocol};
    version = version * 10 + (c - '0');
  }
  if (version < 5 || version > 7)
    return connect_refusal{pusher_error::unsupported_protocol,
                           "Unsupported protocol version " + *protocol
                             + " (supported: 5-7)"};
  if (auto v = find_param(params, "version"); v != nullptr)
    for (char c : *v)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.'
            || c == '-' || c == '+'))
        return connect_refusal{pusher_error::invalid_version,
                               "Invalid version string format"};
  return std::nullopt;
}

} // namespace starling::pusher
