// Unit tests for actors/prometheus_text: HELP and TYPE lines, samples with
// and without labels, and the escaping the exposition format asks for.
#define CAF_SUITE actors_prometheus_text
#include <caf/test/unit_test.hpp>

#include "actors/prometheus_text.hpp"
#include "actors/app_counters.hpp"

#include <atomic>
#include <chrono>

#include <string>

using starling::metric_type;
using starling::prometheus_text;

CAF_TEST(label values escape backslash quote and line feed) {
  struct row {
    const char* in;
    const char* out;
  };
  const row rows[] = {
    {"", ""},
    {"plain", "plain"},
    {R"(a\b)", R"(a\\b)"},
    {R"(say "hi")", R"(say \"hi\")"},
    {"two\nlines", R"(two\nlines)"},
    {"\\\"\n", R"(\\\"\n)"},
    {"tab\tstays", "tab\tstays"},
    {"ünïcode", "ünïcode"},
  };
  for (auto& r : rows) {
    CAF_MESSAGE("input: " << r.in);
    CAF_CHECK_EQUAL(prometheus_text::escape_label(r.in), r.out);
  }
}

CAF_TEST(a family starts with HELP and TYPE lines) {
  prometheus_text out;
  out.family("starling_x_total", "Things counted.", metric_type::counter);
  out.family("starling_y", "A level.", metric_type::gauge);
  out.family("starling_z", "A spread.", metric_type::histogram);
  CAF_CHECK_EQUAL(out.str(), "# HELP starling_x_total Things counted.\n"
                             "# TYPE starling_x_total counter\n"
                             "# HELP starling_y A level.\n"
                             "# TYPE starling_y gauge\n"
                             "# HELP starling_z A spread.\n"
                             "# TYPE starling_z histogram\n");
}

CAF_TEST(help text escapes backslash and line feed but not quotes) {
  prometheus_text out;
  out.family("m", "a \"b\" c\\d\ne", metric_type::gauge);
  CAF_CHECK_EQUAL(out.str(), "# HELP m a \"b\" c\\\\d\\ne\n# TYPE m gauge\n");
}

CAF_TEST(samples carry labels in order with escaped values) {
  prometheus_text out;
  out.family("starling_app_connections", "Connections per app.",
             metric_type::gauge);
  out.sample("starling_app_connections", {}, uint64_t{3});
  out.sample("starling_app_connections", {{"app", "a\"1"}}, uint64_t{0});
  out.sample("starling_app_connections",
             {{"app", "x"}, {"channels", "chat-*\n"}}, uint64_t{42});
  CAF_CHECK_EQUAL(out.str(),
                  "# HELP starling_app_connections Connections per app.\n"
                  "# TYPE starling_app_connections gauge\n"
                  "starling_app_connections 3\n"
                  "starling_app_connections{app=\"a\\\"1\"} 0\n"
                  "starling_app_connections{app=\"x\",channels=\"chat-*\\n\"}"
                  " 42\n");
}

CAF_TEST(floating point samples keep their precision) {
  prometheus_text out;
  out.sample("m", {{"le", "0.5"}}, 0.25);
  out.sample("m", {}, 1e21);
  CAF_CHECK_EQUAL(out.str(), "m{le=\"0.5\"} 0.25\nm 1e+21\n");
}

CAF_TEST(appended text lands where it is appended) {
  prometheus_text a;
  a.sample("a", {}, uint64_t{1});
  prometheus_text b;
  b.family("b", "B.", metric_type::counter);
  b.append(a.str());
  CAF_CHECK_EQUAL(b.str(), "# HELP b B.\n# TYPE b counter\na 1\n");
}

CAF_TEST(a histogram writes cumulative buckets with le last then sum and count) {
  starling::latency_histogram h;
  h.record(std::chrono::microseconds(100)); // first bucket (0.0005)
  h.record(std::chrono::milliseconds(3));   // 0.005
  h.record(std::chrono::seconds(10));       // +Inf
  prometheus_text out;
  out.histogram("lat", {{"app", "a\"b"}}, h);
  auto text = out.str();
  CAF_CHECK(text.find("lat_bucket{app=\"a\\\"b\",le=\"0.0005\"} 1\n") != std::string::npos);
  CAF_CHECK(text.find("lat_bucket{app=\"a\\\"b\",le=\"0.0025\"} 1\n") != std::string::npos);
  CAF_CHECK(text.find("lat_bucket{app=\"a\\\"b\",le=\"0.005\"} 2\n") != std::string::npos);
  CAF_CHECK(text.find("lat_bucket{app=\"a\\\"b\",le=\"2.5\"} 2\n") != std::string::npos);
  CAF_CHECK(text.find("lat_bucket{app=\"a\\\"b\",le=\"+Inf\"} 3\n") != std::string::npos);
  CAF_CHECK(text.find("lat_count{app=\"a\\\"b\"} 3\n") != std::string::npos);
  CAF_CHECK(text.find("lat_sum{app=\"a\\\"b\"} 10.0031") != std::string::npos);
}

CAF_TEST(a gauge share moves the shared gauge and gives its part back at the end) {
  std::atomic<uint64_t> gauge{5};
  {
    starling::gauge_share a;
    a.attach(&gauge);
    a.set(3);
    CAF_CHECK_EQUAL(gauge.load(), 8u);
    a.set(1);
    CAF_CHECK_EQUAL(gauge.load(), 6u);
    starling::gauge_share copy = a; // A copy is not attached.
    copy.set(7);
    CAF_CHECK_EQUAL(gauge.load(), 6u);
  }
  CAF_CHECK_EQUAL(gauge.load(), 5u);
}
