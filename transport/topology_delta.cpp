// Keyed topology views and their merge patches (see topology_delta.hpp).
#include "transport/topology_delta.hpp"

#include <optional>
#include <set>
#include <string>

namespace starling::transport {

namespace {

using json = nlohmann::json;

std::string text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// The identity of one list entry, or none (the list is then sent whole).
std::optional<std::string> identity(const json& e) {
  if (!e.is_object())
    return std::nullopt;
  auto has = [&](const char* k) { return e.contains(k) && !e[k].is_null(); };
  if (has("socket_id"))
    return text(e["socket_id"]);
  if (has("app") && has("name"))
    return text(e["app"]) + "/" + text(e["name"]);
  if (has("id"))
    return text(e["id"]);
  if (has("channel"))
    return text(e["channel"]);
  if (has("name"))
    return text(e["name"]);
  if (has("actor") && has("channels"))
    return text(e["actor"]) + " " + text(e["channels"]);
  if (has("app"))
    return text(e["app"]);
  if (has("epoch") && has("at_ms"))
    return text(e["epoch"]) + "@" + text(e["at_ms"]);
  return std::nullopt;
}

json keyed_array(const json& list) {
  json out = json::object();
  auto order = json::array();
  std::set<std::string> seen;
  for (auto& e : list) {
    auto id = identity(e);
    // "=" keeps identities apart from "@", the order.
    if (!id || !seen.insert("=" + *id).second)
      return list; // No identity, or two alike: the list goes whole.
    order.push_back("=" + *id);
    out["=" + *id] = keyed_view(e);
  }
  out["@"] = std::move(order);
  return out;
}

} // namespace

json keyed_view(const json& view) {
  if (view.is_object()) {
    json out = json::object();
    for (auto& [k, v] : view.items())
      if (!v.is_null())
        out[k] = keyed_view(v);
    return out;
  }
  if (view.is_array() && !view.empty() && view[0].is_object())
    return keyed_array(view);
  return view;
}

json merge_patch(const json& from, const json& to) {
  if (!from.is_object() || !to.is_object())
    return to;
  json patch = json::object();
  for (auto& [k, v] : to.items()) {
    auto i = from.find(k);
    if (i == from.end())
      patch[k] = v;
    else if (*i != v)
      patch[k] = i->is_object() && v.is_object() ? merge_patch(*i, v) : v;
  }
  for (auto& [k, v] : from.items())
    if (!to.contains(k))
      patch[k] = nullptr;
  return patch;
}

} // namespace starling::transport
