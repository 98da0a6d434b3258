// Starling's error codes for caf::error (requests between actors).
#pragma once

#include <cstdint>

#include <caf/error.hpp>

namespace starling {

/// Why an actor request failed.
enum class errc : uint8_t {
  subscription_refused = 1, ///< The owner refused a join; the client was told.
  unknown_app,              ///< No app with that id or key.
  app_failed,               ///< The app exceeded its restart limit.
  not_owner,                ///< The receiver does not own the channel (redirect).
  injected_fault,           ///< Fault injection asked for a crash.
  not_available,            ///< The backend (e.g. a bridge) cannot do this.
  publish_refused,          ///< App logic dropped an HTTP API publish.
  logic_unavailable,        ///< App logic could not decide (fail closed).
};

} // namespace starling

CAF_ERROR_CODE_ENUM(starling::errc, "starling")
