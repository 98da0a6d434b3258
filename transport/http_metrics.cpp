// HTTP request counters by route (see http_metrics.hpp).
#include "transport/http_metrics.hpp"

#include <vector>

namespace starling::transport {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    auto j = path.find('/', i);
    if (j == std::string::npos)
      j = path.size();
    if (j > i)
      out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

http_route api_route(const std::string& path) {
  auto p = split_path(path);
  if (p.size() < 3 || p[0] != "apps")
    return {{}, "other"};
  auto& app = p[1];
  if (p.size() == 3 && p[2] == "events")
    return {app, "events"};
  if (p.size() == 3 && p[2] == "batch_events")
    return {app, "batch_events"};
  if (p.size() == 3 && p[2] == "channels")
    return {app, "channels"};
  if (p.size() == 4 && p[2] == "channels")
    return {app, "channel"};
  if (p.size() == 5 && p[2] == "channels" && p[4] == "users")
    return {app, "channel_users"};
  if (p.size() == 5 && p[2] == "users" && p[4] == "terminate_connections")
    return {app, "terminate_connections"};
  return {app, "other"};
}

} // namespace

http_route classify_http_route(bool admin, const std::string& path) {
  if (!admin)
    return api_route(path);
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
