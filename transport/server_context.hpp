// What every listener and session of one node shares: the I/O context, the
// apps and the admin actor, settings, counters and the live WebSocket
// sessions.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "actors/app_directory.hpp"
#include "actors/fwd.hpp"
#include "config/settings.hpp"
#include "transport/http_metrics.hpp"
#include "transport/metrics.hpp"
#include "transport/net.hpp"
#include "transport/rate_limiter.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace starling::transport {

class websocket_session;
class rest_api;
class admin_http;

/// Intrusive list of open WebSocket sessions, for the liveness sweep.
/// Only touched on the I/O thread.
struct session_registry {
  websocket_session* head = nullptr; ///< First session, or nullptr.
  std::size_t size = 0;              ///< Number of sessions linked.
};

/// Sessions with frames queued by a fan-out and not yet written. They are
/// written after the I/O thread has run the hand-offs queued so far, so
/// bursts of events leave in one writev per session. I/O thread only.
struct dirty_sessions {
  std::vector<std::shared_ptr<websocket_session>> sessions; ///< To flush.
  bool flush_posted = false; ///< A flush handler is queued.
};

/// Shared by the listeners and every session. Lives as long as the server.
struct server_context {
  net::io_context& ioc;          ///< The single I/O thread's context.
  caf::actor_system& sys;        ///< For anon_send to actors.
  std::shared_ptr<app_directory> apps; ///< Handshakes and API calls go here.
  admin_actor admin;             ///< Answers the admin endpoint.
  caf::actor gateway;            ///< Asks actors on behalf of HTTP requests.
  config::settings settings;     ///< Read-only after start.
  transport_metrics metrics;     ///< Counters for /metrics.
  http_metrics http;             ///< Requests by route, code and duration.
  rate_limiter new_connections;  ///< Per client address (I/O thread).
  session_registry sessions;     ///< Open WebSockets (I/O thread only).
  dirty_sessions dirty;          ///< Fan-out frames waiting for one flush.
  std::chrono::steady_clock::time_point started; ///< Base of session clocks.
  std::unique_ptr<rest_api> rest;   ///< The Pusher HTTP API.
  std::unique_ptr<admin_http> admin_routes; ///< The admin endpoint.
  bool ready = false;            ///< Readiness for /ready.

  server_context(net::io_context& ioc, caf::actor_system& sys,
                 std::shared_ptr<app_directory> apps, admin_actor admin,
                 config::settings settings);
  ~server_context();

  /// Returns seconds since start (the sessions' liveness clock).
  uint32_t now_s() const {
    return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::steady_clock::now() - started)
                                   .count());
  }
};

} // namespace starling::transport
