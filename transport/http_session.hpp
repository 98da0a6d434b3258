// HTTP sessions: read requests with limits and timeouts; hand WebSocket
// upgrades to a websocket_session and everything else to a route handler.
#pragma once

#include <memory>

#include "transport/net.hpp"

namespace starling::transport {

struct server_context;
struct io_worker;
class tls_context;

/// Which handler answers non-upgrade requests on a port.
enum class http_role {
  public_api, ///< WebSocket endpoint + Pusher HTTP API.
  admin,      ///< Admin endpoint (no upgrades).
};

/// Runs one HTTP session on `socket`, in TLS from `tls` unless it is
/// nullptr. Runs on `worker`'s thread, whose context owns the socket; an
/// upgrade keeps the WebSocket there.
void start_http_session(const std::shared_ptr<server_context>& ctx,
                        io_worker& worker, tcp_socket socket, http_role role,
                        const tls_context* tls = nullptr);

} // namespace starling::transport
