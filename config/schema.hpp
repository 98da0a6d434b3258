// The one table of configuration keys. Each key is declared once in
// schema.cpp (JSON path, type, environment variable, flag, help, simple
// constraints; its default is the struct's initializer in settings.hpp), and
// everything else reads it: the JSON file reader, the environment and flag
// readers, --help, range and enum validation, --check-config and the
// generated config reference (docs/config.md).
//
// Adding a key: a field with its default in settings.hpp, one entry in
// schema.cpp. Cross-field rules (a TLS key needs its certificate, ...) stay
// in validate.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/settings.hpp"

namespace starling::config {

/// How a key's value is written in the file, the environment and flags.
enum class value_type {
  string,      ///< JSON string; any text in the environment and flags.
  boolean,     ///< JSON true/false; "true", "false", "1", "0" as text.
  port,        ///< Integer 0..65535.
  count,       ///< Integer 0..4294967295.
  string_list, ///< JSON array of strings; comma-separated as text.
  string_map,  ///< JSON object of strings; name=value,... as text.
};

/// Which struct a key lives in.
enum class scope {
  node,    ///< `settings`: one per process.
  app,     ///< `app_settings`: one element of apps[].
  webhook, ///< `webhook_settings`: one element of apps[].webhooks[].
  logic,   ///< `logic_binding_settings`: one element of apps[].logic[].
};

/// A pointer to the field a key names inside its struct.
using field_ptr = std::variant<std::string*, bool*, uint16_t*, uint32_t*,
                               std::vector<std::string>*,
                               std::map<std::string, std::string>*>;

/// One configuration key.
struct key {
  std::string_view path;       ///< "server.port", "apps[].limits.cache_ttl_s".
  config::scope scope = scope::node; ///< The struct `field` takes.
  value_type type = value_type::string; ///< Follows from the field's type.
  std::string_view flag;       ///< "--port"; empty: not a flag.
  std::string_view value_name; ///< "PORT" in --help.
  std::string_view env;        ///< "STARLING_PORT"; empty: not in the environment.
  std::string_view help;       ///< One line for --help and the reference.
  std::optional<uint64_t> min; ///< Smallest valid number (port, count).
  std::optional<uint64_t> max; ///< Largest valid number (port, count).
  std::vector<std::string_view> one_of; ///< Valid strings (or list items).
  bool not_empty = false;      ///< An empty string is invalid.
  bool secret = false;         ///< Masked by --check-config.
  /// The field inside a struct of `scope` (a `settings*`, `app_settings*`,
  /// ...). Made by schema.cpp from member pointers, so it cannot point at
  /// the wrong type.
  field_ptr (*field)(void* owner) = nullptr;

  /// The path below its scope: "limits.cache_ttl_s" for
  /// "apps[].limits.cache_ttl_s", "server.port" for "server.port".
  std::string_view local_path() const;

  // Chained setters, used by the table in schema.cpp.
  key& with_flag(std::string_view name, std::string_view value);
  key& with_env(std::string_view name);
  key& with_help(std::string_view text);
  key& at_least(uint64_t n);
  key& at_most(uint64_t n);
  key& within(std::vector<std::string_view> values);
  key& required();
  key& masked();
};

/// An array of objects in the file: apps, apps[].webhooks, apps[].logic.
/// Its elements' keys are the keys of `element_scope`.
struct list {
  std::string_view path;       ///< "apps", "apps[].webhooks".
  config::scope scope = scope::node;         ///< Where the array lives.
  config::scope element_scope = scope::app;  ///< What each element is.
  std::string_view help;       ///< One line for the reference.
  /// Resizes the array inside a struct of `scope` to `n` default elements
  /// and returns the address of element `i` (pass n = SIZE_MAX to keep the
  /// size). Used by the reader and the writer alike.
  void* (*element)(void* owner, size_t i, size_t n) = nullptr;
  /// Number of elements inside a struct of `scope`.
  size_t (*size)(const void* owner) = nullptr;

  /// The path below its scope, as key::local_path.
  std::string_view local_path() const;
};

/// Every key, in the order of the reference: node keys by section, then
/// app, webhook and logic keys.
const std::vector<key>& keys();

/// Every array of objects.
const std::vector<list>& lists();

/// The key with this full path ("server.port"), or nullptr.
const key* find_key(std::string_view path);

/// The key with this flag ("--port"), or nullptr.
const key* find_flag(std::string_view flag);

/// Prefix of the full path of keys of `s`: "", "apps[].",
/// "apps[].webhooks[].", "apps[].logic[].".
std::string_view scope_prefix(config::scope s);

/// The value of `k` inside `owner` (a struct of k.scope) as JSON text:
/// "6001", "\"127.0.0.1\"", "true", "[\"a\",\"b\"]".
std::string value_json(const key& k, const void* owner);

/// The default of `k` as JSON text: the value in a default-constructed
/// struct of its scope.
std::string default_json(const key& k);

/// The problem with `k`'s value inside `owner` against the key's own
/// constraints (range, one-of, not-empty), or nothing.
std::optional<std::string> check_constraints(const key& k, const void* owner);

/// Sets `k` inside `owner` from text (environment or flag). Returns the
/// problem ("must be 0..65535") or nothing.
std::optional<std::string> set_from_text(const key& k, void* owner,
                                         const std::string& text);

} // namespace starling::config
