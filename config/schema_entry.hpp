// Internal to the config library: how the key table (key_table.cpp) turns
// chains of member pointers into keys and lists, so that a key's scope and
// type always follow from the settings field it names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/schema.hpp"

namespace starling::config::detail {

// -- typed access from member pointers ----------------------------------------

template <class T>
struct member_of;

template <class Owner, class Field>
struct member_of<Field Owner::*> {
  using owner = Owner;
  using type = Field;
};

template <class Owner>
constexpr config::scope scope_of() {
  if constexpr (std::is_same_v<Owner, settings>)
    return scope::node;
  else if constexpr (std::is_same_v<Owner, app_settings>)
    return scope::app;
  else if constexpr (std::is_same_v<Owner, webhook_settings>)
    return scope::webhook;
  else {
    static_assert(std::is_same_v<Owner, logic_binding_settings>,
                  "a key lives in settings, app_settings, webhook_settings "
                  "or logic_binding_settings");
    return scope::logic;
  }
}

template <class Field>
constexpr value_type type_of() {
  if constexpr (std::is_same_v<Field, std::string>)
    return value_type::string;
  else if constexpr (std::is_same_v<Field, bool>)
    return value_type::boolean;
  else if constexpr (std::is_same_v<Field, uint16_t>)
    return value_type::port;
  else if constexpr (std::is_same_v<Field, uint32_t>)
    return value_type::count;
  else if constexpr (std::is_same_v<Field, std::vector<std::string>>)
    return value_type::string_list;
  else {
    static_assert(std::is_same_v<Field, std::map<std::string, std::string>>,
                  "a key is a string, bool, uint16_t, uint32_t, a list of "
                  "strings or a map of strings");
    return value_type::string_map;
  }
}

// Follows a chain of member pointers from the owner: &settings::server,
// &server_settings::port reaches settings.server.port.
template <auto... Members, class Owner>
auto& reach(Owner& owner) {
  return (owner.*....*Members);
}

template <auto First, auto... Rest>
field_ptr follow(void* owner) {
  using owner_type = typename member_of<decltype(First)>::owner;
  return &reach<First, Rest...>(*static_cast<owner_type*>(owner));
}

// A key at the end of a chain of member pointers; its scope and type follow
// from the chain, so the table cannot mismatch them.
template <auto First, auto... Rest>
key entry(std::string_view path) {
  using owner_type = typename member_of<decltype(First)>::owner;
  using field_type = std::remove_reference_t<decltype(
    reach<First, Rest...>(std::declval<owner_type&>()))>;
  key k;
  k.path = path;
  k.scope = scope_of<owner_type>();
  k.type = type_of<field_type>();
  k.field = &follow<First, Rest...>;
  return k;
}

// An array of objects held in `Member`.
template <auto Member>
list array(std::string_view path, std::string_view help) {
  using owner_type = typename member_of<decltype(Member)>::owner;
  using vector_type = typename member_of<decltype(Member)>::type;
  using element_type = typename vector_type::value_type;
  list l;
  l.path = path;
  l.scope = scope_of<owner_type>();
  l.element_scope = scope_of<element_type>();
  l.help = help;
  l.element = [](void* owner, size_t i, size_t n) -> void* {
    auto& v = static_cast<owner_type*>(owner)->*Member;
    if (n != SIZE_MAX) {
      v.clear();
      v.resize(n);
    }
    return i < v.size() ? &v[i] : nullptr;
  };
  l.size = [](const void* owner) {
    return (static_cast<const owner_type*>(owner)->*Member).size();
  };
  return l;
}

/// The table: every key and every array of objects, in reference order
/// (config/key_table.cpp).
std::vector<key> make_keys();
std::vector<list> make_lists();

} // namespace starling::config::detail
