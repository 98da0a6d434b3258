// Reads settings from defaults, a JSON file, STARLING_* variables and flags,
// in that order of precedence, then hands them to validate().
#include "config/load.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/defaults.hpp"
#include "config/validate.hpp"

namespace starling::config {

namespace {

using json = nlohmann::json;
using env_map = std::map<std::string, std::string>;

// -- failing ------------------------------------------------------------------

// Thrown and caught inside this file only: load() turns it into its outcome.
// Throwing lets each of the many field readers stay one line long.
struct field_failure {
  load_error error;
};

[[noreturn]] void fail(std::string field, std::string problem) {
  throw field_failure{load_error{std::move(field), std::move(problem)}};
}

constexpr uint64_t max_u16 = std::numeric_limits<uint16_t>::max();
constexpr uint64_t max_u32 = std::numeric_limits<uint32_t>::max();

constexpr std::string_view port_problem = "must be 0..65535";
constexpr std::string_view count_problem = "must be a non-negative integer";
constexpr std::string_view too_big_problem = "must be at most 4294967295";

// -- values from text (environment and flags) ---------------------------------

// Returns the value of a string of decimal digits, or nothing for anything
// else (signs, spaces, an empty string, more than 64 bits).
std::optional<uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 20)
    return std::nullopt;
  uint64_t out = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    auto digit = static_cast<uint64_t>(c - '0');
    if (out > (std::numeric_limits<uint64_t>::max() - digit) / 10)
      return std::nullopt;
    out = out * 10 + digit;
  }
  return out;
}

void parse_port(std::string_view field, const std::string& text,
                uint16_t& out) {
  auto n = parse_decimal(text);
  if (!n || *n > max_u16)
    fail(std::string{field}, std::string{port_problem});
  out = static_cast<uint16_t>(*n);
}

void parse_count(std::string_view field, const std::string& text,
                 uint32_t& out) {
  auto n = parse_decimal(text);
  if (!n)
    fail(std::string{field}, std::string{count_problem});
  if (*n > max_u32)
    fail(std::string{field}, std::string{too_big_problem});
  out = static_cast<uint32_t>(*n);
}

void parse_bool(std::string_view field, const std::string& text, bool& out) {
  if (text == "true" || text == "1")
    out = true;
  else if (text == "false" || text == "0")
    out = false;
  else
    fail(std::string{field}, "must be true or false");
}

// Splits "a, b,,c" into {"a", "b", "c"}: blanks around commas and empty
// items are dropped, so a trailing comma is harmless.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  auto flush = [&] {
    auto first = item.find_first_not_of(" \t");
    if (first != std::string::npos) {
      auto last = item.find_last_not_of(" \t");
      out.push_back(item.substr(first, last - first + 1));
    }
    item.clear();
  };
  for (char c : text) {
    if (c == ',')
      flush();
    else
      item += c;
  }
  flush();
  return out;
}

// -- options: the settings reachable by environment and flags -----------------

using apply_fn = void (*)(settings&, std::string_view field,
                          const std::string& value);
using show_fn = std::string (*)(const settings&);

// One setting reachable from the environment, the command line, or both.
// The table below drives parsing, precedence and the usage text alike.
struct option {
  std::string_view flag;       // "--host"; empty: environment only.
  std::string_view env;        // "STARLING_HOST".
  std::string_view value_name; // "ADDR" in the usage text.
  std::string_view help;       // One short line for the usage text.
  apply_fn apply;              // Nullptr: load() handles it by name.
  show_fn show_default;        // Nullptr: no default worth printing.
};

constexpr std::string_view config_flag = "--config";
constexpr std::string_view config_env = "STARLING_CONFIG";
constexpr std::string_view app_id_env = "STARLING_APP_ID";
constexpr std::string_view app_key_env = "STARLING_APP_KEY";
constexpr std::string_view app_secret_env = "STARLING_APP_SECRET";
constexpr std::string_view app_client_messages_env
  = "STARLING_APP_CLIENT_MESSAGES";

const std::vector<option>& options() {
  static const std::vector<option> table = {
    {config_flag, config_env, "FILE",
     "JSON config file; unknown keys are errors", nullptr, nullptr},
    {"--host", "STARLING_HOST", "ADDR", "public listen address",
     [](settings& s, std::string_view, const std::string& v) {
       s.server.host = v;
     },
     [](const settings& s) { return s.server.host; }},
    {"--port", "STARLING_PORT", "PORT",
     "public listen port; 0 picks a free one",
     [](settings& s, std::string_view f, const std::string& v) {
       parse_port(f, v, s.server.port);
     },
     [](const settings& s) { return std::to_string(s.server.port); }},
    {"--path-prefix", "STARLING_PATH_PREFIX", "PATH",
     "prefix before /app/<key> and /apps/<id>, e.g. /pusher",
     [](settings& s, std::string_view, const std::string& v) {
       s.server.path_prefix = v;
     },
     nullptr},
    {"--activity-timeout", "STARLING_ACTIVITY_TIMEOUT", "SECONDS",
     "silence before the server pings a client",
     [](settings& s, std::string_view f, const std::string& v) {
       parse_count(f, v, s.server.activity_timeout_s);
     },
     [](const settings& s) {
       return std::to_string(s.server.activity_timeout_s);
     }},
    {"--admin-host", "STARLING_ADMIN_HOST", "ADDR",
     "admin listen address",
     [](settings& s, std::string_view, const std::string& v) {
       s.admin.host = v;
     },
     [](const settings& s) { return s.admin.host; }},
    {"--admin-port", "STARLING_ADMIN_PORT", "PORT",
     "admin listen port; 0 picks a free one",
     [](settings& s, std::string_view f, const std::string& v) {
       parse_port(f, v, s.admin.port);
     },
     [](const settings& s) { return std::to_string(s.admin.port); }},
    {"--admin-token", "STARLING_ADMIN_TOKEN", "TOKEN",
     "bearer token for the admin endpoint; empty: no auth",
     [](settings& s, std::string_view, const std::string& v) {
       s.admin.token = v;
     },
     nullptr},
    {"--log-level", "STARLING_LOG_LEVEL", "LEVEL",
     "trace, debug, info, warn, error or off",
     [](settings& s, std::string_view, const std::string& v) {
       s.logging.level = v;
     },
     [](const settings& s) { return s.logging.level; }},
    {"--bridge", "STARLING_BRIDGE", "NAME",
     "local for one node, nats for a cluster",
     [](settings& s, std::string_view, const std::string& v) {
       s.cluster.bridge = v;
     },
     [](const settings& s) { return s.cluster.bridge; }},
    {"--node-id", "STARLING_NODE_ID", "ID",
     "this node's id in the cluster; empty: generated at start",
     [](settings& s, std::string_view, const std::string& v) {
       s.cluster.node_id = v;
     },
     nullptr},
    {"--nats-servers", "STARLING_NATS_SERVERS", "URLS",
     "comma-separated NATS URLs, e.g. nats://127.0.0.1:4222",
     [](settings& s, std::string_view, const std::string& v) {
       s.nats.servers = split_list(v);
     },
     nullptr},
    {"", "STARLING_NATS_TOKEN", "TOKEN", "NATS token auth",
     [](settings& s, std::string_view, const std::string& v) {
       s.nats.token = v;
     },
     nullptr},
    {"--nats-tls", "STARLING_NATS_TLS", "true|false",
     "TLS to NATS; a tls:// server URL turns it on too",
     [](settings& s, std::string_view f, const std::string& v) {
       parse_bool(f, v, s.nats.tls);
     },
     [](const settings& s) {
       return std::string{s.nats.tls ? "true" : "false"};
     }},
    {"--nats-tls-ca-file", "STARLING_NATS_TLS_CA_FILE", "FILE",
     "PEM CA certificates that sign the NATS server's certificate",
     [](settings& s, std::string_view, const std::string& v) {
       s.nats.tls_ca_file = v;
     },
     nullptr},
    {"--nats-tls-cert-file", "STARLING_NATS_TLS_CERT_FILE", "FILE",
     "PEM client certificate for mutual TLS (needs the key file)",
     [](settings& s, std::string_view, const std::string& v) {
       s.nats.tls_cert_file = v;
     },
     nullptr},
    {"--nats-tls-key-file", "STARLING_NATS_TLS_KEY_FILE", "FILE",
     "PEM private key of the client certificate",
     [](settings& s, std::string_view, const std::string& v) {
       s.nats.tls_key_file = v;
     },
     nullptr},
    {"--nats-tls-skip-verify", "STARLING_NATS_TLS_SKIP_VERIFY", "true|false",
     "do not verify the NATS server's certificate (testing only)",
     [](settings& s, std::string_view f, const std::string& v) {
       parse_bool(f, v, s.nats.tls_skip_verify);
     },
     [](const settings& s) {
       return std::string{s.nats.tls_skip_verify ? "true" : "false"};
     }},
    {"--nats-tls-hostname", "STARLING_NATS_TLS_HOSTNAME", "NAME",
     "name expected in the NATS server's certificate; empty: the URL host",
     [](settings& s, std::string_view, const std::string& v) {
       s.nats.tls_hostname = v;
     },
     nullptr},
    {"--nats-reconnect-wait-ms", "STARLING_NATS_RECONNECT_WAIT_MS", "MS",
     "first wait before reconnecting to NATS; doubles per failed round",
     [](settings& s, std::string_view f, const std::string& v) {
       parse_count(f, v, s.nats.reconnect_wait_ms);
     },
     [](const settings& s) {
       return std::to_string(s.nats.reconnect_wait_ms);
     }},
    {"--nats-reconnect-max-wait-ms", "STARLING_NATS_RECONNECT_MAX_WAIT_MS",
     "MS", "longest wait between NATS reconnect rounds",
     [](settings& s, std::string_view f, const std::string& v) {
       parse_count(f, v, s.nats.reconnect_max_wait_ms);
     },
     [](const settings& s) {
       return std::to_string(s.nats.reconnect_max_wait_ms);
     }},
    {"--nats-reconnect-jitter-ms", "STARLING_NATS_RECONNECT_JITTER_MS", "MS",
     "random 0..MS added to each NATS reconnect wait",
     [](settings& s, std::string_view f, const std::string& v) {
       parse_count(f, v, s.nats.reconnect_jitter_ms);
     },
     [](const settings& s) {
       return std::to_string(s.nats.reconnect_jitter_ms);
     }},
    {"--worker-threads", "STARLING_WORKER_THREADS", "N",
     "CAF scheduler threads, 1..64",
     [](settings& s, std::string_view f, const std::string& v) {
       parse_count(f, v, s.worker_threads);
     },
     [](const settings& s) { return std::to_string(s.worker_threads); }},
    {"", app_id_env, "ID", "id of the single app (needs key and secret)",
     nullptr, nullptr},
    {"", app_key_env, "KEY", "key of the single app", nullptr, nullptr},
    {"", app_secret_env, "SECRET", "secret of the single app", nullptr,
     nullptr},
    {"", app_client_messages_env, "true|false",
     "let the single app's clients send client- events", nullptr, nullptr},
  };
  return table;
}

const option* find_flag(std::string_view name) {
  for (const auto& opt : options())
    if (!opt.flag.empty() && opt.flag == name)
      return &opt;
  return nullptr;
}

// -- command line -------------------------------------------------------------

// One flag from the command line with its value.
struct flag_value {
  const option* opt;
  std::string value;
};

// The command line, scanned to the end so that --help wins over any error.
struct parsed_args {
  bool help = false;
  std::vector<flag_value> flags;
  std::optional<load_error> error; // The first problem.
};

parsed_args parse_args(int argc, const char* const* argv) {
  parsed_args out;
  auto note = [&out](std::string field, std::string problem) {
    if (!out.error)
      out.error = load_error{std::move(field), std::move(problem)};
  };
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == nullptr)
      continue;
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg.size() <= 2 || arg.substr(0, 2) != "--") {
      if (!arg.empty() && arg.front() == '-' && arg != "-" && arg != "--")
        note(std::string{arg}, "unknown flag; see --help");
      else
        note(std::string{arg},
             "unexpected argument; settings are flags like --port 6001, "
             "see --help");
      continue;
    }
    auto eq = arg.find('=');
    auto name = arg.substr(0, eq);
    const auto* opt = find_flag(name);
    if (opt == nullptr) {
      note(std::string{name}, name == "--help" ? "takes no value"
                                               : "unknown flag; see --help");
      continue;
    }
    if (eq != std::string_view::npos) {
      out.flags.push_back({opt, std::string{arg.substr(eq + 1)}});
    } else if (i + 1 < argc && argv[i + 1] != nullptr) {
      out.flags.push_back({opt, argv[++i]});
    } else {
      note(std::string{name}, "needs a value: " + std::string{name} + " "
                                + std::string{opt->value_name});
    }
  }
  return out;
}

// -- JSON file ----------------------------------------------------------------

std::string read_config_file(const std::string& path) {
  namespace fs = std::filesystem;
  auto where = "cannot read config file \"" + path + "\": ";
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (!fs::exists(status))
    fail("config", where + "no such file; fix --config or STARLING_CONFIG");
  if (fs::is_directory(status))
    fail("config", where + "it is a directory, not a JSON file");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    fail("config", where + "cannot open it; check its permissions");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    fail("config", where + "read error");
  return text.str();
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void read(const json& v, const std::string& path, std::string& out) {
  if (!v.is_string())
    fail(path, "must be a string");
  out = v.get<std::string>();
}

void read(const json& v, const std::string& path, bool& out) {
  if (!v.is_boolean())
    fail(path, "must be true or false");
  out = v.get<bool>();
}

void read(const json& v, const std::string& path, uint16_t& out) {
  // The parser stores non-negative integers as unsigned, everything else
  // (negatives, fractions, strings) fails here.
  if (!v.is_number_unsigned() || v.get<uint64_t>() > max_u16)
    fail(path, std::string{port_problem});
  out = static_cast<uint16_t>(v.get<uint64_t>());
}

void read(const json& v, const std::string& path, uint32_t& out) {
  if (!v.is_number_unsigned())
    fail(path, std::string{count_problem});
  if (v.get<uint64_t>() > max_u32)
    fail(path, std::string{too_big_problem});
  out = static_cast<uint32_t>(v.get<uint64_t>());
}

void read(const json& v, const std::string& path,
          std::vector<std::string>& out) {
  if (!v.is_array())
    fail(path, "must be an array of strings");
  out.clear();
  for (size_t i = 0; i < v.size(); ++i)
    read(v[i], index(path, i), out.emplace_back());
}

// One key of a JSON object and the reader for its value.
struct field {
  std::string_view key;
  std::function<void(const json&, const std::string&)> read;
};

template <class T>
field member(std::string_view key, T& out) {
  return {key, [&out](const json& v, const std::string& path) {
            read(v, path, out);
          }};
}

// Reads every key of `v` with its reader; a key without one is a typo.
void read_object(const json& v, const std::string& path,
                 const std::vector<field>& fields) {
  if (!v.is_object())
    fail(path, "must be an object");
  for (const auto& item : v.items()) {
    const field* match = nullptr;
    for (const auto& f : fields)
      if (f.key == item.key())
        match = &f;
    if (match == nullptr) {
      std::string known;
      for (const auto& f : fields)
        known += (known.empty() ? "" : ", ") + std::string{f.key};
      fail(join(path, item.key()), "unknown key; expected one of " + known);
    }
    match->read(item.value(), join(path, item.key()));
  }
}

void read_server(const json& v, const std::string& path, server_settings& s) {
  read_object(v, path,
              {member("host", s.host),
               member("port", s.port),
               member("path_prefix", s.path_prefix),
               member("activity_timeout_s", s.activity_timeout_s),
               member("shutdown_grace_s", s.shutdown_grace_s),
               member("pong_timeout_s", s.pong_timeout_s),
               member("max_frame_bytes", s.max_frame_bytes),
               member("max_outbound_bytes", s.max_outbound_bytes),
               member("max_outbound_frames", s.max_outbound_frames),
               member("max_http_body_bytes", s.max_http_body_bytes),
               member("http_timeout_s", s.http_timeout_s)});
}

void read_admin(const json& v, const std::string& path, admin_settings& s) {
  read_object(v, path,
              {member("host", s.host), member("port", s.port),
               member("token", s.token),
               member("fault_injection", s.fault_injection)});
}

void read_limits(const json& v, const std::string& path, app_limits& l) {
  read_object(
    v, path,
    {member("max_connections", l.max_connections),
     member("max_presence_members", l.max_presence_members),
     member("max_presence_member_bytes", l.max_presence_member_bytes),
     member("max_presence_user_id_length", l.max_presence_user_id_length),
     member("max_channel_name_length", l.max_channel_name_length),
     member("max_event_name_length", l.max_event_name_length),
     member("max_event_payload_bytes", l.max_event_payload_bytes),
     member("max_channels_per_trigger", l.max_channels_per_trigger),
     member("max_batch_size", l.max_batch_size),
     member("client_events_per_second", l.client_events_per_second),
     member("cache_ttl_s", l.cache_ttl_s)});
}

void read_webhooks(const json& v, const std::string& path,
                   std::vector<webhook_settings>& hooks) {
  if (!v.is_array())
    fail(path, "must be an array of {\"url\", \"event_types\"} objects");
  hooks.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    auto& h = hooks.emplace_back();
    read_object(v[i], index(path, i),
                {member("url", h.url), member("event_types", h.event_types)});
  }
}

void read_logic(const json& v, const std::string& path,
                std::vector<logic_binding_settings>& bindings) {
  if (!v.is_array())
    fail(path, "must be an array of {\"actor\", \"channels\"} objects");
  bindings.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    auto& b = bindings.emplace_back();
    read_object(v[i], index(path, i),
                {member("actor", b.actor), member("channels", b.channels),
                 member("timeout_ms", b.timeout_ms),
                 member("max_restarts", b.max_restarts),
                 member("restart_window_s", b.restart_window_s),
                 member("max_backoff_ms", b.max_backoff_ms)});
  }
}

void read_app(const json& v, const std::string& path, app_settings& a) {
  read_object(
    v, path,
    {member("id", a.id), member("key", a.key), member("secret", a.secret),
     member("enabled", a.enabled),
     member("enable_client_messages", a.enable_client_messages),
     member("enable_subscription_count", a.enable_subscription_count),
     member("webhook_batching", a.webhook_batching),
     member("user_authentication_timeout_s", a.user_authentication_timeout_s),
     member("max_watchlist_size", a.max_watchlist_size),
     {"webhooks", [&a](const json& hv, const std::string& hp) {
        read_webhooks(hv, hp, a.webhooks);
      }},
     {"logic", [&a](const json& lv, const std::string& lp) {
        read_logic(lv, lp, a.logic);
      }},
     {"limits", [&a](const json& lv, const std::string& lp) {
        read_limits(lv, lp, a.limits);
      }}});
}

void read_apps(const json& v, const std::string& path,
               std::vector<app_settings>& apps) {
  if (!v.is_array())
    fail(path, "must be an array of app objects");
  apps.clear();
  for (size_t i = 0; i < v.size(); ++i)
    read_app(v[i], index(path, i), apps.emplace_back());
}

void read_cluster(const json& v, const std::string& path,
                  cluster_settings& c) {
  read_object(v, path,
              {member("bridge", c.bridge), member("node_id", c.node_id),
               member("middleman_host", c.middleman_host),
               member("middleman_port", c.middleman_port),
               member("heartbeat_ms", c.heartbeat_ms),
               member("node_timeout_ms", c.node_timeout_ms)});
}

void read_nats(const json& v, const std::string& path, nats_settings& n) {
  read_object(v, path,
              {member("servers", n.servers), member("name", n.name),
               member("token", n.token), member("user", n.user),
               member("password", n.password),
               member("subject_prefix", n.subject_prefix),
               member("reconnect_wait_ms", n.reconnect_wait_ms),
               member("reconnect_max_wait_ms", n.reconnect_max_wait_ms),
               member("reconnect_jitter_ms", n.reconnect_jitter_ms),
               member("tls", n.tls), member("tls_ca_file", n.tls_ca_file),
               member("tls_cert_file", n.tls_cert_file),
               member("tls_key_file", n.tls_key_file),
               member("tls_skip_verify", n.tls_skip_verify),
               member("tls_hostname", n.tls_hostname)});
}

void read_logging(const json& v, const std::string& path,
                  logging_settings& l) {
  read_object(v, path, {member("level", l.level)});
}

// Returns the reader of one top-level section.
template <class T>
field section(std::string_view key, T& out,
              void (*reader)(const json&, const std::string&, T&)) {
  return {key, [&out, reader](const json& v, const std::string& path) {
            reader(v, path, out);
          }};
}

void apply_file(const std::string& path, settings& s) {
  auto text = read_config_file(path);
  json doc;
  try {
    doc = json::parse(text, nullptr, true, true);
  } catch (const json::parse_error& e) {
    // Drop the "[json.exception.parse_error.101] " tag, keep line/column.
    std::string what = e.what();
    auto tag_end = what.find("] ");
    if (tag_end != std::string::npos)
      what.erase(0, tag_end + 2);
    fail("config", "\"" + path + "\" is not valid JSON: " + what);
  }
  if (!doc.is_object())
    fail("config", "\"" + path + "\" must hold a JSON object at the top");
  read_object(doc, "",
              {section("server", s.server, read_server),
               section("admin", s.admin, read_admin),
               section("apps", s.apps, read_apps),
               section("cluster", s.cluster, read_cluster),
               section("nats", s.nats, read_nats),
               section("logging", s.logging, read_logging),
               member("worker_threads", s.worker_threads)});
}

// -- environment and flags ----------------------------------------------------

const std::string* lookup(const env_map& env, std::string_view name) {
  auto i = env.find(std::string{name});
  return i == env.end() ? nullptr : &i->second;
}

// STARLING_APP_ID/KEY/SECRET describe one app for runs without a file; the
// three go together so a half-configured app cannot slip through.
void apply_env_app(const env_map& env, settings& s) {
  const auto* id = lookup(env, app_id_env);
  const auto* key = lookup(env, app_key_env);
  const auto* secret = lookup(env, app_secret_env);
  const auto* client_messages = lookup(env, app_client_messages_env);
  auto together = std::string{"set STARLING_APP_ID, STARLING_APP_KEY and "
                              "STARLING_APP_SECRET together"};
  if (id == nullptr && key == nullptr && secret == nullptr) {
    if (client_messages != nullptr)
      fail(std::string{app_client_messages_env},
           "only applies to the app from the environment; " + together);
    return;
  }
  if (id == nullptr)
    fail(std::string{app_id_env}, "is missing; " + together);
  if (key == nullptr)
    fail(std::string{app_key_env}, "is missing; " + together);
  if (secret == nullptr)
    fail(std::string{app_secret_env}, "is missing; " + together);
  app_settings app;
  app.id = *id;
  app.key = *key;
  app.secret = *secret;
  if (client_messages != nullptr)
    parse_bool(app_client_messages_env, *client_messages,
               app.enable_client_messages);
  s.apps = {app};
}

void apply_env(const env_map& env, settings& s) {
  for (const auto& opt : options()) {
    if (opt.apply == nullptr)
      continue;
    if (const auto* value = lookup(env, opt.env))
      opt.apply(s, opt.env, *value);
  }
  apply_env_app(env, s);
}

// Returns the config file to read, or nothing: the last --config flag, else
// STARLING_CONFIG. An empty STARLING_CONFIG counts as unset, as compose
// files tend to write `STARLING_CONFIG=${CONFIG:-}`.
std::optional<std::string> config_path(const parsed_args& args,
                                       const env_map& env) {
  std::optional<std::string> out;
  for (const auto& f : args.flags) {
    if (f.opt->flag != config_flag)
      continue;
    if (f.value.empty())
      fail(std::string{config_flag}, "needs a file path");
    out = f.value;
  }
  if (out)
    return out;
  const auto* from_env = lookup(env, config_env);
  if (from_env != nullptr && !from_env->empty())
    return *from_env;
  return std::nullopt;
}

app_settings make_default_app() {
  app_settings app;
  app.id = default_app_id;
  app.key = default_app_key;
  app.secret = default_app_secret;
  app.enable_client_messages = default_app_client_messages;
  return app;
}

settings load_settings(const parsed_args& args, const env_map& env) {
  settings s;
  if (auto path = config_path(args, env))
    apply_file(*path, s);
  apply_env(env, s);
  for (const auto& f : args.flags)
    if (f.opt->apply != nullptr)
      f.opt->apply(s, f.opt->flag, f.value);
  if (s.apps.empty()) {
    s.apps.push_back(make_default_app());
    s.default_app = true;
  }
  return s;
}

} // namespace

load_outcome load(int argc, const char* const* argv,
                  const std::map<std::string, std::string>& env) {
  return load(argc, argv, env, {});
}

load_outcome load(int argc, const char* const* argv,
                  const std::map<std::string, std::string>& env,
                  const std::set<std::string>& logic_actors) {
  load_outcome out;
  auto fail_with = [&out](load_error e) {
    out.what = load_outcome::kind::error;
    out.error = std::move(e);
    return out;
  };
  try {
    auto args = parse_args(argc, argv);
    if (args.help) {
      out.what = load_outcome::kind::help;
      out.help_text = usage();
      return out;
    }
    if (args.error)
      return fail_with(*args.error);
    auto s = load_settings(args, env);
    if (auto e = validate(s, logic_actors))
      return fail_with(*e);
    out.what = load_outcome::kind::run;
    out.value = std::move(s);
    return out;
  } catch (const field_failure& f) {
    return fail_with(f.error);
  } catch (const std::exception& e) {
    // Backstop: the readers check types before nlohmann could throw, so
    // this is memory exhaustion or a bug; still no exception escapes.
    return fail_with(load_error{"config", e.what()});
  }
}

std::string usage() {
  const settings defaults;
  std::string out
    = "Usage: starling [--config FILE] [options]\n"
      "\n"
      "Starling is a Pusher-protocol realtime server. Settings come from, "
      "lowest\nprecedence first: built-in defaults, the JSON file named by "
      "--config or\nSTARLING_CONFIG, STARLING_* environment variables, then "
      "flags. Flags take\n--name VALUE or --name=VALUE.\n"
      "\n"
      "Flag                          Environment variable\n";
  constexpr size_t env_column = 30;
  for (const auto& opt : options()) {
    std::string left = "  ";
    if (!opt.flag.empty())
      left += std::string{opt.flag} + " " + std::string{opt.value_name};
    left.resize(std::max(left.size() + 1, env_column), ' ');
    out += left + std::string{opt.env};
    if (opt.flag.empty())
      out += "=" + std::string{opt.value_name};
    out += "\n      " + std::string{opt.help};
    if (opt.show_default != nullptr)
      out += " (default " + opt.show_default(defaults) + ")";
    out += "\n";
  }
  out += "  -h, --help\n      print this text and exit\n"
         "\n"
         "The STARLING_APP_* variables, all three together, replace the apps "
         "of the\nconfig file with that one app. With no app configured at "
         "all, Starling\nserves id \""
         + std::string{default_app_id} + "\", key \""
         + std::string{default_app_key} + "\", secret \""
         + std::string{default_app_secret}
         + "\" with client events on,\nand warns: "
           "do not run it like that in production.\n";
  return out;
}

} // namespace starling::config
