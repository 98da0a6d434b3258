// Pusher protocol error codes (Pusher protocol, "Error codes" and "Connection
// closure"), with what a client does when it gets each range.
#pragma once

#include <cstdint>

namespace starling::pusher {

/// Pusher error codes sent in `pusher:error` and as WebSocket close codes.
///
/// Ranges (pusher-js behaviour):
/// - 4000-4099: refused; the client does not reconnect with the same parameters.
/// - 4100-4199: reconnect after backing off (at least 1 s).
/// - 4200-4299: reconnect immediately.
/// - 4300+:     sent in `pusher:error` only; as a close code pusher-js stays down.
enum class pusher_error : uint16_t {
  tls_only = 4000,              ///< App accepts TLS only.
  app_not_found = 4001,         ///< Unknown app key.
  app_disabled = 4003,          ///< App exists but is disabled.
  over_connection_quota = 4004, ///< App over its connection quota.
  path_not_found = 4005,        ///< Unknown WebSocket path.
  invalid_version = 4006,       ///< Malformed `version` query parameter.
  unsupported_protocol = 4007,  ///< `protocol` below 5 (or unparseable).
  no_protocol = 4008,           ///< No protocol version supplied.
  unauthorized = 4009,          ///< Bad signature, or disconnected by the app.
  over_capacity = 4100,         ///< Over capacity or slow consumer: back off.
  reconnect_now = 4200,         ///< Generic: reconnect immediately (shutdown).
  pong_not_received = 4201,     ///< Server ping went unanswered.
  closed_inactivity = 4202,     ///< Idle and the client cannot ping.
  client_event_rejected = 4301, ///< Client event refused (rate, size, name).
  watchlist_over_limit = 4302,  ///< Watchlist had more than the allowed ids.
};

/// Returns the numeric value of `code`.
constexpr uint16_t to_int(pusher_error code) {
  return static_cast<uint16_t>(code);
}

} // namespace starling::pusher
