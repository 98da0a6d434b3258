// Unit tests for transport/http_metrics: route names come from a fixed set
// (never the raw path), and the written families count by route and code.
#define CAF_SUITE transport_http_metrics
#include <caf/test/unit_test.hpp>

#include "transport/http_metrics.hpp"

using namespace starling::transport;

CAF_TEST(api paths map to fixed route names with their app) {
  struct row {
    const char* path;
    const char* app;
    const char* route;
  };
  const row rows[] = {
    {"/apps/1/events", "1", "events"},
    {"/apps/1/batch_events", "1", "batch_events"},
    {"/apps/1/channels", "1", "channels"},
    {"/apps/1/channels/presence-x", "1", "channel"},
    {"/apps/1/channels/presence-x/users", "1", "channel_users"},
    {"/apps/1/users/u/terminate_connections", "1", "terminate_connections"},
    {"/apps/1/events?auth_key=k&body_md5=x", "1", "events"},
    {"/apps/1/whatever/else", "", "other"},
    {"/random", "", "other"},
  };
  for (auto& r : rows) {
    auto got = classify_http_route(false, r.path);
    CAF_CHECK_EQUAL(got.app, r.app);
    CAF_CHECK_EQUAL(got.route, r.route);
  }
  CAF_CHECK_EQUAL(classify_http_route(true, "/metrics").route, "metrics");
  CAF_CHECK_EQUAL(classify_http_route(true, "/actions/publish").route, "actions");
  CAF_CHECK_EQUAL(classify_http_route(true, "/x/y/z").route, "other");
}

CAF_TEST(requests are counted by app route and code) {
  http_metrics m;
  m.record({"a", "events"}, 200, std::chrono::milliseconds(1));
  m.record({"a", "events"}, 200, std::chrono::milliseconds(2));
  m.record({"", "metrics"}, 401, std::chrono::milliseconds(1));
  starling::prometheus_text out;
  m.write(out);
  auto text = out.str();
  CAF_CHECK(text.find("starling_http_requests_by_route_total{app=\"a\",route=\"events\",code=\"200\"} 2\n")
            != std::string::npos);
  CAF_CHECK(text.find("starling_http_requests_by_route_total{route=\"metrics\",code=\"401\"} 1\n")
            != std::string::npos);
  CAF_CHECK(text.find("starling_http_request_duration_seconds_count{app=\"a\",route=\"events\"} 2\n")
            != std::string::npos);
}
