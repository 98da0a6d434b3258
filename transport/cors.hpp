// CORS for the HTTP API (server.cors_origins): which origin a response may
// name in Access-Control-Allow-Origin, and the preflight answer's headers.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace starling::transport {

/// The Access-Control-Allow-Origin value for a request from `origin`, or
/// empty when it gets no CORS headers. `allowed` holds origins or globs
/// ("*" for any); an empty list or an absent origin allows nothing.
std::string cors_allow_origin(const std::vector<std::string>& allowed,
                              std::string_view origin);

/// Headers of a preflight (OPTIONS) answer for an allowed origin.
std::vector<std::pair<std::string, std::string>>
cors_preflight_headers(const std::string& allow_origin,
                       std::string_view request_headers);

} // namespace starling::transport
