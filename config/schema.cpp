// Configuration keys (see schema.hpp): lookup by path and flag, values as
// JSON, constraints. The table itself is config/key_table.cpp.
#include "config/schema.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "config/schema_entry.hpp"

namespace starling::config {

namespace {

// -- values -------------------------------------------------------------------

constexpr uint64_t max_u16 = std::numeric_limits<uint16_t>::max();
constexpr uint64_t max_u32 = std::numeric_limits<uint32_t>::max();

// The value of a string of decimal digits, or nothing for anything else
// (signs, spaces, an empty string, more than 64 bits).
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

// " seconds" for a key ending in _s, and so on: the unit in problems.
std::string unit_of(std::string_view path) {
  auto ends = [&](std::string_view suffix) {
    return path.size() >= suffix.size()
           && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends("_ms"))
    return " milliseconds";
  if (ends("_s"))
    return " seconds";
  if (ends("_bytes"))
    return " bytes";
  return "";
}

std::string join_views(const std::vector<std::string_view>& items) {
  std::string out;
  for (auto item : items)
    out += (out.empty() ? "" : ", ") + std::string{item};
  return out;
}

const void* default_owner(config::scope where) {
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

field_ptr field_of(const key& k, const void* owner) {
  // Reading only: the table hands out one accessor for reads and writes.
  return k.field(const_cast<void*>(owner));
}

} // namespace

// -- key and list -------------------------------------------------------------

std::string_view scope_prefix(config::scope s) {
  switch (s) {
    case scope::node:
      return "";
    case scope::app:
      return "apps[].";
    case scope::webhook:
      return "apps[].webhooks[].";
    case scope::logic:
      return "apps[].logic[].";
  }
  return "";
}

std::string_view key::local_path() const {
  return path.substr(scope_prefix(scope).size());
}

std::string_view list::local_path() const {
  return path.substr(scope_prefix(scope).size());
}

key& key::with_flag(std::string_view name, std::string_view value) {
  flag = name;
  value_name = value;
  return *this;
}

key& key::with_env(std::string_view name) {
  env = name;
  return *this;
}

key& key::with_help(std::string_view text) {
  help = text;
  return *this;
}

key& key::at_least(uint64_t n) {
  min = n;
  return *this;
}

key& key::at_most(uint64_t n) {
  max = n;
  return *this;
}

key& key::within(std::vector<std::string_view> values) {
  one_of = std::move(values);
  return *this;
}

key& key::required() {
  not_empty = true;
  return *this;
}

key& key::masked() {
  secret = true;
  return *this;
}

const std::vector<key>& keys() {
  static const std::vector<key> table = detail::make_keys();
  return table;
}

const std::vector<list>& lists() {
  static const std::vector<list> table = detail::make_lists();
  return table;
}

const key* find_key(std::string_view path) {
  for (const auto& k : keys())
    if (k.path == path)
      return &k;
  return nullptr;
}

const key* find_flag(std::string_view flag) {
  for (const auto& k : keys())
    if (!k.flag.empty() && k.flag == flag)
      return &k;
  return nullptr;
}

// -- values -------------------------------------------------------------------

std::string value_json(const key& k, const void* owner) {
  // Flags and STARLING_* values may hold any byte: replace invalid UTF-8
  // rather than throw (--check-config and reloads aborted on it).
  return std::visit(
    [](auto* v) {
      return nlohmann::json(*v).dump(-1, ' ', false,
                                     nlohmann::json::error_handler_t::replace);
    },
    field_of(k, owner));
}

std::string default_json(const key& k) {
  return value_json(k, default_owner(k.scope));
}

std::optional<std::string> check_constraints(const key& k, const void* owner) {
  auto field = field_of(k, owner);
  auto number = [&]() -> std::optional<uint64_t> {
    if (auto* p = std::get_if<uint16_t*>(&field))
      return **p;
    if (auto* c = std::get_if<uint32_t*>(&field))
      return **c;
    return std::nullopt;
  }();
  if (number && ((k.min && *number < *k.min) || (k.max && *number > *k.max))) {
    auto unit = unit_of(k.path);
    std::string range;
    if (k.min && k.max)
      range = "must be " + std::to_string(*k.min) + ".."
              + std::to_string(*k.max) + unit;
    else if (k.min && *k.min == 1)
      range = "must be greater than 0" + unit;
    else if (k.min)
      range = "must be at least " + std::to_string(*k.min) + unit;
    else
      range = "must be at most " + std::to_string(*k.max) + unit;
    return range + " (default " + default_json(k) + "), not "
           + std::to_string(*number);
  }
  if (auto* text = std::get_if<std::string*>(&field)) {
    if (k.not_empty && (*text)->empty())
      return std::string{"must not be empty"};
    if (k.one_of.empty())
      return std::nullopt;
    for (auto v : k.one_of)
      if (v == **text)
        return std::nullopt;
    return "must be one of " + join_views(k.one_of) + "; not \"" + **text
           + "\"";
  }
  if (auto* items = std::get_if<std::vector<std::string>*>(&field)) {
    if (k.one_of.empty())
      return std::nullopt;
    for (const auto& item : **items) {
      bool known = false;
      for (auto v : k.one_of)
        known = known || v == item;
      if (!known)
        return "has the unknown value \"" + item + "\"; expected one of "
               + join_views(k.one_of);
    }
  }
  return std::nullopt;
}

std::optional<std::string> set_from_text(const key& k, void* owner,
                                         const std::string& text) {
  auto field = k.field(owner);
  if (auto* str = std::get_if<std::string*>(&field)) {
    **str = text;
  } else if (auto* flag = std::get_if<bool*>(&field)) {
    if (text == "true" || text == "1")
      **flag = true;
    else if (text == "false" || text == "0")
      **flag = false;
    else
      return std::string{"must be true or false"};
  } else if (auto* port = std::get_if<uint16_t*>(&field)) {
    auto n = parse_decimal(text);
    if (!n || *n > max_u16)
      return std::string{"must be 0..65535"};
    **port = static_cast<uint16_t>(*n);
  } else if (auto* count = std::get_if<uint32_t*>(&field)) {
    auto n = parse_decimal(text);
    if (!n)
      return std::string{"must be a non-negative integer"};
    if (*n > max_u32)
      return std::string{"must be at most 4294967295"};
    **count = static_cast<uint32_t>(*n);
  } else if (auto* items = std::get_if<std::vector<std::string>*>(&field)) {
    **items = split_list(text);
  } else if (auto* map = std::get_if<std::map<std::string, std::string>*>(&field)) {
    (*map)->clear();
    for (const auto& item : split_list(text)) {
      auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0)
        return std::string{"must be name=value pairs separated by commas"};
      (**map)[item.substr(0, eq)] = item.substr(eq + 1);
    }
  }
  return std::nullopt;
}

} // namespace starling::config
