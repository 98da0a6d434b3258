// The WebSocket connect request of the Pusher protocol (§1.1): the path
// `<prefix>/app/<key>` and the query parameters `protocol` and `version`.
// Pure: what to refuse and with which code.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pusher/error_code.hpp"

namespace starling::pusher {

/// Why a connect request is refused: the close code and its message.
struct connect_refusal {
  pusher_error code = pusher_error::path_not_found; ///< 4005..4008.
  std::string message;                              ///< For pusher:error.
};

/// The app key and query of a connect path.
struct connect_target {
  std::string app_key; ///< From `/app/<key>`.
  std::string query;   ///< The raw query string.
};

/// Splits `<prefix>/app/<key>[/][?<query>]`; nothing for any other path.
std::optional<connect_target> parse_connect_path(std::string_view target,
                                                 std::string_view prefix);

/// Checks `protocol` and `version` of a connect query: a missing protocol
/// or 5..7 is v7; versions 1-4 and non-numbers are refused with 4007, an
/// empty one with 4008; a version string with characters other than
/// alphanumerics, '.', '-' and '+' with 4006.
std::optional<connect_refusal> check_connect_query(std::string_view query);

} // namespace starling::pusher
