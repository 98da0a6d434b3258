// Tests for config/load: file, environment and flag precedence, the JSON
// schema with the field path of every error, --help and the default app.
#define CAF_SUITE config_load
#include <caf/test/unit_test.hpp>

#include "config/load.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "config/defaults.hpp"
#include "config/schema.hpp"

using namespace starling::config;

namespace {

namespace fs = std::filesystem;

using env_map = std::map<std::string, std::string>;
using kind = load_outcome::kind;

// A JSON file in the temp directory, removed again at scope exit.
struct temp_file {
  fs::path path;

  explicit temp_file(const std::string& text) {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path()
           / ("starling_config_load_" + std::to_string(::getpid()) + "_"
              + std::to_string(counter++) + ".json");
    std::ofstream{path} << text;
  }

  ~temp_file() {
    std::error_code ec;
    fs::remove(path, ec);
  }

  std::string str() const {
    return path.string();
  }
};

load_outcome run(std::vector<std::string> args, const env_map& env = {}) {
  std::vector<const char*> argv{"starling"};
  for (const auto& arg : args)
    argv.push_back(arg.c_str());
  return load(static_cast<int>(argv.size()), argv.data(), env);
}

load_outcome run_file(const std::string& json, const env_map& env = {}) {
  temp_file file{json};
  return run({"--config", file.str()}, env);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

uint16_t default_port() {
  return settings{}.server.port;
}

} // namespace

CAF_TEST(the schema reads its defaults from the settings structs) {
  settings s;
  app_limits l;
  CAF_CHECK_EQUAL(default_json(*find_key("server.host")),
                  "\"" + s.server.host + "\"");
  CAF_CHECK_EQUAL(default_json(*find_key("server.port")),
                  std::to_string(s.server.port));
  CAF_CHECK_EQUAL(default_json(*find_key("nats.subject_prefix")),
                  "\"" + s.nats.subject_prefix + "\"");
  CAF_CHECK_EQUAL(default_json(*find_key("nats.tls")), "false");
  CAF_CHECK_EQUAL(default_json(*find_key("nats.servers")), "[]");
  CAF_CHECK_EQUAL(default_json(*find_key("apps[].limits.cache_ttl_s")),
                  std::to_string(l.cache_ttl_s));
  CAF_CHECK_EQUAL(default_json(*find_key("apps[].logic[].timeout_ms")),
                  "200");
  CAF_CHECK(contains(usage(), "(default " + std::to_string(default_port())
                                + ")"));
}

CAF_TEST(no file env or flags runs the defaults with the default app) {
  auto out = run({});
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK_EQUAL(out.value.server.port, 6001u);
  CAF_CHECK_EQUAL(out.value.admin.port, 9601u);
  CAF_CHECK(out.value.default_app);
  CAF_REQUIRE_EQUAL(out.value.apps.size(), 1u);
  CAF_CHECK_EQUAL(out.value.apps[0].id, "app-id");
  CAF_CHECK_EQUAL(out.value.apps[0].key, "app-key");
  CAF_CHECK_EQUAL(out.value.apps[0].secret, "app-secret");
  CAF_CHECK(out.value.apps[0].enable_client_messages);
}

CAF_TEST(a file with an empty app list also gets the default app) {
  auto out = run_file(R"({"apps": []})");
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK(out.value.default_app);
  CAF_CHECK_EQUAL(out.value.apps.size(), 1u);
}

CAF_TEST(a full file sets every section) {
  auto out = run_file(R"({
    "server": {"host": "0.0.0.0", "port": 7001, "path_prefix": "/pusher",
               "activity_timeout_s": 60, "pong_timeout_s": 15,
               "max_frame_bytes": 2048, "max_outbound_bytes": 8192,
               "max_outbound_frames": 64, "max_http_body_bytes": 4096,
               "http_timeout_s": 5},
    "admin": {"host": "127.0.0.2", "port": 0, "token": "t0k",
              "fault_injection": true},
    "apps": [
      {"id": "1", "key": "k1", "secret": "s1"},
      {"id": "2", "key": "k2", "secret": "s2", "enabled": false,
       "enable_client_messages": true, "enable_subscription_count": true,
       "limits": {"max_connections": 5, "max_presence_members": 6,
                  "max_presence_member_bytes": 7,
                  "max_presence_user_id_length": 8,
                  "max_channel_name_length": 9, "max_event_name_length": 10,
                  "max_event_payload_bytes": 11,
                  "max_channels_per_trigger": 12, "max_batch_size": 13,
                  "client_events_per_second": 14, "cache_ttl_s": 15}}
    ],
    "cluster": {"bridge": "nats", "node_id": "n1",
                "middleman_host": "10.0.0.1", "middleman_port": 4242,
                "heartbeat_ms": 200, "node_timeout_ms": 900},
    "nats": {"servers": ["nats://a:4222", "nats://b:4222"], "name": "x",
             "token": "nt", "user": "u", "password": "p",
             "subject_prefix": "sp", "reconnect_wait_ms": 50},
    "logging": {"level": "debug"},
    "worker_threads": 4
  })");
  if (out.what == kind::error)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  CAF_REQUIRE(out.what == kind::run);
  const auto& s = out.value;
  CAF_CHECK_EQUAL(s.server.host, "0.0.0.0");
  CAF_CHECK_EQUAL(s.server.port, 7001u);
  CAF_CHECK_EQUAL(s.server.path_prefix, "/pusher");
  CAF_CHECK_EQUAL(s.server.activity_timeout_s, 60u);
  CAF_CHECK_EQUAL(s.server.pong_timeout_s, 15u);
  CAF_CHECK_EQUAL(s.server.max_frame_bytes, 2048u);
  CAF_CHECK_EQUAL(s.server.max_outbound_bytes, 8192u);
  CAF_CHECK_EQUAL(s.server.max_outbound_frames, 64u);
  CAF_CHECK_EQUAL(s.server.max_http_body_bytes, 4096u);
  CAF_CHECK_EQUAL(s.server.http_timeout_s, 5u);
  CAF_CHECK_EQUAL(s.admin.host, "127.0.0.2");
  CAF_CHECK_EQUAL(s.admin.port, 0u);
  CAF_CHECK_EQUAL(s.admin.token, "t0k");
  CAF_CHECK(s.admin.fault_injection);
  CAF_CHECK(!s.default_app);
  CAF_REQUIRE_EQUAL(s.apps.size(), 2u);
  CAF_CHECK_EQUAL(s.apps[0].id, "1");
  CAF_CHECK(s.apps[0].enabled);
  CAF_CHECK(!s.apps[0].enable_client_messages);
  CAF_CHECK_EQUAL(s.apps[0].limits.max_presence_members, 100u);
  CAF_CHECK_EQUAL(s.apps[1].key, "k2");
  CAF_CHECK_EQUAL(s.apps[1].secret, "s2");
  CAF_CHECK(!s.apps[1].enabled);
  CAF_CHECK(s.apps[1].enable_client_messages);
  CAF_CHECK(s.apps[1].enable_subscription_count);
  const auto& l = s.apps[1].limits;
  CAF_CHECK_EQUAL(l.max_connections, 5u);
  CAF_CHECK_EQUAL(l.max_presence_members, 6u);
  CAF_CHECK_EQUAL(l.max_presence_member_bytes, 7u);
  CAF_CHECK_EQUAL(l.max_presence_user_id_length, 8u);
  CAF_CHECK_EQUAL(l.max_channel_name_length, 9u);
  CAF_CHECK_EQUAL(l.max_event_name_length, 10u);
  CAF_CHECK_EQUAL(l.max_event_payload_bytes, 11u);
  CAF_CHECK_EQUAL(l.max_channels_per_trigger, 12u);
  CAF_CHECK_EQUAL(l.max_batch_size, 13u);
  CAF_CHECK_EQUAL(l.client_events_per_second, 14u);
  CAF_CHECK_EQUAL(l.cache_ttl_s, 15u);
  CAF_CHECK_EQUAL(s.cluster.bridge, "nats");
  CAF_CHECK_EQUAL(s.cluster.node_id, "n1");
  CAF_CHECK_EQUAL(s.cluster.middleman_host, "10.0.0.1");
  CAF_CHECK_EQUAL(s.cluster.middleman_port, 4242u);
  CAF_CHECK_EQUAL(s.cluster.heartbeat_ms, 200u);
  CAF_CHECK_EQUAL(s.cluster.node_timeout_ms, 900u);
  CAF_REQUIRE_EQUAL(s.nats.servers.size(), 2u);
  CAF_CHECK_EQUAL(s.nats.servers[1], "nats://b:4222");
  CAF_CHECK_EQUAL(s.nats.name, "x");
  CAF_CHECK_EQUAL(s.nats.token, "nt");
  CAF_CHECK_EQUAL(s.nats.user, "u");
  CAF_CHECK_EQUAL(s.nats.password, "p");
  CAF_CHECK_EQUAL(s.nats.subject_prefix, "sp");
  CAF_CHECK_EQUAL(s.nats.reconnect_wait_ms, 50u);
  CAF_CHECK_EQUAL(s.logging.level, "debug");
  CAF_CHECK_EQUAL(s.worker_threads, 4u);
}

CAF_TEST(a partial file keeps the defaults of fields it leaves out) {
  auto out = run_file(R"({"server": {"port": 7001}})");
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK_EQUAL(out.value.server.port, 7001u);
  CAF_CHECK_EQUAL(out.value.server.host, "127.0.0.1");
  CAF_CHECK_EQUAL(out.value.server.activity_timeout_s, 120u);
}

CAF_TEST(comments in the file are allowed) {
  auto out = run_file("// local trial\n{\"server\": {\"port\": 7001}}\n");
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK_EQUAL(out.value.server.port, 7001u);
}

CAF_TEST(bad files name the field path) {
  struct bad_case {
    const char* json;
    const char* field;
    const char* problem; // A part of the problem text.
  };
  std::vector<bad_case> cases = {
    {R"({"server": {"port": 70000}})", "server.port", "must be 0..65535"},
    {R"({"server": {"port": -1}})", "server.port", "must be 0..65535"},
    {R"({"server": {"port": "6001"}})", "server.port", "must be 0..65535"},
    {R"({"admin": {"port": 65536}})", "admin.port", "must be 0..65535"},
    {R"({"cluster": {"middleman_port": 1e9}})", "cluster.middleman_port",
     "must be 0..65535"},
    {R"({"server": {"prot": 6001}})", "server.prot", "unknown key"},
    {R"({"sever": {"port": 6001}})", "sever", "unknown key"},
    {R"({"server": []})", "server", "must be an object"},
    {R"({"server": {"host": 1}})", "server.host", "must be a string"},
    {R"({"server": {"activity_timeout_s": 1.5}})",
     "server.activity_timeout_s", "must be a non-negative integer"},
    {R"({"apps": [{"id": "a", "key": "k", "secret": "s",
                   "limits": {"max_connections": -1}}]})",
     "apps[0].limits.max_connections", "must be a non-negative integer"},
    {R"({"apps": [{"id": "a", "key": "k", "secret": "s",
                   "limits": {"max_connections": "10"}}]})",
     "apps[0].limits.max_connections", "must be a non-negative integer"},
    {R"({"apps": [{"id": "a", "key": "k", "secret": "s",
                   "limits": {"max_conections": 10}}]})",
     "apps[0].limits.max_conections", "unknown key"},
    {R"({"apps": [{"id": "a", "key": "k", "secret": "s"},
                  {"id": "b", "key": "l", "secret": "t",
                   "enabled": "yes"}]})",
     "apps[1].enabled", "must be true or false"},
    {R"({"apps": [{"id": "a", "key": "k", "secret": "s", "scret": "t"}]})",
     "apps[0].scret", "unknown key"},
    {R"({"apps": {"id": "a"}})", "apps", "must be an array"},
    {R"({"apps": ["a"]})", "apps[0]", "must be an object"},
    {R"({"nats": {"servers": "nats://a:4222"}})", "nats.servers",
     "must be an array of strings"},
    {R"({"nats": {"servers": ["nats://a:4222", 4222]}})", "nats.servers[1]",
     "must be a string"},
    {R"({"logging": {"level": 3}})", "logging.level", "must be a string"},
    {R"({"admin": {"fault_injection": 1}})", "admin.fault_injection",
     "must be true or false"},
    {R"({"worker_threads": 4294967296})", "worker_threads",
     "must be at most 4294967295"},
    {R"({"worker_threads": null})", "worker_threads",
     "must be a non-negative integer"},
    // Well-formed but invalid: validate() names the same paths.
    {R"({"apps": [{"id": "a", "key": "k"}]})", "apps[0].secret",
     "must not be empty"},
    {R"({"apps": [{"id": "a", "key": "k", "secret": "s",
                   "limits": {"max_channel_name_length": 0}}]})",
     "apps[0].limits.max_channel_name_length", "1..1000"},
    {R"({"cluster": {"bridge": "nats"}})", "nats.servers",
     "at least one server"},
    {R"({"server": {"port": 9601}})", "admin.port", "must differ"},
    {R"({"worker_threads": 0})", "worker_threads", "1..64"},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("config: " << c.json);
    auto out = run_file(c.json);
    CAF_REQUIRE(out.what == kind::error);
    CAF_CHECK_EQUAL(out.error.field, c.field);
    if (!contains(out.error.problem, c.problem))
      CAF_FAIL("problem \"" << out.error.problem << "\" lacks \"" << c.problem
                            << "\"");
  }
}

CAF_TEST(an unknown key error lists the known keys) {
  auto out = run_file(R"({"logging": {"levle": "info"}})");
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "logging.levle");
  CAF_CHECK(contains(out.error.problem, "level"));
}

CAF_TEST(invalid JSON is an error on config naming the file) {
  temp_file file{R"({"server": {"port": 6001)"};
  auto out = run({"--config", file.str()});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "config");
  CAF_CHECK(contains(out.error.problem, file.str()));
  CAF_CHECK(contains(out.error.problem, "not valid JSON"));
  CAF_CHECK(contains(out.error.problem, "line 1"));
}

CAF_TEST(a top level that is not an object is an error on config) {
  auto out = run_file("[1, 2]");
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "config");
}

CAF_TEST(a missing file is an error on config naming the path) {
  auto path = (fs::temp_directory_path() / "starling_no_such_config.json")
                .string();
  auto out = run({"--config", path});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "config");
  CAF_CHECK(contains(out.error.problem, path));
}

CAF_TEST(a directory as config file is an error on config) {
  auto path = fs::temp_directory_path().string();
  auto out = run({}, {{"STARLING_CONFIG", path}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "config");
  CAF_CHECK(contains(out.error.problem, path));
}

CAF_TEST(STARLING_CONFIG names the file and --config overrides it) {
  temp_file env_file{R"({"server": {"port": 7001}})"};
  temp_file flag_file{R"({"server": {"port": 7002}})"};
  auto out = run({}, {{"STARLING_CONFIG", env_file.str()}});
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK_EQUAL(out.value.server.port, 7001u);
  out = run({"--config=" + flag_file.str()},
            {{"STARLING_CONFIG", env_file.str()}});
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK_EQUAL(out.value.server.port, 7002u);
}

CAF_TEST(an empty STARLING_CONFIG means no file) {
  auto out = run({}, {{"STARLING_CONFIG", ""}});
  CAF_CHECK(out.what == kind::run);
}

CAF_TEST(environment overrides the file) {
  temp_file file{R"({"server": {"host": "0.0.0.0", "port": 7001},
                     "logging": {"level": "warn"}})"};
  auto out = run({}, {{"STARLING_CONFIG", file.str()},
                      {"STARLING_PORT", "7003"},
                      {"STARLING_LOG_LEVEL", "debug"}});
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK_EQUAL(out.value.server.port, 7003u);
  CAF_CHECK_EQUAL(out.value.server.host, "0.0.0.0");
  CAF_CHECK_EQUAL(out.value.logging.level, "debug");
}

CAF_TEST(flags override the environment) {
  env_map env{{"STARLING_PORT", "7003"}, {"STARLING_ADMIN_PORT", "7004"}};
  auto out = run({"--port", "7005"}, env);
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK_EQUAL(out.value.server.port, 7005u);
  CAF_CHECK_EQUAL(out.value.admin.port, 7004u);
  out = run({"--port=7006", "--admin-port=0"}, env);
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK_EQUAL(out.value.server.port, 7006u);
  CAF_CHECK_EQUAL(out.value.admin.port, 0u);
}

CAF_TEST(the last of a repeated flag wins) {
  auto out = run({"--port", "7001", "--port", "7002"});
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK_EQUAL(out.value.server.port, 7002u);
}

CAF_TEST(every environment variable reaches its field) {
  auto out = run({}, {{"STARLING_HOST", "0.0.0.0"},
                      {"STARLING_PORT", "7001"},
                      {"STARLING_PATH_PREFIX", "/p"},
                      {"STARLING_ACTIVITY_TIMEOUT", "30"},
                      {"STARLING_ADMIN_HOST", "127.0.0.3"},
                      {"STARLING_ADMIN_PORT", "7002"},
                      {"STARLING_ADMIN_TOKEN", "adm"},
                      {"STARLING_LOG_LEVEL", "trace"},
                      {"STARLING_BRIDGE", "nats"},
                      {"STARLING_NODE_ID", "node-7"},
                      {"STARLING_NATS_SERVERS",
                       "nats://a:4222, nats://b:4222,"},
                      {"STARLING_NATS_TOKEN", "ntok"},
                      {"STARLING_WORKER_THREADS", "8"},
                      {"HOME", "/root"}});
  if (out.what == kind::error)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  const auto& s = out.value;
  CAF_CHECK_EQUAL(s.server.host, "0.0.0.0");
  CAF_CHECK_EQUAL(s.server.port, 7001u);
  CAF_CHECK_EQUAL(s.server.path_prefix, "/p");
  CAF_CHECK_EQUAL(s.server.activity_timeout_s, 30u);
  CAF_CHECK_EQUAL(s.admin.host, "127.0.0.3");
  CAF_CHECK_EQUAL(s.admin.port, 7002u);
  CAF_CHECK_EQUAL(s.admin.token, "adm");
  CAF_CHECK_EQUAL(s.logging.level, "trace");
  CAF_CHECK_EQUAL(s.cluster.bridge, "nats");
  CAF_CHECK_EQUAL(s.cluster.node_id, "node-7");
  CAF_REQUIRE_EQUAL(s.nats.servers.size(), 2u);
  CAF_CHECK_EQUAL(s.nats.servers[0], "nats://a:4222");
  CAF_CHECK_EQUAL(s.nats.servers[1], "nats://b:4222");
  CAF_CHECK_EQUAL(s.nats.token, "ntok");
  CAF_CHECK_EQUAL(s.worker_threads, 8u);
}

CAF_TEST(every flag reaches its field) {
  auto out = run({"--host", "0.0.0.0", "--port", "7001", "--path-prefix",
                  "/p", "--activity-timeout", "30", "--admin-host",
                  "127.0.0.3", "--admin-port", "7002", "--admin-token", "adm",
                  "--log-level", "error", "--bridge", "nats", "--node-id",
                  "node-7", "--nats-servers", "nats://a:4222",
                  "--worker-threads", "2"});
  if (out.what == kind::error)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  const auto& s = out.value;
  CAF_CHECK_EQUAL(s.server.host, "0.0.0.0");
  CAF_CHECK_EQUAL(s.server.port, 7001u);
  CAF_CHECK_EQUAL(s.server.path_prefix, "/p");
  CAF_CHECK_EQUAL(s.server.activity_timeout_s, 30u);
  CAF_CHECK_EQUAL(s.admin.host, "127.0.0.3");
  CAF_CHECK_EQUAL(s.admin.port, 7002u);
  CAF_CHECK_EQUAL(s.admin.token, "adm");
  CAF_CHECK_EQUAL(s.logging.level, "error");
  CAF_CHECK_EQUAL(s.cluster.bridge, "nats");
  CAF_CHECK_EQUAL(s.cluster.node_id, "node-7");
  CAF_REQUIRE_EQUAL(s.nats.servers.size(), 1u);
  CAF_CHECK_EQUAL(s.nats.servers[0], "nats://a:4222");
  CAF_CHECK_EQUAL(s.worker_threads, 2u);
}

CAF_TEST(the environment app replaces the apps of the file) {
  temp_file file{R"({"apps": [{"id": "1", "key": "k1", "secret": "s1"},
                              {"id": "2", "key": "k2", "secret": "s2"}]})"};
  auto out = run({"--config", file.str()},
                 {{"STARLING_APP_ID", "9"},
                  {"STARLING_APP_KEY", "k9"},
                  {"STARLING_APP_SECRET", "s9"},
                  {"STARLING_APP_CLIENT_MESSAGES", "true"}});
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK(!out.value.default_app);
  CAF_REQUIRE_EQUAL(out.value.apps.size(), 1u);
  CAF_CHECK_EQUAL(out.value.apps[0].id, "9");
  CAF_CHECK_EQUAL(out.value.apps[0].key, "k9");
  CAF_CHECK_EQUAL(out.value.apps[0].secret, "s9");
  CAF_CHECK(out.value.apps[0].enable_client_messages);
}

CAF_TEST(the environment app keeps client messages off by default) {
  auto out = run({}, {{"STARLING_APP_ID", "9"},
                      {"STARLING_APP_KEY", "k9"},
                      {"STARLING_APP_SECRET", "s9"}});
  CAF_REQUIRE(out.what == kind::run);
  CAF_REQUIRE_EQUAL(out.value.apps.size(), 1u);
  CAF_CHECK(!out.value.apps[0].enable_client_messages);
}

CAF_TEST(a partial environment app is an error naming the missing variable) {
  auto out = run({}, {{"STARLING_APP_ID", "9"}, {"STARLING_APP_KEY", "k9"}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "STARLING_APP_SECRET");
  out = run({}, {{"STARLING_APP_CLIENT_MESSAGES", "true"}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "STARLING_APP_CLIENT_MESSAGES");
  out = run({}, {{"STARLING_APP_ID", "9"},
                 {"STARLING_APP_KEY", "k9"},
                 {"STARLING_APP_SECRET", "s9"},
                 {"STARLING_APP_CLIENT_MESSAGES", "yes please"}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "STARLING_APP_CLIENT_MESSAGES");
  CAF_CHECK_EQUAL(out.error.problem, "must be true or false");
}

CAF_TEST(bad environment numbers name the variable) {
  auto out = run({}, {{"STARLING_PORT", "http"}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "STARLING_PORT");
  CAF_CHECK_EQUAL(out.error.problem, "must be 0..65535");
  out = run({}, {{"STARLING_ADMIN_PORT", "65536"}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "STARLING_ADMIN_PORT");
  out = run({}, {{"STARLING_WORKER_THREADS", "-1"}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "STARLING_WORKER_THREADS");
  CAF_CHECK_EQUAL(out.error.problem, "must be a non-negative integer");
  out = run({}, {{"STARLING_ACTIVITY_TIMEOUT", "99999999999"}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "STARLING_ACTIVITY_TIMEOUT");
}

CAF_TEST(bad flag values name the flag) {
  auto out = run({"--port", "6001x"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "--port");
  CAF_CHECK_EQUAL(out.error.problem, "must be 0..65535");
  out = run({"--worker-threads=many"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "--worker-threads");
}

CAF_TEST(a flag value that fails validation names the settings field) {
  auto out = run({"--worker-threads", "65"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "worker_threads");
  out = run({"--bridge", "redis"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "cluster.bridge");
}

CAF_TEST(unknown flags are errors) {
  auto out = run({"--prot", "6001"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "--prot");
  CAF_CHECK_EQUAL(out.error.problem, "unknown flag; see --help");
  out = run({"--prot=6001"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "--prot");
  out = run({"-p"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "-p");
  CAF_CHECK_EQUAL(out.error.problem, "unknown flag; see --help");
  // A secret only ever comes from the environment or the file.
  out = run({"--nats-token", "x"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "--nats-token");
}

CAF_TEST(stray arguments and missing values are errors) {
  auto out = run({"6001"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "6001");
  out = run({"--port"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "--port");
  CAF_CHECK(contains(out.error.problem, "needs a value"));
  out = run({"--config="});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "--config");
}

CAF_TEST(help returns the usage text) {
  for (auto flag : {"--help", "-h"}) {
    auto out = run({flag});
    CAF_REQUIRE(out.what == kind::help);
    CAF_CHECK_EQUAL(out.help_text, usage());
  }
}

CAF_TEST(help wins over other errors) {
  auto out = run({"--bogus", "--help"});
  CAF_CHECK(out.what == kind::help);
  temp_file broken{"{"};
  out = run({"--config", broken.str(), "-h"});
  CAF_CHECK(out.what == kind::help);
}

CAF_TEST(usage lists every flag and environment variable) {
  auto text = usage();
  for (auto name :
       {"--config", "--host", "--port", "--path-prefix", "--activity-timeout",
        "--admin-host", "--admin-port", "--admin-token", "--log-level",
        "--bridge", "--node-id", "--nats-servers", "--worker-threads",
        "--help", "-h", "STARLING_CONFIG", "STARLING_HOST", "STARLING_PORT",
        "STARLING_PATH_PREFIX", "STARLING_ACTIVITY_TIMEOUT",
        "STARLING_ADMIN_HOST", "STARLING_ADMIN_PORT", "STARLING_ADMIN_TOKEN",
        "STARLING_LOG_LEVEL", "STARLING_BRIDGE", "STARLING_NODE_ID",
        "STARLING_NATS_SERVERS", "STARLING_NATS_TOKEN", "--nats-tls",
        "--nats-tls-ca-file", "--nats-tls-cert-file", "--nats-tls-key-file",
        "--nats-tls-skip-verify", "--nats-tls-hostname",
        "--nats-reconnect-wait-ms", "--nats-reconnect-max-wait-ms",
        "--nats-reconnect-jitter-ms", "STARLING_NATS_TLS",
        "STARLING_NATS_TLS_CA_FILE", "STARLING_NATS_TLS_CERT_FILE",
        "STARLING_NATS_TLS_KEY_FILE", "STARLING_NATS_TLS_SKIP_VERIFY",
        "STARLING_NATS_TLS_HOSTNAME", "STARLING_NATS_RECONNECT_WAIT_MS",
        "STARLING_NATS_RECONNECT_MAX_WAIT_MS",
        "STARLING_NATS_RECONNECT_JITTER_MS",
        "STARLING_WORKER_THREADS", "STARLING_APP_ID", "STARLING_APP_KEY",
        "STARLING_APP_SECRET", "STARLING_APP_CLIENT_MESSAGES"})
    if (!contains(text, name))
      CAF_FAIL("usage lacks " << name);
  CAF_CHECK(contains(text, "(default 6001)"));
}

CAF_TEST(app logic bindings are read with their defaults) {
  temp_file file{R"({"apps":[{"id":"a","key":"k","secret":"s","logic":[
    {"actor":"ticker"},
    {"actor":"chat_filter","channels":"private-chat-*","timeout_ms":50,
     "max_restarts":9,"restart_window_s":3,"max_backoff_ms":20}]}]})"};
  std::vector<const char*> argv{"starling", "--config", nullptr};
  auto path = file.str();
  argv[2] = path.c_str();
  auto out = load(3, argv.data(), {}, {"chat_filter", "ticker"});
  if (out.what != kind::run)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  auto& logic = out.value.apps.at(0).logic;
  CAF_REQUIRE_EQUAL(logic.size(), 2u);
  CAF_CHECK_EQUAL(logic[0].actor, "ticker");
  CAF_CHECK_EQUAL(logic[0].channels, "");
  CAF_CHECK_EQUAL(logic[0].timeout_ms, 200u);
  CAF_CHECK_EQUAL(logic[0].max_restarts, 5u);
  CAF_CHECK_EQUAL(logic[1].channels, "private-chat-*");
  CAF_CHECK_EQUAL(logic[1].timeout_ms, 50u);
  CAF_CHECK_EQUAL(logic[1].max_restarts, 9u);
  CAF_CHECK_EQUAL(logic[1].restart_window_s, 3u);
  CAF_CHECK_EQUAL(logic[1].max_backoff_ms, 20u);
  // The plain binary registers no logic: the same file is a config error.
  auto plain = run({"--config", path});
  CAF_CHECK(plain.what == kind::error);
  CAF_CHECK_EQUAL(plain.error.field, "apps[0].logic[0].actor");
  // A typo'd key inside a binding is named.
  auto typo = run_file(R"({"apps":[{"id":"a","key":"k","secret":"s",
    "logic":[{"actor":"ticker","channel":"x"}]}]})");
  CAF_CHECK(typo.what == kind::error);
  CAF_CHECK_EQUAL(typo.error.field, "apps[0].logic[0].channel");
}

// -- nats TLS and reconnect back-off ---------------------------------------------

CAF_TEST(nats TLS and back-off keys are read from the file) {
  temp_file ca{"ca"}, cert{"cert"}, key{"key"};
  auto out = run_file(R"({"cluster": {"bridge": "nats"},
    "nats": {"servers": ["tls://a:4222"], "tls": true,
             "tls_ca_file": ")" + ca.str() + R"(",
             "tls_cert_file": ")" + cert.str() + R"(",
             "tls_key_file": ")" + key.str() + R"(",
             "tls_skip_verify": true, "tls_hostname": "nats.internal",
             "reconnect_wait_ms": 20, "reconnect_max_wait_ms": 800,
             "reconnect_jitter_ms": 7}})");
  if (out.what == kind::error)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  const auto& n = out.value.nats;
  CAF_CHECK(n.tls);
  CAF_CHECK_EQUAL(n.tls_ca_file, ca.str());
  CAF_CHECK_EQUAL(n.tls_cert_file, cert.str());
  CAF_CHECK_EQUAL(n.tls_key_file, key.str());
  CAF_CHECK(n.tls_skip_verify);
  CAF_CHECK_EQUAL(n.tls_hostname, "nats.internal");
  CAF_CHECK_EQUAL(n.reconnect_wait_ms, 20u);
  CAF_CHECK_EQUAL(n.reconnect_max_wait_ms, 800u);
  CAF_CHECK_EQUAL(n.reconnect_jitter_ms, 7u);
}

CAF_TEST(a tls URL turns TLS on without the tls key) {
  auto out = run({"--bridge", "nats", "--nats-servers", "tls://a:4222"});
  if (out.what == kind::error)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  CAF_CHECK(!out.value.nats.tls);
  CAF_CHECK(out.value.nats.uses_tls());
  out = run({"--bridge", "nats", "--nats-servers", "nats://a:4222"});
  CAF_REQUIRE(out.what == kind::run);
  CAF_CHECK(!out.value.nats.uses_tls());
}

CAF_TEST(nats TLS and back-off variables reach their fields and flags win) {
  temp_file ca{"ca"}, cert{"cert"}, key{"key"}, other{"other"};
  env_map env{{"STARLING_BRIDGE", "nats"},
              {"STARLING_NATS_SERVERS", "nats://a:4222"},
              {"STARLING_NATS_TLS", "true"},
              {"STARLING_NATS_TLS_CA_FILE", ca.str()},
              {"STARLING_NATS_TLS_CERT_FILE", cert.str()},
              {"STARLING_NATS_TLS_KEY_FILE", key.str()},
              {"STARLING_NATS_TLS_SKIP_VERIFY", "1"},
              {"STARLING_NATS_TLS_HOSTNAME", "env.host"},
              {"STARLING_NATS_RECONNECT_WAIT_MS", "30"},
              {"STARLING_NATS_RECONNECT_MAX_WAIT_MS", "900"},
              {"STARLING_NATS_RECONNECT_JITTER_MS", "0"}};
  auto out = run({}, env);
  if (out.what == kind::error)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  auto n = out.value.nats;
  CAF_CHECK(n.tls);
  CAF_CHECK_EQUAL(n.tls_ca_file, ca.str());
  CAF_CHECK_EQUAL(n.tls_cert_file, cert.str());
  CAF_CHECK_EQUAL(n.tls_key_file, key.str());
  CAF_CHECK(n.tls_skip_verify);
  CAF_CHECK_EQUAL(n.tls_hostname, "env.host");
  CAF_CHECK_EQUAL(n.reconnect_wait_ms, 30u);
  CAF_CHECK_EQUAL(n.reconnect_max_wait_ms, 900u);
  CAF_CHECK_EQUAL(n.reconnect_jitter_ms, 0u);
  out = run({"--nats-tls-ca-file", other.str(), "--nats-tls-skip-verify",
             "false", "--nats-tls-hostname=flag.host",
             "--nats-reconnect-wait-ms", "40", "--nats-reconnect-max-wait-ms",
             "40", "--nats-reconnect-jitter-ms", "5"},
            env);
  if (out.what == kind::error)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  n = out.value.nats;
  CAF_CHECK_EQUAL(n.tls_ca_file, other.str());
  CAF_CHECK(!n.tls_skip_verify);
  CAF_CHECK_EQUAL(n.tls_hostname, "flag.host");
  CAF_CHECK_EQUAL(n.reconnect_wait_ms, 40u);
  CAF_CHECK_EQUAL(n.reconnect_max_wait_ms, 40u);
  CAF_CHECK_EQUAL(n.reconnect_jitter_ms, 5u);
  out = run({"--nats-tls", "false", "--nats-tls-ca-file", "",
             "--nats-tls-cert-file", "", "--nats-tls-key-file", "",
             "--nats-tls-skip-verify", "0", "--nats-tls-hostname", ""},
            env);
  if (out.what == kind::error)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  CAF_CHECK(!out.value.nats.tls);
}

CAF_TEST(bad nats TLS and back-off values name their field) {
  auto out = run({}, {{"STARLING_NATS_TLS", "yes"}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "STARLING_NATS_TLS");
  CAF_CHECK_EQUAL(out.error.problem, "must be true or false");
  out = run({"--nats-reconnect-max-wait-ms", "5s"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "--nats-reconnect-max-wait-ms");
  out = run({}, {{"STARLING_NATS_RECONNECT_JITTER_MS", "-1"}});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "STARLING_NATS_RECONNECT_JITTER_MS");
  out = run_file(R"({"nats": {"tls": "yes"}})");
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "nats.tls");
  out = run_file(R"({"nats": {"tls_ca_file": 1}})");
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "nats.tls_ca_file");
  out = run_file(R"({"nats": {"reconnect_max_wait_ms": -5}})");
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "nats.reconnect_max_wait_ms");
  // Validation names the settings field whatever set it.
  temp_file cert{"cert"};
  out = run({"--bridge", "nats", "--nats-servers", "tls://a:4222",
             "--nats-tls-cert-file", cert.str()});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "nats.tls_key_file");
  out = run({"--nats-reconnect-wait-ms", "1000",
             "--nats-reconnect-max-wait-ms", "999"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "nats.reconnect_max_wait_ms");
  out = run({"--bridge", "nats", "--nats-servers", "tls://a:4222",
             "--nats-tls-ca-file", "/nonexistent/starling-ca.pem"});
  CAF_REQUIRE(out.what == kind::error);
  CAF_CHECK_EQUAL(out.error.field, "nats.tls_ca_file");
  CAF_CHECK(contains(out.error.problem, "/nonexistent/starling-ca.pem"));
}
