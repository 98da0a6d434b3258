// Tests for config/validate: one valid baseline, then one broken field per
// case, each expecting its JSON path in the error.
#define CAF_SUITE config_validate
#include <caf/test/unit_test.hpp>

#include "config/validate.hpp"

#include <functional>
#include <set>
#include <string>
#include <vector>

using namespace starling::config;

namespace {

app_settings make_app(std::string id, std::string key) {
  app_settings app;
  app.id = std::move(id);
  app.key = std::move(key);
  app.secret = "secret";
  return app;
}

settings baseline() {
  settings s;
  s.apps = {make_app("1", "key-one"), make_app("2", "key-two")};
  return s;
}

struct bad_case {
  const char* scenario;
  std::function<void(settings&)> mutate;
  const char* field;
};

} // namespace

CAF_TEST(the defaults with an app are valid) {
  auto e = validate(baseline());
  if (e)
    CAF_FAIL(e->field << ": " << e->problem);
}

CAF_TEST(edge values that are still valid) {
  std::vector<std::pair<const char*, std::function<void(settings&)>>> cases
    = {
      {"both ports 0", [](settings& s) { s.server.port = s.admin.port = 0; }},
      {"admin port 0 only", [](settings& s) { s.admin.port = 0; }},
      {"path prefix /pusher",
       [](settings& s) { s.server.path_prefix = "/pusher"; }},
      {"nested prefix", [](settings& s) { s.server.path_prefix = "/a/b"; }},
      {"smallest frame", [](settings& s) { s.server.max_frame_bytes = 1024; }},
      {"smallest outbound",
       [](settings& s) { s.server.max_outbound_bytes = 4096; }},
      {"64 threads", [](settings& s) { s.worker_threads = 64; }},
      {"channel name 1000",
       [](settings& s) { s.apps[0].limits.max_channel_name_length = 1000; }},
      {"nats bridge with a server",
       [](settings& s) {
         s.cluster.bridge = "nats";
         s.nats.servers = {"nats://127.0.0.1:4222"};
       }},
      {"nats over tls:// with skip-verify and a hostname",
       [](settings& s) {
         s.cluster.bridge = "nats";
         s.nats.servers = {"tls://127.0.0.1:4222"};
         s.nats.tls_skip_verify = true;
         s.nats.tls_hostname = "nats.internal";
       }},
      {"nats tls flag with a nats:// URL",
       [](settings& s) {
         s.cluster.bridge = "nats";
         s.nats.servers = {"nats://127.0.0.1:4222"};
         s.nats.tls = true;
       }},
      {"constant reconnect wait (max equals first)",
       [](settings& s) {
         s.nats.reconnect_wait_ms = 700;
         s.nats.reconnect_max_wait_ms = 700;
         s.nats.reconnect_jitter_ms = 0;
       }},
      {"TLS files not checked while the bridge is local",
       [](settings& s) {
         s.nats.tls = true;
         s.nats.tls_ca_file = "/nonexistent/ca.pem";
       }},
      {"server TLS with readable files on its own port",
       [](settings& s) {
         s.server.tls.enabled = true;
         s.server.tls.cert_file = s.server.tls.key_file = "/etc/hostname";
         s.server.tls.min_version = "1.3";
       }},
      {"admin TLS with a client CA",
       [](settings& s) {
         s.admin.tls.enabled = true;
         s.admin.tls.cert_file = s.admin.tls.key_file = "/etc/hostname";
         s.admin.tls.ca_file = "/etc/hostname";
       }},
      {"https webhook to an IPv6 literal with headers and a CA file",
       [](settings& s) {
         webhook_settings hook;
         hook.url = "https://[::1]:8443/hook";
         hook.headers = {{"X-Token", "a b"}, {"Authorization", "Bearer x"}};
         hook.tls_ca_file = "/etc/hostname";
         s.apps[0].webhooks = {hook};
       }},
      {"https webhook without verification",
       [](settings& s) {
         webhook_settings hook;
         hook.url = "https://hooks.example.com/x";
         hook.tls_skip_verify = true;
         s.apps[1].webhooks = {hook};
       }},
      {"log level off", [](settings& s) { s.logging.level = "off"; }},
      {"key with dashes and dots",
       [](settings& s) { s.apps[0].key = "a-b.c_d"; }},
    };
  for (auto& [scenario, mutate] : cases) {
    auto s = baseline();
    mutate(s);
    if (auto e = validate(s))
      CAF_FAIL(scenario << ": " << e->field << ": " << e->problem);
  }
}

CAF_TEST(each broken field is named in the error) {
  std::vector<bad_case> cases = {
    {"no apps", [](settings& s) { s.apps.clear(); }, "apps"},
    {"empty id", [](settings& s) { s.apps[1].id.clear(); }, "apps[1].id"},
    {"empty key", [](settings& s) { s.apps[0].key.clear(); }, "apps[0].key"},
    {"empty secret", [](settings& s) { s.apps[1].secret.clear(); },
     "apps[1].secret"},
    {"duplicate id", [](settings& s) { s.apps[1].id = "1"; }, "apps[1].id"},
    {"duplicate key", [](settings& s) { s.apps[1].key = "key-one"; },
     "apps[1].key"},
    {"key with slash", [](settings& s) { s.apps[0].key = "a/b"; },
     "apps[0].key"},
    {"key with question mark", [](settings& s) { s.apps[0].key = "a?b"; },
     "apps[0].key"},
    {"key with space", [](settings& s) { s.apps[1].key = "a b"; },
     "apps[1].key"},
    {"key with tab", [](settings& s) { s.apps[1].key = "a\tb"; },
     "apps[1].key"},
    {"id with slash", [](settings& s) { s.apps[0].id = "1/2"; },
     "apps[0].id"},
    {"channel name limit 0",
     [](settings& s) { s.apps[1].limits.max_channel_name_length = 0; },
     "apps[1].limits.max_channel_name_length"},
    {"channel name limit 1001",
     [](settings& s) { s.apps[0].limits.max_channel_name_length = 1001; },
     "apps[0].limits.max_channel_name_length"},
    {"client events rate 0",
     [](settings& s) { s.apps[0].limits.client_events_per_second = 0; },
     "apps[0].limits.client_events_per_second"},
    {"empty host", [](settings& s) { s.server.host.clear(); }, "server.host"},
    {"empty admin host", [](settings& s) { s.admin.host.clear(); },
     "admin.host"},
    {"same ports", [](settings& s) { s.admin.port = s.server.port; },
     "admin.port"},
    {"activity timeout 0",
     [](settings& s) { s.server.activity_timeout_s = 0; },
     "server.activity_timeout_s"},
    {"pong timeout 0", [](settings& s) { s.server.pong_timeout_s = 0; },
     "server.pong_timeout_s"},
    {"frame below 1024", [](settings& s) { s.server.max_frame_bytes = 1023; },
     "server.max_frame_bytes"},
    {"outbound below 4096",
     [](settings& s) { s.server.max_outbound_bytes = 4095; },
     "server.max_outbound_bytes"},
    {"outbound frames 0",
     [](settings& s) { s.server.max_outbound_frames = 0; },
     "server.max_outbound_frames"},
    {"http body 0", [](settings& s) { s.server.max_http_body_bytes = 0; },
     "server.max_http_body_bytes"},
    {"http timeout 0", [](settings& s) { s.server.http_timeout_s = 0; },
     "server.http_timeout_s"},
    {"prefix without leading slash",
     [](settings& s) { s.server.path_prefix = "pusher"; },
     "server.path_prefix"},
    {"prefix with trailing slash",
     [](settings& s) { s.server.path_prefix = "/pusher/"; },
     "server.path_prefix"},
    {"prefix of one slash", [](settings& s) { s.server.path_prefix = "/"; },
     "server.path_prefix"},
    {"unknown bridge", [](settings& s) { s.cluster.bridge = "redis"; },
     "cluster.bridge"},
    {"nats bridge without servers",
     [](settings& s) { s.cluster.bridge = "nats"; }, "nats.servers"},
    {"nats bridge with an empty server",
     [](settings& s) {
       s.cluster.bridge = "nats";
       s.nats.servers = {"nats://a:4222", ""};
     },
     "nats.servers[1]"},
    {"reconnect wait 0", [](settings& s) { s.nats.reconnect_wait_ms = 0; },
     "nats.reconnect_wait_ms"},
    {"reconnect max wait below the first wait",
     [](settings& s) {
       s.nats.reconnect_wait_ms = 1000;
       s.nats.reconnect_max_wait_ms = 999;
     },
     "nats.reconnect_max_wait_ms"},
    {"client certificate without key",
     [](settings& s) {
       s.nats.tls = true;
       s.nats.tls_cert_file = "/etc/hostname";
     },
     "nats.tls_key_file"},
    {"client key without certificate",
     [](settings& s) {
       s.nats.tls = true;
       s.nats.tls_key_file = "/etc/hostname";
     },
     "nats.tls_cert_file"},
    {"CA file with TLS off",
     [](settings& s) {
       s.cluster.bridge = "nats";
       s.nats.servers = {"nats://a:4222"};
       s.nats.tls_ca_file = "/etc/hostname";
     },
     "nats.tls_ca_file"},
    {"skip-verify with TLS off",
     [](settings& s) { s.nats.tls_skip_verify = true; },
     "nats.tls_skip_verify"},
    {"unreadable CA file",
     [](settings& s) {
       s.cluster.bridge = "nats";
       s.nats.servers = {"tls://a:4222"};
       s.nats.tls_ca_file = "/nonexistent/ca.pem";
     },
     "nats.tls_ca_file"},
    {"CA file is a directory",
     [](settings& s) {
       s.cluster.bridge = "nats";
       s.nats.servers = {"tls://a:4222"};
       s.nats.tls_ca_file = "/";
     },
     "nats.tls_ca_file"},
    {"unreadable client key",
     [](settings& s) {
       s.cluster.bridge = "nats";
       s.nats.servers = {"tls://a:4222"};
       s.nats.tls_cert_file = "/etc/hostname";
       s.nats.tls_key_file = "/nonexistent/client.key";
     },
     "nats.tls_key_file"},
    {"heartbeat 0", [](settings& s) { s.cluster.heartbeat_ms = 0; },
     "cluster.heartbeat_ms"},
    {"node timeout not above heartbeat",
     [](settings& s) { s.cluster.node_timeout_ms = s.cluster.heartbeat_ms; },
     "cluster.node_timeout_ms"},
    {"unknown log level", [](settings& s) { s.logging.level = "verbose"; },
     "logging.level"},
    {"upper-case log level", [](settings& s) { s.logging.level = "INFO"; },
     "logging.level"},
    {"0 threads", [](settings& s) { s.worker_threads = 0; },
     "worker_threads"},
    {"65 threads", [](settings& s) { s.worker_threads = 65; },
     "worker_threads"},
    {"server TLS without a certificate",
     [](settings& s) {
       s.server.tls.enabled = true;
       s.server.tls.key_file = "/etc/hostname";
     },
     "server.tls.cert_file"},
    {"server TLS without a key",
     [](settings& s) {
       s.server.tls.enabled = true;
       s.server.tls.cert_file = "/etc/hostname";
     },
     "server.tls.key_file"},
    {"server TLS on the plain port",
     [](settings& s) {
       s.server.tls.enabled = true;
       s.server.tls.cert_file = s.server.tls.key_file = "/etc/hostname";
       s.server.tls_port = s.server.port;
     },
     "server.tls.port"},
    {"server TLS certificate while TLS is off",
     [](settings& s) { s.server.tls.cert_file = "/etc/hostname"; },
     "server.tls.cert_file"},
    {"TLS minimum version 1.1",
     [](settings& s) { s.server.tls.min_version = "1.1"; },
     "server.tls.min_version"},
    {"admin TLS certificate missing",
     [](settings& s) {
       s.admin.tls.enabled = true;
       s.admin.tls.cert_file = "/nonexistent/cert.pem";
       s.admin.tls.key_file = "/etc/hostname";
     },
     "admin.tls.cert_file"},
    {"admin port on the TLS port",
     [](settings& s) {
       s.server.tls.enabled = true;
       s.server.tls.cert_file = s.server.tls.key_file = "/etc/hostname";
       s.admin.port = s.server.tls_port;
     },
     "admin.port"},
    {"ftp webhook",
     [](settings& s) { s.apps[0].webhooks = {webhook_settings{"ftp://h/x"}}; },
     "apps[0].webhooks[0].url"},
    {"IPv6 webhook without the closing bracket",
     [](settings& s) {
       s.apps[0].webhooks = {webhook_settings{"http://[::1:80/x"}};
     },
     "apps[0].webhooks[0].url"},
    {"skip-verify on an http webhook",
     [](settings& s) {
       webhook_settings hook{"http://h/x"};
       hook.tls_skip_verify = true;
       s.apps[1].webhooks = {hook};
     },
     "apps[1].webhooks[0].tls_skip_verify"},
    {"webhook header name with a space",
     [](settings& s) {
       webhook_settings hook{"http://h/x"};
       hook.headers = {{"X Token", "a"}};
       s.apps[0].webhooks = {hook};
     },
     "apps[0].webhooks[0].headers"},
    {"webhook header value with a line break",
     [](settings& s) {
       webhook_settings hook{"http://h/x"};
       hook.headers = {{"X-A", "a\r\nX-B: b"}};
       s.apps[0].webhooks = {hook};
     },
     "apps[0].webhooks[0].headers.X-A"},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE(c.scenario);
    auto s = baseline();
    c.mutate(s);
    auto e = validate(s);
    if (!e)
      CAF_FAIL(c.scenario << ": expected an error on " << c.field);
    CAF_CHECK_EQUAL(e->field, c.field);
    CAF_CHECK(!e->problem.empty());
  }
}

CAF_TEST(problems say what to fix) {
  auto s = baseline();
  s.cluster.bridge = "nats";
  auto e = validate(s);
  CAF_REQUIRE(e);
  CAF_CHECK(e->problem.find("nats://") != std::string::npos);
  s = baseline();
  s.cluster.bridge = "nats";
  s.nats.servers = {"tls://a:4222"};
  s.nats.tls_ca_file = "/nonexistent/ca.pem";
  e = validate(s);
  CAF_REQUIRE(e);
  CAF_CHECK(e->problem.find("/nonexistent/ca.pem") != std::string::npos);
  s = baseline();
  s.nats.tls = true;
  s.nats.tls_cert_file = "/etc/hostname";
  e = validate(s);
  CAF_REQUIRE(e);
  CAF_CHECK(e->problem.find("nats.tls_cert_file") != std::string::npos);
  s = baseline();
  s.nats.reconnect_wait_ms = 2000;
  s.nats.reconnect_max_wait_ms = 100;
  e = validate(s);
  CAF_REQUIRE(e);
  CAF_CHECK(e->problem.find("2000") != std::string::npos);
  s = baseline();
  s.server.port = s.admin.port = 7000;
  e = validate(s);
  CAF_REQUIRE(e);
  CAF_CHECK(e->problem.find("7000") != std::string::npos);
}

// -- apps[].logic ----------------------------------------------------------------

namespace {

logic_binding_settings logic(std::string actor, std::string channels = {}) {
  logic_binding_settings b;
  b.actor = std::move(actor);
  b.channels = std::move(channels);
  return b;
}

const std::set<std::string> registered{"chat_filter", "ticker"};

} // namespace

CAF_TEST(logic bindings of registered actors are valid) {
  auto s = baseline();
  s.apps[0].logic = {logic("chat_filter", "private-chat-*"), logic("ticker"),
                     logic("chat_filter", "presence-chat-?")};
  auto e = validate(s, registered);
  if (e)
    CAF_FAIL(e->field << ": " << e->problem);
}

CAF_TEST(an unknown logic actor names the field and the registered names) {
  auto s = baseline();
  s.apps[1].logic = {logic("ticker"), logic("chat_filtr", "chat-*")};
  auto e = validate(s, registered);
  CAF_REQUIRE(e);
  CAF_CHECK_EQUAL(e->field, "apps[1].logic[1].actor");
  CAF_CHECK(e->problem.find("unknown logic actor \"chat_filtr\"")
            != std::string::npos);
  CAF_CHECK(e->problem.find("chat_filter, ticker") != std::string::npos);
  // Without a registry (the plain binary) every binding is unknown.
  s.apps[1].logic = {logic("ticker")};
  e = validate(s);
  CAF_REQUIRE(e);
  CAF_CHECK_EQUAL(e->field, "apps[1].logic[0].actor");
  CAF_CHECK(e->problem.find("registers none") != std::string::npos);
}

CAF_TEST(broken logic bindings are named in the error) {
  std::vector<bad_case> cases = {
    {"empty actor", [](settings& s) { s.apps[0].logic = {logic("")}; },
     "apps[0].logic[0].actor"},
    {"pattern with a slash",
     [](settings& s) { s.apps[0].logic = {logic("ticker", "chat/*")}; },
     "apps[0].logic[0].channels"},
    {"duplicate binding",
     [](settings& s) {
       s.apps[0].logic = {logic("ticker", "a-*"), logic("ticker", "a-*")};
     },
     "apps[0].logic[1].actor"},
    {"zero timeout",
     [](settings& s) {
       s.apps[0].logic = {logic("ticker")};
       s.apps[0].logic[0].timeout_ms = 0;
     },
     "apps[0].logic[0].timeout_ms"},
    {"huge timeout",
     [](settings& s) {
       s.apps[0].logic = {logic("ticker")};
       s.apps[0].logic[0].timeout_ms = 60000;
     },
     "apps[0].logic[0].timeout_ms"},
    {"zero window",
     [](settings& s) {
       s.apps[0].logic = {logic("ticker")};
       s.apps[0].logic[0].restart_window_s = 0;
     },
     "apps[0].logic[0].restart_window_s"},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE(c.scenario);
    auto s = baseline();
    c.mutate(s);
    auto e = validate(s, registered);
    if (!e)
      CAF_FAIL(c.scenario << ": expected an error on " << c.field);
    CAF_CHECK_EQUAL(e->field, c.field);
  }
}
