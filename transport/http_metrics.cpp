// HTTP request counters by route (see http_metrics.hpp).
#include "transport/http_metrics.hpp"

#include "pusher/http_api.hpp"

namespace starling::transport {

namespace {

const char* route_name(pusher::api_route route) {
  switch (route) {
    case pusher::api_route::root:
      return "root";
    case pusher::api_route::events:
      return "events";
    case pusher::api_route::batch_events:
      return "batch_events";
    case pusher::api_route::channels:
      return "channels";
    case pusher::api_route::channel:
      return "channel";
    case pusher::api_route::channel_users:
      return "channel_users";
    case pusher::api_route::terminate_user:
      return "terminate_connections";
  }
  return "other";
}

} // namespace

http_route classify_http_route(bool admin, const std::string& target,
                               std::string_view prefix) {
  if (!admin) {
    // The HTTP API's own router: the same routes it answers.
    auto t = pusher::decode_target(target, prefix);
    if (!t)
      return {{}, "other"};
    return {t->app_id, route_name(t->route)};
  }
  auto path = target.substr(0, target.find('?'));
  static const char* const known[] = {"/health", "/ready", "/metrics",
                                      "/topology", "/topology.html",
                                      "/topology/events"};
  for (auto k : known)
    if (path == k)
      return {{}, k + 1};
  if (path.rfind("/actions/", 0) == 0)
    return {{}, "actions"};
  if (path.rfind("/topology/", 0) == 0)
    return {{}, "topology_assets"};
  return {{}, "other"};
}

void http_metrics::record(const http_route& route, unsigned status,
                          std::chrono::steady_clock::duration took) {
  std::lock_guard<std::mutex> guard{mutex_};
  ++counts_[{route.app, route.route, status}];
  auto& h = durations_[{route.app, route.route}];
  if (!h)
    h = std::make_unique<latency_histogram>();
  h->record(took);
}

void http_metrics::write(prometheus_text& out) const {
  std::lock_guard<std::mutex> guard{mutex_};
  out.family("starling_http_requests_by_route_total",
             "HTTP requests answered, by app (API routes of configured apps), "
             "route and status code.",
             metric_type::counter);
  for (auto& [key, n] : counts_) {
    auto& [app, route, code] = key;
    auto status = std::to_string(code);
    if (app.empty())
      out.sample("starling_http_requests_by_route_total",
                 {{"route", route}, {"code", status}}, n);
    else
      out.sample("starling_http_requests_by_route_total",
                 {{"app", app}, {"route", route}, {"code", status}}, n);
  }
  out.family("starling_http_request_duration_seconds",
             "Time from a parsed HTTP request to its answer, by route.",
             metric_type::histogram);
  for (auto& [key, h] : durations_) {
    if (key.first.empty())
      out.histogram("starling_http_request_duration_seconds",
                    {{"route", key.second}}, *h);
    else
      out.histogram("starling_http_request_duration_seconds",
                    {{"app", key.first}, {"route", key.second}}, *h);
  }
}

} // namespace starling::transport
