// Transport counters, updated on the I/O thread or with relaxed atomics and
// read by the admin endpoint.
#pragma once

#include <atomic>
#include <cstdint>

namespace starling::transport {

/// Counters the transport keeps for /metrics.
struct transport_metrics {
  std::atomic<uint64_t> connections_open{0};     ///< WebSockets open now.
  std::atomic<uint64_t> connections_total{0};    ///< WebSockets accepted since start.
  std::atomic<uint64_t> frames_in{0};            ///< Inbound WebSocket messages.
  std::atomic<uint64_t> frames_out{0};           ///< Outbound frames written.
  std::atomic<uint64_t> bytes_out{0};            ///< Outbound bytes written.
  std::atomic<uint64_t> slow_consumer_drops{0};  ///< Closed for a full outbound queue.
  std::atomic<uint64_t> pong_timeouts{0};        ///< Closed with 4201.
  std::atomic<uint64_t> http_requests{0};        ///< HTTP requests served.
  std::atomic<uint64_t> http_errors{0};          ///< HTTP responses >= 400.
  std::atomic<uint64_t> publishes{0};            ///< Accepted HTTP API triggers.
  std::atomic<uint64_t> fragment_timeouts{0};    ///< Closed with 1008 (unfinished message).
  std::atomic<uint64_t> node_connection_limit{0}; ///< Refused: server.max_connections.
  std::atomic<uint64_t> ip_rate_limit{0};        ///< Refused: max_new_connections_per_ip_per_s.
  std::atomic<uint64_t> origin_refusals{0};      ///< Refused: Origin not allowed (4009).
};

} // namespace starling::transport
