// Texts made from the key table: --help, the Markdown reference, the JSON
// schema, the effective config and reload diffs. Nothing here names a key;
// all of it walks schema.cpp's table.
#include "config/describe.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/defaults.hpp"
#include "config/schema.hpp"

namespace starling::config {

namespace {

using json = nlohmann::json;

constexpr std::string_view masked_secret = "********";

std::string type_name(const key& k) {
  switch (k.type) {
    case value_type::string:
      return "string";
    case value_type::boolean:
      return "boolean";
    case value_type::port:
      return "port";
    case value_type::count: {
      auto p = k.path;
      auto ends = [&](std::string_view s) {
        return p.size() >= s.size() && p.substr(p.size() - s.size()) == s;
      };
      if (ends("_ms"))
        return "integer (ms)";
      if (ends("_s"))
        return "integer (s)";
      if (ends("_bytes"))
        return "integer (bytes)";
      return "integer";
    }
    case value_type::string_list:
      return "list of strings";
    case value_type::string_map:
      return "object of strings";
  }
  return "";
}

// The constraints of `k` in words: "1..64", "at least 1024", "one of ...".
std::string constraint_text(const key& k) {
  std::string out;
  auto add = [&](const std::string& part) {
    out += (out.empty() ? "" : "; ") + part;
  };
  if (k.min && k.max)
    add(std::to_string(*k.min) + ".." + std::to_string(*k.max));
  else if (k.min)
    add("at least " + std::to_string(*k.min));
  else if (k.max)
    add("at most " + std::to_string(*k.max));
  if (!k.one_of.empty()) {
    std::string values;
    for (auto v : k.one_of)
      values += (values.empty() ? "" : ", ") + std::string{v};
    add("one of " + values);
  }
  if (k.not_empty)
    add("required, not empty");
  if (k.secret)
    add("secret: masked by --check-config");
  return out;
}

// Whether --help shows "(default X)": not for empty strings and lists.
bool worth_showing(const std::string& default_text) {
  return default_text != "\"\"" && default_text != "[]";
}

std::string unquoted(const std::string& json_text) {
  auto v = json::parse(json_text);
  return v.is_string() ? v.get<std::string>() : json_text;
}

// Markdown table cells must not contain a bare '|'.
std::string cell(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else
      out += c;
  }
  return out;
}

std::string code(std::string_view text) {
  return text.empty() ? "" : cell("`" + std::string{text} + "`");
}

// The object path above a key: "server" for "server.port", "apps[].limits"
// for "apps[].limits.cache_ttl_s", "" for "worker_threads".
std::string_view parent_of(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view{}
                                       : path.substr(0, dot);
}

// Calls `visit(k, owner, concrete_path)` for every key inside `owner` (a
// struct of scope `where`) and, through the lists, inside its elements.
void walk(scope where, const void* owner, const std::string& prefix,
          const std::function<void(const key&, const void*,
                                   const std::string&)>& visit,
          const std::function<void(const list&, size_t,
                                   const std::string&)>& visit_list) {
  for (const auto& k : keys())
    if (k.scope == where)
      visit(k, owner, prefix + std::string{k.local_path()});
  for (const auto& l : lists()) {
    if (l.scope != where)
      continue;
    auto path = prefix + std::string{l.local_path()};
    auto n = l.size(owner);
    visit_list(l, n, path);
    for (size_t i = 0; i < n; ++i)
      walk(l.element_scope,
           l.element(const_cast<void*>(owner), i, SIZE_MAX),
           path + "[" + std::to_string(i) + "].", visit, visit_list);
  }
}

// "apps[0].limits.max_connections" -> "/apps/0/limits/max_connections".
json::json_pointer pointer_of(const std::string& path) {
  std::string out = "/";
  for (char c : path) {
    if (c == '.' || c == '[')
      out += out.back() == '/' ? "" : "/";
    else if (c != ']')
      out += c;
  }
  return json::json_pointer{out};
}

} // namespace

std::string usage() {
  std::string out
    = "Usage: starling [--config FILE] [options]\n"
      "       starling --check-config [--config FILE] [options]\n"
      "       starling --version | --help | --config-reference | "
      "--config-schema\n"
      "\n"
      "Starling is a Pusher-protocol realtime server. Settings come from, "
      "lowest\nprecedence first: built-in defaults, the JSON file named by "
      "--config or\nSTARLING_CONFIG, STARLING_* environment variables, then "
      "flags. Flags take\n--name VALUE or --name=VALUE. Keys without a flag "
      "(secrets, per-app keys)\nare set in the file or the environment; "
      "--config-reference lists them all.\n"
      "\n"
      "Flag                          Environment variable\n";
  constexpr size_t env_column = 30;
  auto line = [&](std::string_view flag, std::string_view value_name,
                  std::string_view env, const std::string& help) {
    std::string left = "  ";
    if (!flag.empty())
      left += std::string{flag}
              + (value_name.empty() ? "" : " " + std::string{value_name});
    left.resize(std::max(left.size() + 1, env_column), ' ');
    out += left + std::string{env};
    if (flag.empty() && !env.empty())
      out += "=" + std::string{value_name.empty() ? "VALUE" : value_name};
    out += "\n      " + help + "\n";
  };
  line("--config", "FILE", "STARLING_CONFIG",
       "JSON config file; unknown keys are errors");
  for (const auto& k : keys()) {
    if (k.flag.empty() && k.env.empty())
      continue;
    auto value_name = k.value_name.empty() ? std::string_view{"VALUE"}
                                           : k.value_name;
    if (k.scope == scope::app)
      value_name = k.type == value_type::boolean ? "true|false" : "VALUE";
    std::string help{k.help};
    if (k.scope == scope::app)
      help += " (" + std::string{k.path} + " of the single app)";
    auto def = default_json(k);
    if (k.scope == scope::node && worth_showing(def))
      help += " (default " + unquoted(def) + ")";
    line(k.flag, value_name, k.env, help);
  }
  line("--check-config", "", "",
       "validate, print the effective config as JSON (secrets masked), "
       "exit 0 or 2");
  line("--config-reference", "", "",
       "print every key (Markdown, as docs/config.md) and exit");
  line("--config-schema", "", "", "print every key as JSON and exit");
  line("--version", "", "", "print the version and exit");
  line("-h, --help", "", "", "print this text and exit");
  out += "\n"
         "The STARLING_APP_* variables, all three of id, key and secret "
         "together,\nreplace the apps of the config file with that one app. "
         "With no app\nconfigured at all, Starling serves id \""
         + std::string{default_app_id} + "\", key \""
         + std::string{default_app_key} + "\", secret \""
         + std::string{default_app_secret}
         + "\" with client\nevents on, and warns: do not run it like that in "
           "production.\n"
           "\n"
           "Signals: SIGTERM or SIGINT drains (clients get 4200, spread over\n"
           "server.shutdown_grace_s) and exits 0; a second one exits at once. "
           "SIGHUP\nre-reads the config: logging.level takes effect, other "
           "changes are logged\nas needing a restart; a bad config is logged "
           "and the node keeps running.\n"
           "\n"
           "Exit codes: 0 clean stop (also --help, --version, a valid "
           "--check-config);\n1 a listener, the middleman or the runtime "
           "failed; 2 a bad config, flag or\nvariable.\n";
  return out;
}

std::string reference_markdown() {
  std::string out
    = "# Configuration reference\n"
      "\n"
      "<!-- Generated by `starling --config-reference` from config/schema.cpp;"
      " the\n     test config.reference fails when this file differs. "
      "Regenerate with\n     `cmake --build build --target config-reference`."
      " -->\n"
      "\n"
      "Settings come from, lowest precedence first: the defaults below, the "
      "JSON file\nnamed by `--config FILE` or `STARLING_CONFIG`, `STARLING_*` "
      "environment\nvariables, then flags (`--name VALUE` or `--name=VALUE`). "
      "Unknown keys in the\nfile and unknown flags are errors; an unknown "
      "`STARLING_*` variable is a\nwarning. As text (environment, flags), a "
      "boolean is `true`, `false`, `1` or\n`0`, and a list of strings is "
      "comma-separated.\n"
      "\n"
      "`starling --check-config` validates the settings and prints the "
      "effective\nconfig in this file's shape, secrets masked (exit 0 valid, "
      "2 invalid).\n`starling --config-schema` prints this table as JSON.\n"
      "\n"
      "Per-app keys (`apps[]...`) are set in the file; the `STARLING_APP_*` "
      "variables\nlisted below describe a single app and, set together, "
      "replace the file's apps.\n";
  std::string_view section = "(none)";
  for (const auto& k : keys()) {
    auto parent = parent_of(k.path);
    if (parent != section) {
      section = parent;
      out += "\n## " + (parent.empty() ? std::string{"Top level"}
                                       : "`" + std::string{parent} + "`")
             + "\n\n";
      for (const auto& l : lists())
        if (std::string{l.path} + "[]" == parent)
          out += std::string{l.help} + ".\n\n";
      out += "| Key | Type | Default | Environment | Flag | Description |\n"
             "| --- | --- | --- | --- | --- | --- |\n";
    }
    std::string help{k.help};
    auto constraints = constraint_text(k);
    if (!constraints.empty())
      help += " (" + constraints + ")";
    std::string flag;
    if (!k.flag.empty())
      flag = std::string{k.flag} + " " + std::string{k.value_name};
    out += "| " + code(k.path) + " | " + type_name(k) + " | "
           + code(default_json(k)) + " | " + code(k.env) + " | " + code(flag)
           + " | " + cell(help) + " |\n";
  }
  return out;
}

std::string schema_json() {
  json out;
  out["keys"] = json::array();
  for (const auto& k : keys()) {
    json entry = {{"path", k.path},
                  {"type", type_name(k)},
                  {"default", json::parse(default_json(k))},
                  {"env", k.env},
                  {"flag", k.flag},
                  {"value_name", k.value_name},
                  {"help", k.help},
                  {"required", k.not_empty},
                  {"secret", k.secret}};
    if (k.min)
      entry["min"] = *k.min;
    if (k.max)
      entry["max"] = *k.max;
    if (!k.one_of.empty()) {
      entry["one_of"] = json::array();
      for (auto v : k.one_of)
        entry["one_of"].push_back(v);
    }
    out["keys"].push_back(entry);
  }
  out["lists"] = json::array();
  for (const auto& l : lists())
    out["lists"].push_back({{"path", l.path}, {"help", l.help}});
  out["commands"] = {"--config", "--check-config", "--config-reference",
                     "--config-schema", "--version", "--help", "-h"};
  out["config_env"] = "STARLING_CONFIG";
  return out.dump(2) + "\n";
}

std::string effective_json(const settings& s) {
  // Ordered: keys come out in the table's order, as in the reference.
  using ordered = nlohmann::ordered_json;
  ordered out = ordered::object();
  walk(
    scope::node, &s, "",
    [&](const key& k, const void* owner, const std::string& path) {
      auto value = ordered::parse(value_json(k, owner));
      if (k.secret && value.is_string() && !value.get<std::string>().empty())
        value = masked_secret;
      out[ordered::json_pointer{pointer_of(path).to_string()}] = value;
    },
    [&](const list&, size_t, const std::string& path) {
      out[ordered::json_pointer{pointer_of(path).to_string()}]
        = ordered::array();
    });
  return out.dump(2) + "\n";
}

std::vector<std::string> changed_keys(const settings& before,
                                      const settings& after) {
  std::vector<std::string> out;
  // Compare both walks position by position; a list whose size changed is
  // one change, and its elements are not compared further.
  std::vector<std::pair<std::string, std::string>> a;
  std::vector<std::pair<std::string, std::string>> b;
  auto collect = [](const settings& s,
                    std::vector<std::pair<std::string, std::string>>& into) {
    walk(
      scope::node, &s, "",
      [&](const key& k, const void* owner, const std::string& path) {
        into.emplace_back(path, value_json(k, owner));
      },
      [&](const list&, size_t n, const std::string& path) {
        into.emplace_back(path, "#" + std::to_string(n));
      });
  };
  collect(before, a);
  collect(after, b);
  std::map<std::string, std::string> old_values(a.begin(), a.end());
  std::vector<std::string> resized;
  for (const auto& [path, value] : b) {
    bool under_resized = false;
    for (const auto& r : resized)
      under_resized = under_resized || path.rfind(r + "[", 0) == 0;
    if (under_resized)
      continue;
    auto i = old_values.find(path);
    if (i != old_values.end() && i->second == value)
      continue;
    if (!value.empty() && value[0] == '#')
      resized.push_back(path);
    out.push_back(path);
  }
  return out;
}

} // namespace starling::config
