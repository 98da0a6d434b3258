// Reads settings from defaults, a JSON file, STARLING_* variables and flags,
// in that order of precedence, then hands them to validate(). Which keys
// exist, where they live and how they are spelled comes from the table in
// schema.cpp; this file only walks it.
#include "config/load.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/defaults.hpp"
#include "config/schema.hpp"
#include "config/validate.hpp"

namespace starling::config {

namespace {

using json = nlohmann::json;
using env_map = std::map<std::string, std::string>;

// -- failing ------------------------------------------------------------------

// Thrown and caught inside this file only: load() turns it into its outcome.
// Throwing keeps the recursive readers free of error plumbing.
struct field_failure {
  load_error error;
};

[[noreturn]] void fail(std::string field, std::string problem) {
  throw field_failure{load_error{std::move(field), std::move(problem)}};
}

constexpr uint64_t max_u16 = std::numeric_limits<uint16_t>::max();
constexpr uint64_t max_u32 = std::numeric_limits<uint32_t>::max();

// -- command line -------------------------------------------------------------

constexpr std::string_view config_flag = "--config";
constexpr std::string_view config_env = "STARLING_CONFIG";

// Flags that are not settings: they pick what the binary does.
enum class command { none, help, version, check_config, reference, schema };

command command_of(std::string_view flag) {
  if (flag == "--help" || flag == "-h")
    return command::help;
  if (flag == "--version")
    return command::version;
  if (flag == "--check-config")
    return command::check_config;
  if (flag == "--config-reference")
    return command::reference;
  if (flag == "--config-schema")
    return command::schema;
  return command::none;
}

// One setting flag from the command line with its value.
struct flag_value {
  const key* setting;
  std::string_view flag;
  std::string value;
};

// The command line, scanned to the end so that --help wins over any error.
struct parsed_args {
  bool help = false;
  bool version = false;
  bool check_config = false;
  bool reference = false;
  bool schema = false;
  std::optional<std::string> config_file; // The last --config.
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
    auto eq = arg.find('=');
    auto name = arg.substr(0, eq);
    if (auto cmd = command_of(name); cmd != command::none) {
      if (eq != std::string_view::npos) {
        note(std::string{name}, "takes no value");
        continue;
      }
      out.help |= cmd == command::help;
      out.version |= cmd == command::version;
      out.check_config |= cmd == command::check_config;
      out.reference |= cmd == command::reference;
      out.schema |= cmd == command::schema;
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
    const key* setting = find_flag(name);
    if (setting == nullptr && name != config_flag) {
      note(std::string{name}, "unknown flag; see --help");
      continue;
    }
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string{arg.substr(eq + 1)};
    } else if (i + 1 < argc && argv[i + 1] != nullptr) {
      value = argv[++i];
    } else {
      auto value_name = setting ? setting->value_name : "FILE";
      note(std::string{name}, "needs a value: " + std::string{name} + " "
                                + std::string{value_name});
      continue;
    }
    if (setting == nullptr) {
      if (value.empty())
        note(std::string{config_flag}, "needs a file path");
      out.config_file = value;
    } else {
      out.flags.push_back({setting, name, std::move(value)});
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

// Reads one JSON value into the field of `k` inside `owner`; `path` is the
// concrete path for errors ("apps[1].limits.max_connections").
void read_value(const key& k, const json& v, const std::string& path,
                void* owner) {
  auto field = k.field(owner);
  if (auto* str = std::get_if<std::string*>(&field)) {
    if (!v.is_string())
      fail(path, "must be a string");
    **str = v.get<std::string>();
  } else if (auto* flag = std::get_if<bool*>(&field)) {
    if (!v.is_boolean())
      fail(path, "must be true or false");
    **flag = v.get<bool>();
  } else if (auto* port = std::get_if<uint16_t*>(&field)) {
    // The parser stores non-negative integers as unsigned; negatives,
    // fractions and strings fail here.
    if (!v.is_number_unsigned() || v.get<uint64_t>() > max_u16)
      fail(path, "must be 0..65535");
    **port = static_cast<uint16_t>(v.get<uint64_t>());
  } else if (auto* count = std::get_if<uint32_t*>(&field)) {
    if (!v.is_number_unsigned())
      fail(path, "must be a non-negative integer");
    if (v.get<uint64_t>() > max_u32)
      fail(path, "must be at most 4294967295");
    **count = static_cast<uint32_t>(v.get<uint64_t>());
  } else if (auto* items = std::get_if<std::vector<std::string>*>(&field)) {
    if (!v.is_array())
      fail(path, "must be an array of strings");
    (*items)->clear();
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string())
        fail(index(path, i), "must be a string");
      (*items)->push_back(v[i].get<std::string>());
    }
  } else if (auto* map = std::get_if<std::map<std::string, std::string>*>(&field)) {
    if (!v.is_object())
      fail(path, "must be an object of strings, e.g. {\"X-Token\": \"abc\"}");
    (*map)->clear();
    for (const auto& item : v.items()) {
      if (!item.value().is_string())
        fail(join(path, item.key()), "must be a string");
      (**map)[item.key()] = item.value().get<std::string>();
    }
  }
}

// The keys an object at `prefix` (a local path like "" or "limits.") of
// `where` may hold, in table order: "host, port, ..." for "server.".
std::string children(scope where, const std::string& prefix) {
  std::vector<std::string> names;
  auto add = [&](std::string_view local) {
    if (local.substr(0, prefix.size()) != prefix)
      return;
    auto rest = local.substr(prefix.size());
    auto name = std::string{rest.substr(0, rest.find('.'))};
    for (const auto& n : names)
      if (n == name)
        return;
    names.push_back(name);
  };
  for (const auto& k : keys())
    if (k.scope == where)
      add(k.local_path());
  for (const auto& l : lists())
    if (l.scope == where)
      add(l.local_path());
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

void read_object(const json& v, const std::string& prefix, scope where,
                 void* owner, const std::string& path);

void read_list(const list& l, const json& v, const std::string& path,
               void* owner) {
  if (!v.is_array())
    fail(path, "must be an array of objects with the keys "
                 + children(l.element_scope, ""));
  l.element(owner, 0, v.size());
  for (size_t i = 0; i < v.size(); ++i)
    read_object(v[i], "", l.element_scope, l.element(owner, i, SIZE_MAX),
                index(path, i));
}

// Reads every member of the object `v`, found at local path `prefix` of
// the struct `owner` of scope `where`; a member the table does not know is
// a typo, named with the keys that would have been valid.
void read_object(const json& v, const std::string& prefix, scope where,
                 void* owner, const std::string& path) {
  if (!v.is_object())
    fail(path.empty() ? "config" : path, "must be an object");
  for (const auto& item : v.items()) {
    auto local = prefix + item.key();
    auto here = join(path, item.key());
    const key* setting = nullptr;
    for (const auto& k : keys())
      if (k.scope == where && k.local_path() == local)
        setting = &k;
    if (setting != nullptr) {
      read_value(*setting, item.value(), here, owner);
      continue;
    }
    const list* array = nullptr;
    for (const auto& l : lists())
      if (l.scope == where && l.local_path() == local)
        array = &l;
    if (array != nullptr) {
      read_list(*array, item.value(), here, owner);
      continue;
    }
    if (!children(where, local + ".").empty()) {
      read_object(item.value(), local + ".", where, owner, here);
      continue;
    }
    fail(here, "unknown key; expected one of " + children(where, prefix));
  }
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
  read_object(doc, "", scope::node, &s, "");
}

// -- environment --------------------------------------------------------------

const std::string* lookup(const env_map& env, std::string_view name) {
  auto i = env.find(std::string{name});
  return i == env.end() ? nullptr : &i->second;
}

// The app-scope keys with a variable (STARLING_APP_*) describe one app for
// runs without a file. Its required keys (id, key, secret) go together so a
// half-configured app cannot slip through; with them it replaces the apps
// of the file.
void apply_env_app(const env_map& env, settings& s) {
  std::vector<const key*> required; // id, key, secret
  bool any_required = false;
  const key* stray = nullptr;       // e.g. STARLING_APP_CLIENT_MESSAGES alone
  for (const auto& k : keys()) {
    if (k.scope != scope::app || k.env.empty())
      continue;
    bool set = lookup(env, k.env) != nullptr;
    if (k.not_empty) {
      required.push_back(&k);
      any_required = any_required || set;
    } else if (set && stray == nullptr) {
      stray = &k;
    }
  }
  std::string together = "set ";
  for (size_t i = 0; i < required.size(); ++i)
    together += std::string{i == 0                     ? ""
                            : i + 1 == required.size() ? " and "
                                                       : ", "}
                + std::string{required[i]->env};
  together += " together";
  if (!any_required) {
    if (stray != nullptr)
      fail(std::string{stray->env},
           "only applies to the app from the environment; " + together);
    return;
  }
  for (const auto* k : required)
    if (lookup(env, k->env) == nullptr)
      fail(std::string{k->env}, "is missing; " + together);
  app_settings app;
  for (const auto& k : keys())
    if (k.scope == scope::app && !k.env.empty())
      if (const auto* value = lookup(env, k.env))
        if (auto problem = set_from_text(k, &app, *value))
          fail(std::string{k.env}, *problem);
  s.apps = {app};
}

void apply_env(const env_map& env, settings& s) {
  for (const auto& k : keys()) {
    if (k.scope != scope::node || k.env.empty())
      continue;
    if (const auto* value = lookup(env, k.env))
      if (auto problem = set_from_text(k, &s, *value))
        fail(std::string{k.env}, *problem);
  }
  apply_env_app(env, s);
}

// STARLING_* variables that name no setting: most likely a typo, which
// would otherwise be silently ignored.
std::vector<std::string> unknown_variables(const env_map& env) {
  std::vector<std::string> out;
  for (const auto& [name, value] : env) {
    if (name.rfind(env_prefix, 0) != 0 || name == config_env)
      continue;
    bool known = false;
    for (const auto& k : keys())
      known = known || k.env == name;
    if (!known)
      out.push_back(name + " is not a Starling setting and is ignored; see "
                           "--help for the variables");
  }
  return out;
}

// Returns the config file to read, or nothing: the last --config flag, else
// STARLING_CONFIG. An empty STARLING_CONFIG counts as unset, as compose
// files tend to write `STARLING_CONFIG=${CONFIG:-}`.
std::optional<std::string> config_path(const parsed_args& args,
                                       const env_map& env) {
  if (args.config_file)
    return args.config_file;
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
    if (auto problem = set_from_text(*f.setting, &s, f.value))
      fail(std::string{f.flag}, *problem);
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
    // Questions about the binary win over any error in the settings.
    if (args.help || args.reference || args.schema) {
      out.what = load_outcome::kind::help;
      out.help_text = args.help        ? usage()
                      : args.reference ? reference_markdown()
                                       : schema_json();
      return out;
    }
    if (args.version) {
      out.what = load_outcome::kind::version;
      return out;
    }
    if (args.error)
      return fail_with(*args.error);
    out.warnings = unknown_variables(env);
    auto s = load_settings(args, env);
    if (auto e = validate(s, logic_actors))
      return fail_with(*e);
    out.what = args.check_config ? load_outcome::kind::check_config
                                 : load_outcome::kind::run;
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

} // namespace starling::config
