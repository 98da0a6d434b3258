// CORS decisions (transport/cors.hpp).
#include "transport/cors.hpp"

#include "actors/logic_bindings.hpp"

namespace starling::transport {

std::string cors_allow_origin(const std::vector<std::string>& allowed,
                              std::string_view origin) {
  if (origin.empty())
    return {};
  for (auto& pattern : allowed) {
    if (pattern == "*")
      return "*";
    if (glob_match(pattern, origin))
      return std::string{origin};
  }
  return {};
}

std::vector<std::pair<std::string, std::string>>
cors_preflight_headers(const std::string& allow_origin,
                       std::string_view request_headers) {
  return {
    {"Access-Control-Allow-Origin", allow_origin},
    {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
    // The SDKs send only Content-Type; echo what the browser asks for.
    {"Access-Control-Allow-Headers",
     request_headers.empty() ? std::string{"Content-Type"}
                             : std::string{request_headers}},
    {"Access-Control-Max-Age", "600"},
    {"Vary", "Origin"},
  };
}

} // namespace starling::transport
