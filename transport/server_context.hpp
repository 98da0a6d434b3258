// What every listener and session of one node shares: the I/O threads (each
// with its own context and WebSocket sessions), the apps and the admin
// actor, settings and counters.
#pragma once

#include <atomic>
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

/// Intrusive list of one I/O thread's open WebSocket sessions, for the
/// liveness sweep. The list is only touched on that thread.
struct session_registry {
  websocket_session* head = nullptr; ///< First session, or nullptr.
  std::atomic<std::size_t> size{0};  ///< Sessions linked (read anywhere).
};

/// Sessions with frames queued by a fan-out and not yet written. They are
/// written after the I/O thread has run the hand-offs queued so far, so
/// bursts of events leave in one writev per session. Its I/O thread only.
struct dirty_sessions {
  std::vector<std::shared_ptr<websocket_session>> sessions; ///< To flush.
  /// Publish times of the events queued since the last flush, recorded
  /// after it (kept capacity: no allocation once warm).
  std::vector<publish_stamp> stamps;
  bool flush_posted = false; ///< A flush handler is queued.
};

/// An io_context whose shutdown (destroying queued handlers) the server
/// can run before any context is destroyed: a handler of one thread may
/// hold the last reference to another thread's session.
class io_context_owned : public net::io_context {
public:
  io_context_owned() : net::io_context(1) {
    // nop
  }
  using net::io_context::shutdown;
};

/// One I/O thread: its context and the sockets it alone reads and writes.
/// Whatever touches a session's socket is posted to its thread's context.
struct io_worker {
  explicit io_worker(uint16_t index) : index(index) {
    // nop
  }
  io_context_owned ioc;      ///< Runs on this thread only.
  const uint16_t index;      ///< Position in server_context::workers.
  session_registry sessions; ///< Open WebSockets of this thread.
  dirty_sessions dirty;      ///< Fan-out frames waiting for one flush.
};

/// Shared by the listeners and every session. Lives as long as the server.
struct server_context {
  net::io_context& ioc;          ///< The control context (worker 0): signals, timers, HTTP client.
  std::vector<io_worker*> workers; ///< The I/O threads; never empty.
  caf::actor_system& sys;        ///< For anon_send to actors.
  std::shared_ptr<app_directory> apps; ///< Handshakes and API calls go here.
  admin_actor admin;             ///< Answers the admin endpoint.
  caf::actor gateway;            ///< Asks actors on behalf of HTTP requests.
  config::settings settings;     ///< Read-only after start.
  transport_metrics metrics;     ///< Counters for /metrics.
  http_metrics http;             ///< Requests by route, code and duration.
  rate_limiter new_connections;  ///< Per client address (any I/O thread).
  std::chrono::steady_clock::time_point started; ///< Base of session clocks.
  std::unique_ptr<rest_api> rest;   ///< The Pusher HTTP API.
  std::unique_ptr<admin_http> admin_routes; ///< The admin endpoint.
  std::atomic<bool> ready{false}; ///< Readiness for /ready.

  server_context(net::io_context& ioc, std::vector<io_worker*> workers,
                 caf::actor_system& sys,
                 std::shared_ptr<app_directory> apps, admin_actor admin,
                 config::settings settings);
  ~server_context();

  /// Returns the WebSockets open on every I/O thread.
  std::size_t session_count() const {
    std::size_t n = 0;
    for (auto* w : workers)
      n += w->sessions.size.load(std::memory_order_relaxed);
    return n;
  }

  /// Returns seconds since start (the sessions' liveness clock).
  uint32_t now_s() const {
    return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::steady_clock::now() - started)
                                   .count());
  }
};

} // namespace starling::transport
