// Tests for config/schema and config/describe: the key table is consistent,
// every node setting is reachable from the environment and (secrets aside)
// a flag, and the texts made from it (help, reference, effective config,
// reload diff) say what the table says.
#define CAF_SUITE config_schema
#include <caf/test/unit_test.hpp>

#include "config/schema.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/describe.hpp"
#include "config/load.hpp"
#include "config/validate.hpp"

using namespace starling::config;

namespace {

using json = nlohmann::json;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

const void* owner_for(scope where) {
  static const settings node;
  static const app_settings app;
  static const webhook_settings hook;
  static const logic_binding_settings logic;
  switch (where) {
    case scope::node:
      return &node;
    case scope::app:
      return &app;
    case scope::webhook:
      return &hook;
    case scope::logic:
      return &logic;
  }
  return nullptr;
}

// A valid value of `k` other than its default, as text and as JSON.
std::pair<std::string, std::string> other_value(const key& k) {
  switch (k.type) {
    case value_type::string:
      if (!k.one_of.empty())
        return {std::string{k.one_of.back()},
                "\"" + std::string{k.one_of.back()} + "\""};
      return {"x-1", "\"x-1\""};
    case value_type::boolean:
      return default_json(k) == "true" ? std::pair{"false", "false"}
                                       : std::pair{"true", "true"};
    case value_type::port:
      return {"6123", "6123"};
    case value_type::count: {
      auto n = k.max ? *k.max : (k.min ? *k.min + 7 : 7);
      return {std::to_string(n), std::to_string(n)};
    }
    case value_type::string_list:
      if (!k.one_of.empty())
        return {std::string{k.one_of.front()},
                "[\"" + std::string{k.one_of.front()} + "\"]"};
      return {"a, b", "[\"a\",\"b\"]"};
    case value_type::string_map:
      return {"X-A=1, X-B=two", "{\"X-A\":\"1\",\"X-B\":\"two\"}"};
  }
  return {};
}

} // namespace

CAF_TEST(paths variables and flags are unique and well formed) {
  std::set<std::string_view> paths;
  std::set<std::string_view> envs;
  std::set<std::string_view> flags;
  for (const auto& k : keys()) {
    CAF_MESSAGE(k.path);
    CAF_CHECK(paths.insert(k.path).second);
    CAF_CHECK(k.field != nullptr);
    CAF_CHECK(!k.help.empty());
    CAF_CHECK(k.path.substr(0, scope_prefix(k.scope).size())
              == scope_prefix(k.scope));
    if (!k.env.empty()) {
      CAF_CHECK(envs.insert(k.env).second);
      CAF_CHECK_EQUAL(k.env.substr(0, 9), "STARLING_");
    }
    if (!k.flag.empty()) {
      CAF_CHECK(flags.insert(k.flag).second);
      CAF_CHECK_EQUAL(k.flag.substr(0, 2), "--");
      CAF_CHECK(!k.value_name.empty());
    }
    if (k.min && k.max)
      CAF_CHECK(*k.min <= *k.max);
    // The default itself satisfies the key's constraints, unless the key
    // is required (an app has no id until one is given).
    if (!k.not_empty)
      CAF_CHECK(!check_constraints(k, owner_for(k.scope)));
  }
  CAF_CHECK(envs.count("STARLING_CONFIG") == 0);
}

CAF_TEST(every node setting has a variable and every non-secret one a flag) {
  for (const auto& k : keys()) {
    if (k.scope != scope::node)
      continue;
    CAF_MESSAGE(k.path);
    CAF_CHECK(!k.env.empty());
    // Secrets stay out of argv (visible in ps); admin.token keeps the flag
    // it always had.
    if (k.secret && k.path != "admin.token")
      CAF_CHECK(k.flag.empty());
    if (!k.secret)
      CAF_CHECK(!k.flag.empty());
  }
}

CAF_TEST(per-app keys are file only except the single-app variables) {
  std::set<std::string_view> app_envs;
  for (const auto& k : keys()) {
    if (k.scope == scope::node)
      continue;
    CAF_CHECK(k.flag.empty());
    if (!k.env.empty())
      app_envs.insert(k.env);
  }
  CAF_CHECK_EQUAL(app_envs.size(), 4u);
  for (auto name : {"STARLING_APP_ID", "STARLING_APP_KEY",
                    "STARLING_APP_SECRET", "STARLING_APP_CLIENT_MESSAGES"})
    CAF_CHECK(app_envs.count(name) == 1);
}

CAF_TEST(text values round trip through every key) {
  for (const auto& k : keys()) {
    CAF_MESSAGE(k.path);
    settings s;
    app_settings app;
    webhook_settings hook;
    logic_binding_settings logic;
    void* owner = k.scope == scope::node  ? static_cast<void*>(&s)
                  : k.scope == scope::app ? static_cast<void*>(&app)
                  : k.scope == scope::webhook ? static_cast<void*>(&hook)
                                              : static_cast<void*>(&logic);
    auto [text, expected] = other_value(k);
    auto problem = set_from_text(k, owner, text);
    if (problem)
      CAF_FAIL(k.path << ": " << *problem);
    CAF_CHECK_EQUAL(value_json(k, owner), expected);
    CAF_CHECK(!check_constraints(k, owner) || k.not_empty);
    CAF_CHECK_NOT_EQUAL(value_json(k, owner), default_json(k));
  }
}

CAF_TEST(bad text names the kind of value) {
  settings s;
  auto problem = [&s](const char* path, const std::string& text) {
    return set_from_text(*find_key(path), &s, text).value_or("");
  };
  CAF_CHECK_EQUAL(problem("server.port", "70000"), "must be 0..65535");
  CAF_CHECK_EQUAL(problem("server.shutdown_grace_s", "5s"),
                  "must be a non-negative integer");
  CAF_CHECK_EQUAL(problem("nats.tls", "yes"), "must be true or false");
  CAF_CHECK_EQUAL(problem("nats.servers", "nats://a:1, ,"), "");
  CAF_CHECK_EQUAL(s.nats.servers.size(), 1u);
}

CAF_TEST(constraints give the range the default and the value) {
  settings s;
  s.worker_threads = 65;
  auto problem = check_constraints(*find_key("worker_threads"), &s);
  CAF_REQUIRE(problem);
  CAF_CHECK_EQUAL(*problem, "must be 1..64 (default 1), not 65");
  s.server.max_frame_bytes = 10;
  problem = check_constraints(*find_key("server.max_frame_bytes"), &s);
  CAF_REQUIRE(problem);
  CAF_CHECK_EQUAL(*problem,
                  "must be at least 1024 bytes (default 65536), not 10");
  s.logging.level = "loud";
  problem = check_constraints(*find_key("logging.level"), &s);
  CAF_REQUIRE(problem);
  CAF_CHECK(contains(*problem, "trace, debug, info, warn, error, off"));
  webhook_settings hook;
  hook.event_types = {"member_added", "member_addded"};
  problem = check_constraints(*find_key("apps[].webhooks[].event_types"),
                              &hook);
  CAF_REQUIRE(problem);
  CAF_CHECK(contains(*problem, "\"member_addded\""));
}

CAF_TEST(validation applies the table to apps webhooks and logic) {
  settings s;
  s.apps.resize(2);
  s.apps[0] = app_settings{};
  s.apps[0].id = "a";
  s.apps[0].key = "k";
  s.apps[0].secret = "x";
  s.apps[1] = s.apps[0];
  s.apps[1].id = "b";
  s.apps[1].key = "l";
  s.apps[1].webhooks.resize(1);
  s.apps[1].webhooks[0].url = "http://127.0.0.1:1/h";
  s.apps[1].webhooks[0].event_types = {"nope"};
  auto e = validate(s);
  CAF_REQUIRE(e);
  CAF_CHECK_EQUAL(e->field, "apps[1].webhooks[0].event_types");
  s.apps[1].webhooks[0].event_types = {};
  s.apps[1].limits.max_channel_name_length = 2000;
  e = validate(s);
  CAF_REQUIRE(e);
  CAF_CHECK_EQUAL(e->field, "apps[1].limits.max_channel_name_length");
  CAF_CHECK(contains(e->problem, "1..1000"));
}

CAF_TEST(a wildcard middleman address needs an advertised host) {
  settings s;
  s.apps.resize(1);
  s.apps[0].id = "a";
  s.apps[0].key = "k";
  s.apps[0].secret = "x";
  s.cluster.bridge = "nats";
  s.nats.servers = {"nats://127.0.0.1:4222"};
  s.cluster.middleman_host = "0.0.0.0";
  auto e = validate(s);
  CAF_REQUIRE(e);
  CAF_CHECK_EQUAL(e->field, "cluster.middleman_advertise_host");
  s.cluster.middleman_advertise_host = "starling-1";
  CAF_CHECK(!validate(s));
  // One node alone announces nothing: no advertised host needed.
  s.cluster.bridge = "local";
  s.cluster.middleman_advertise_host.clear();
  CAF_CHECK(!validate(s));
}

CAF_TEST(the effective config has every key and masks secrets) {
  settings s;
  s.apps.resize(1);
  s.apps[0].id = "a";
  s.apps[0].key = "k";
  s.apps[0].secret = "very-secret";
  s.apps[0].logic.resize(1);
  s.apps[0].logic[0].actor = "ticker";
  s.nats.password = "hunter2";
  s.server.port = 7001;
  auto text = effective_json(s);
  CAF_CHECK(!contains(text, "very-secret"));
  CAF_CHECK(!contains(text, "hunter2"));
  auto doc = json::parse(text);
  CAF_CHECK_EQUAL(doc["server"]["port"].get<int>(), 7001);
  CAF_CHECK_EQUAL(doc["apps"][0]["secret"].get<std::string>(), "********");
  CAF_CHECK_EQUAL(doc["nats"]["password"].get<std::string>(), "********");
  // Unset secrets stay empty, so an operator sees they are missing.
  CAF_CHECK_EQUAL(doc["nats"]["token"].get<std::string>(), "");
  CAF_CHECK(doc["apps"][0]["webhooks"].is_array());
  CAF_CHECK_EQUAL(doc["apps"][0]["logic"][0]["timeout_ms"].get<int>(), 200);
  for (const auto& k : keys()) {
    if (k.scope == scope::webhook)
      continue; // No webhook in this config.
    std::string pointer = "/" + std::string{k.path};
    for (auto [from, to] : {std::pair<std::string, std::string>{"[]", "/0"},
                            {".", "/"}}) {
      for (auto at = pointer.find(from); at != std::string::npos;
           at = pointer.find(from))
        pointer.replace(at, from.size(), to);
    }
    CAF_MESSAGE(pointer);
    CAF_CHECK(doc.contains(json::json_pointer{pointer}));
  }
}

CAF_TEST(changed keys name what a reload changes) {
  settings a;
  a.apps.resize(1);
  a.apps[0].id = "a";
  auto b = a;
  CAF_CHECK(changed_keys(a, b).empty());
  b.logging.level = "debug";
  b.apps[0].limits.max_connections = 9;
  auto changed = changed_keys(a, b);
  CAF_REQUIRE_EQUAL(changed.size(), 2u);
  CAF_CHECK_EQUAL(changed[0], "logging.level");
  CAF_CHECK_EQUAL(changed[1], "apps[0].limits.max_connections");
  b = a;
  b.apps.resize(2);
  b.apps[1].id = "b";
  changed = changed_keys(a, b);
  CAF_REQUIRE_EQUAL(changed.size(), 1u);
  CAF_CHECK_EQUAL(changed[0], "apps");
}

CAF_TEST(the reference and the schema list every key) {
  auto reference = reference_markdown();
  auto schema = json::parse(schema_json());
  std::set<std::string> schema_paths;
  for (const auto& entry : schema["keys"])
    schema_paths.insert(entry["path"].get<std::string>());
  for (const auto& k : keys()) {
    CAF_CHECK(contains(reference, "| `" + std::string{k.path} + "` |"));
    if (!k.env.empty())
      CAF_CHECK(contains(reference, "`" + std::string{k.env} + "`"));
    CAF_CHECK(schema_paths.count(std::string{k.path}) == 1);
  }
  CAF_CHECK_EQUAL(schema_paths.size(), keys().size());
}

CAF_TEST(new flags and variables reach their fields) {
  std::vector<const char*> argv{"starling",
                                "--middleman-host", "127.0.0.2",
                                "--middleman-port", "7101",
                                "--shutdown-grace-s", "12",
                                "--max-frame-bytes=4096",
                                "--nats-subject-prefix", "blue",
                                "--nats-user", "u1"};
  std::map<std::string, std::string> env{
    {"STARLING_NATS_PASSWORD", "pw"},
    {"STARLING_MIDDLEMAN_ADVERTISE_HOST", "node-a.internal"},
    {"STARLING_HEARTBEAT_MS", "250"},
    {"STARLING_NODE_TIMEOUT_MS", "900"}};
  auto out = load(static_cast<int>(argv.size()), argv.data(), env);
  if (out.what != load_outcome::kind::run)
    CAF_FAIL(out.error.field << ": " << out.error.problem);
  const auto& s = out.value;
  CAF_CHECK_EQUAL(s.cluster.middleman_host, "127.0.0.2");
  CAF_CHECK_EQUAL(s.cluster.middleman_port, 7101u);
  CAF_CHECK_EQUAL(s.cluster.middleman_advertise_host, "node-a.internal");
  CAF_CHECK_EQUAL(s.cluster.heartbeat_ms, 250u);
  CAF_CHECK_EQUAL(s.cluster.node_timeout_ms, 900u);
  CAF_CHECK_EQUAL(s.server.shutdown_grace_s, 12u);
  CAF_CHECK_EQUAL(s.server.max_frame_bytes, 4096u);
  CAF_CHECK_EQUAL(s.nats.subject_prefix, "blue");
  CAF_CHECK_EQUAL(s.nats.user, "u1");
  CAF_CHECK_EQUAL(s.nats.password, "pw");
  CAF_CHECK(out.warnings.empty());
}

CAF_TEST(commands and warnings) {
  auto run = [](std::vector<const char*> argv,
                std::map<std::string, std::string> env = {}) {
    argv.insert(argv.begin(), "starling");
    return load(static_cast<int>(argv.size()), argv.data(), env);
  };
  CAF_CHECK(run({"--version"}).what == load_outcome::kind::version);
  CAF_CHECK(run({"--check-config"}).what == load_outcome::kind::check_config);
  auto bad = run({"--check-config", "--worker-threads", "0"});
  CAF_CHECK(bad.what == load_outcome::kind::error);
  CAF_CHECK_EQUAL(bad.error.field, "worker_threads");
  auto reference = run({"--config-reference", "--bogus"});
  CAF_REQUIRE(reference.what == load_outcome::kind::help);
  CAF_CHECK_EQUAL(reference.help_text, reference_markdown());
  auto schema = run({"--config-schema"});
  CAF_REQUIRE(schema.what == load_outcome::kind::help);
  CAF_CHECK_EQUAL(schema.help_text, schema_json());
  auto takes_none = run({"--version=2"});
  CAF_CHECK(takes_none.what == load_outcome::kind::error);
  CAF_CHECK_EQUAL(takes_none.error.field, "--version");
  auto typo = run({}, {{"STARLING_PROT", "1"}, {"STARLING_PORT", "7005"}});
  CAF_REQUIRE(typo.what == load_outcome::kind::run);
  CAF_REQUIRE_EQUAL(typo.warnings.size(), 1u);
  CAF_CHECK(contains(typo.warnings[0], "STARLING_PROT"));
  // The nats password is a secret: no flag, so it never shows in ps.
  auto secret_flag = run({"--nats-password", "x"});
  CAF_CHECK(secret_flag.what == load_outcome::kind::error);
  CAF_CHECK_EQUAL(secret_flag.error.field, "--nats-password");
}

CAF_TEST(value_json replaces invalid UTF-8 from a flag or variable) {
  settings s;
  const auto& host = *find_key("server.host");
  CAF_REQUIRE(!set_from_text(host, &s, "\xff"));
  CAF_CHECK_EQUAL(value_json(host, &s), "\"\xef\xbf\xbd\"");
  CAF_CHECK(!effective_json(s).empty());
}
