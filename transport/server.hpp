// The transport's front door: binds the public and admin listeners, runs
// the I/O threads (server.io_threads, each its own io_context and sockets),
// sweeps liveness and drains on SIGINT/SIGTERM.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/app_directory.hpp"
#include "actors/fanout_sink.hpp"
#include "actors/fwd.hpp"
#include "actors/http_poster.hpp"
#include "config/settings.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace starling::transport {

/// One node's network side. Beast stays behind this interface.
class server {
public:
  /// Creates the I/O contexts. Construct the server before the actor
  /// system: sessions released by actors during the system's shutdown post
  /// their deletion to their context, so it must outlive the system.
  explicit server(config::settings settings);
  ~server();

  /// Binds the ports: WebSockets and the HTTP API (plain, and TLS with
  /// server.tls) go to `apps`, the admin endpoint to `admin`. Returns an
  /// empty string, or what went wrong (a port in use, a bad certificate).
  std::string listen(caf::actor_system& sys, std::shared_ptr<app_directory> apps,
                     admin_actor admin);

  /// Returns an HTTP client (for webhooks) running on this server's first
  /// I/O thread.
  http_poster_ptr make_http_poster();

  /// Ends the actors the transport spawned (before the actor system ends).
  void stop_actors();

  /// Returns the sink channels hand their events to: one hand-off per
  /// event to each I/O thread holding sessions, which writes its own.
  fanout_sink_ptr make_fanout_sink();

  /// Returns the bound public port (after listen()).
  uint16_t port() const;

  /// Returns the bound TLS port (after listen()), or 0 without server.tls.
  uint16_t tls_port() const;

  /// Returns the bound admin port (after listen()).
  uint16_t admin_port() const;

  /// Calls `handler` on the first I/O thread for each SIGHUP while run() runs
  /// (config reload), after the listeners re-read their TLS certificates.
  /// SIGHUP never ends the process once the server exists.
  void on_reload(std::function<void()> handler);

  /// Calls `handler` on the first I/O thread once, when the first SIGINT or
  /// SIGTERM starts the drain (e.g. to tell systemd STOPPING=1).
  void on_stopping(std::function<void()> handler);

  /// Runs the first I/O thread on the calling thread (and starts the
  /// others) until SIGINT or SIGTERM. Then
  /// stops accepting, turns readiness off, tells clients to reconnect (4200)
  /// in batches spread over shutdown_grace_s, then calls `on_drained(done)`
  /// (flush webhooks, leave the cluster) and returns once `done` ran or a
  /// deadline passed. A second signal returns at once. The other threads
  /// are joined before it returns.
  void run(const std::function<void(std::function<void()>)>& on_drained);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace starling::transport
