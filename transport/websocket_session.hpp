// WebSocket sessions: one per Pusher connection, a dumb pipe between the
// socket and its connection actor (which it reaches through the node).
#pragma once

#include <memory>

#include "transport/net.hpp"

namespace starling::transport {

struct server_context;

/// Completes the WebSocket handshake for `req` on `socket` and runs the
/// session. Runs on the I/O thread.
void start_websocket_session(const std::shared_ptr<server_context>& ctx,
                             tcp::socket socket,
                             http::request<http::string_body> req);

/// Sends `pusher:ping` to sessions silent for activity_timeout, closes with
/// 4201 those that did not answer within pong_timeout, and force-closes
/// sessions stuck closing. Runs on the I/O thread, once a second.
void sweep_websocket_sessions(server_context& ctx);

/// Starts closing up to `max` open sessions with `code` and `reason`
/// (graceful shutdown, in batches). Runs on the I/O thread.
void close_websocket_sessions(server_context& ctx, uint16_t code,
                              const std::string& reason, std::size_t max);

} // namespace starling::transport
