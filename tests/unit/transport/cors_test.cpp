// Unit tests for transport/cors: which origins get CORS headers.
#define CAF_SUITE transport_cors
#include <caf/test/unit_test.hpp>

#include "transport/cors.hpp"

using namespace starling::transport;

CAF_TEST(no list or no origin means no CORS) {
  CAF_CHECK_EQUAL(cors_allow_origin({}, "https://a.example"), "");
  CAF_CHECK_EQUAL(cors_allow_origin({"*"}, ""), "");
}

CAF_TEST(exact origins and globs and the wildcard) {
  std::vector<std::string> allowed{"https://app.example.com",
                                   "https://*.example.org"};
  CAF_CHECK_EQUAL(cors_allow_origin(allowed, "https://app.example.com"),
                  "https://app.example.com");
  CAF_CHECK_EQUAL(cors_allow_origin(allowed, "https://x.example.org"),
                  "https://x.example.org");
  CAF_CHECK_EQUAL(cors_allow_origin(allowed, "https://evil.example.net"), "");
  CAF_CHECK_EQUAL(cors_allow_origin({"*"}, "https://any.where"), "*");
}

CAF_TEST(preflight names the origin and echoes the asked headers) {
  auto h = cors_preflight_headers("https://a.example", "content-type, x-y");
  CAF_CHECK_EQUAL(h[0].second, "https://a.example");
  CAF_CHECK_EQUAL(h[2].second, "content-type, x-y");
}
