// HTTP requests counted by app, route and status code, and their duration
// by app and route. Routes are a fixed set of names (never the raw path),
// and the app label names configured apps only, so a client cannot grow the
// series.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "actors/latency_histogram.hpp"
#include "actors/prometheus_text.hpp"

namespace starling::transport {

/// What one HTTP request is counted as.
struct http_route {
  std::string app;   ///< App id from the path; empty when none.
  std::string route; ///< Route name: events, channels, metrics, ...
};

/// Names the route of `target` (path and query as sent) on the public API
/// (`admin` false; `prefix` is server.path_prefix) or the admin endpoint.
http_route classify_http_route(bool admin, const std::string& target,
                               std::string_view prefix = {});

/// Request counts and durations for /metrics (any thread).
class http_metrics {
public:
  /// Counts one answered request.
  void record(const http_route& route, unsigned status,
              std::chrono::steady_clock::duration took);

  /// Writes starling_http_requests_by_route_total and
  /// starling_http_request_duration_seconds.
  void write(prometheus_text& out) const;

private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, unsigned>, uint64_t> counts_;
  std::map<std::pair<std::string, std::string>,
           std::unique_ptr<latency_histogram>>
    durations_;
};

} // namespace starling::transport
