// Checks loaded settings for values Starling cannot run with. Each check
// names the field by its JSON path and says what a good value looks like.
// A key's own range, one-of and not-empty constraints come from the table
// (schema.cpp); this file adds the rules that involve more than one key.
#include "config/validate.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "config/schema.hpp"

namespace starling::config {

namespace {

load_error err(std::string field, std::string problem) {
  return load_error{std::move(field), std::move(problem)};
}

std::string app_path(size_t index, std::string_view field) {
  return "apps[" + std::to_string(index) + "]." + std::string{field};
}

std::optional<std::string> unreadable(const std::string& path);

// A listener's TLS block (`prefix` is "server.tls" or "admin.tls"): files
// named and readable when on; none set when off, which would otherwise
// silently serve plain text.
std::optional<load_error> check_tls(const tls_settings& t,
                                    const std::string& prefix) {
  std::pair<std::string, const std::string*> files[] = {
    {prefix + ".cert_file", &t.cert_file},
    {prefix + ".key_file", &t.key_file},
    {prefix + ".ca_file", &t.ca_file}};
  if (!t.enabled) {
    for (auto& [field, value] : files)
      if (!value->empty())
        return err(field, "is set but " + prefix + ".enabled is false; "
                            "enable TLS or remove it");
    return std::nullopt;
  }
  if (t.cert_file.empty())
    return err(prefix + ".cert_file",
               "must name the PEM certificate when " + prefix
                 + ".enabled is true");
  if (t.key_file.empty())
    return err(prefix + ".key_file",
               "must name the certificate's PEM private key when " + prefix
                 + ".enabled is true");
  for (auto& [field, path] : files)
    if (!path->empty())
      if (auto problem = unreadable(*path))
        return err(field, "must name a readable PEM file: " + *problem);
  return std::nullopt;
}

// Keys and ids become URL path segments (/app/<key>, /apps/<id>), so
// anything that ends or splits a segment would make the app unreachable.
bool fits_in_path_segment(const std::string& text) {
  for (unsigned char c : text)
    if (c == '/' || c == '?' || std::isspace(c))
      return false;
  return true;
}

std::optional<load_error> check_server(const server_settings& s) {
  const auto& prefix = s.path_prefix;
  if (!prefix.empty() && prefix.front() != '/')
    return err("server.path_prefix",
               "must start with '/' (e.g. \"/pusher\") or be empty");
  if (!prefix.empty() && prefix.back() == '/')
    return err("server.path_prefix",
               "must not end with '/' (write \"/pusher\", not \"/pusher/\"; "
               "use \"\" for no prefix)");
  if (s.tls.enabled && s.tls_port == s.port && s.port != 0)
    return err("server.tls.port", "must differ from server.port ("
                                    + std::to_string(s.port)
                                    + "): ws and wss have a port each");
  return check_tls(s.tls, "server.tls");
}

std::optional<load_error> check_admin(const settings& s) {
  // Port 0 asks the OS for a free port, so two zeros never collide.
  if (s.admin.port == s.server.port && s.server.port != 0)
    return err("admin.port", "must differ from server.port ("
                               + std::to_string(s.server.port)
                               + "); pick another port or 0 for any free one");
  if (s.server.tls.enabled && s.admin.port == s.server.tls_port
      && s.admin.port != 0)
    return err("admin.port", "must differ from server.tls.port ("
                               + std::to_string(s.server.tls_port)
                               + "); pick another port or 0 for any free one");
  return check_tls(s.admin.tls, "admin.tls");
}

// Logic actor names go into URLs (/faults/crash?name=<actor>/<channel>),
// metrics labels and logs: keep them plain.
bool plain_name(const std::string& text) {
  for (unsigned char c : text)
    if (!std::isalnum(c) && c != '_' && c != '-' && c != '.')
      return false;
  return !text.empty();
}

// Channel-name characters (Pusher protocol) plus the glob wildcards.
bool pattern_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)))
    return true;
  return std::string_view{"_-=@,.;#*?"}.find(c) != std::string_view::npos;
}

std::optional<load_error> check_logic(size_t index, const app_settings& app,
                                      const std::set<std::string>& known) {
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t b = 0; b < app.logic.size(); ++b) {
    const auto& binding = app.logic[b];
    auto path = [&](std::string_view field) {
      return app_path(index, "logic[" + std::to_string(b) + "]."
                               + std::string{field});
    };
    if (known.count(binding.actor) == 0) {
      std::string names;
      for (auto& n : known)
        names += (names.empty() ? "" : ", ") + n;
      return err(path("actor"),
                 "unknown logic actor \"" + binding.actor + "\"; this binary "
                   + (names.empty() ? std::string{"registers none (the plain "
                                                  "starling binary has no app "
                                                  "logic)"}
                                    : "registers: " + names)
                   + ". Build a binary that registers it with "
                     "starling::logic_registry and run_node (see examples/)");
    }
    if (!plain_name(binding.actor))
      return err(path("actor"), "may only contain letters, digits, '_', '-' "
                                "and '.'");
    for (char c : binding.channels)
      if (!pattern_char(c))
        return err(path("channels"),
                   std::string{"has the character '"} + c
                     + "', which no channel name contains; write a glob "
                       "like \"private-chat-*\" (* and ? are wildcards), or "
                       "leave it out to bind the actor to the whole app");
    if (!seen.emplace(binding.actor, binding.channels).second)
      return err(path("actor"), "\"" + binding.actor + "\" is already bound "
                                  "to the same channels by an earlier entry");
  }
  return std::nullopt;
}

// Header names are RFC 9110 tokens; values hold no line breaks, which
// would let a config value forge further headers.
bool header_name(const std::string& name) {
  if (name.empty())
    return false;
  for (unsigned char c : name)
    if (!std::isalnum(c)
        && std::string_view{"!#$%&'*+-.^_`|~"}.find(static_cast<char>(c))
             == std::string_view::npos)
      return false;
  return true;
}

std::optional<load_error> check_webhook(size_t app, size_t index,
                                        const webhook_settings& hook) {
  auto path = [&](std::string_view field) {
    return app_path(app, "webhooks[" + std::to_string(index) + "]."
                           + std::string{field});
  };
  const auto& url = hook.url;
  bool https = url.rfind("https://", 0) == 0;
  auto authority = url.substr(url.find("//") == std::string::npos
                                ? 0
                                : url.find("//") + 2);
  authority = authority.substr(0, authority.find('/'));
  bool scheme_ok = https || url.rfind("http://", 0) == 0;
  bool host_ok = !authority.empty() && authority.front() != ':'
                 && (authority.front() != '['
                     || authority.find(']') != std::string::npos);
  if (!scheme_ok || !host_ok)
    return err(path("url"), "must be an http[s]://host[:port]/path URL, "
                            "IPv6 hosts in brackets (\"" + url
                              + "\" is not)");
  if (!https && (hook.tls_skip_verify || !hook.tls_ca_file.empty()))
    return err(path(hook.tls_skip_verify ? "tls_skip_verify" : "tls_ca_file"),
               "only applies to https:// URLs");
  if (!hook.tls_ca_file.empty())
    if (auto problem = unreadable(hook.tls_ca_file))
      return err(path("tls_ca_file"),
                 "must name a readable PEM file: " + *problem);
  for (const auto& [name, value] : hook.headers) {
    if (!header_name(name))
      return err(path("headers"), "\"" + name + "\" is not a valid header "
                                  "name (letters, digits and !#$%&'*+-.^_`|~)");
    if (value.find_first_of("\r\n") != std::string::npos)
      return err(path("headers." + name), "must not contain line breaks");
  }
  return std::nullopt;
}

std::optional<load_error> check_apps(const std::vector<app_settings>& apps,
                                     const std::set<std::string>& logic_actors) {
  if (apps.empty())
    return err("apps", "must list at least one app");
  std::set<std::string> ids;
  std::set<std::string> keys;
  for (size_t i = 0; i < apps.size(); ++i) {
    const auto& app = apps[i];
    if (!fits_in_path_segment(app.id))
      return err(app_path(i, "id"),
                 "must not contain '/', '?' or whitespace (it is part of "
                 "the HTTP API path)");
    if (!fits_in_path_segment(app.key))
      return err(app_path(i, "key"),
                 "must not contain '/', '?' or whitespace (it is part of "
                 "the WebSocket URL)");
    if (!ids.insert(app.id).second)
      return err(app_path(i, "id"), "\"" + app.id + "\" is used by an "
                                      "earlier app; ids must be unique");
    if (!keys.insert(app.key).second)
      return err(app_path(i, "key"), "\"" + app.key + "\" is used by an "
                                       "earlier app; keys must be unique");
    if (auto e = check_logic(i, app, logic_actors))
      return e;
    for (size_t h = 0; h < app.webhooks.size(); ++h)
      if (auto e = check_webhook(i, h, app.webhooks[h]))
        return e;
  }
  return std::nullopt;
}

// Whether `path` names a regular file this process can open for reading.
std::optional<std::string> unreadable(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (!fs::exists(status))
    return "no such file \"" + path + "\"";
  if (fs::is_directory(status))
    return "\"" + path + "\" is a directory, not a PEM file";
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return "cannot open \"" + path + "\"; check its permissions";
  return std::nullopt;
}

std::optional<load_error> check_nats(const settings& s) {
  const auto& n = s.nats;
  if (n.reconnect_wait_ms == 0)
    return err("nats.reconnect_wait_ms",
               "must be greater than 0 milliseconds (default 500); it is "
               "the first wait of the doubling back-off");
  if (n.reconnect_max_wait_ms < n.reconnect_wait_ms)
    return err("nats.reconnect_max_wait_ms",
               "must be at least nats.reconnect_wait_ms ("
                 + std::to_string(n.reconnect_wait_ms)
                 + "), the first wait; the default is 5000");
  if (!n.tls_cert_file.empty() && n.tls_key_file.empty())
    return err("nats.tls_key_file",
               "must be set when nats.tls_cert_file is: a client "
               "certificate needs its private key");
  if (n.tls_cert_file.empty() && !n.tls_key_file.empty())
    return err("nats.tls_cert_file",
               "must be set when nats.tls_key_file is: a private key needs "
               "its client certificate");
  if (!n.uses_tls()) {
    // Set but unused would silently connect in plain text.
    std::pair<std::string_view, const std::string*> tls_only[] = {
      {"nats.tls_ca_file", &n.tls_ca_file},
      {"nats.tls_cert_file", &n.tls_cert_file},
      {"nats.tls_hostname", &n.tls_hostname}};
    for (auto& [field, value] : tls_only)
      if (!value->empty())
        return err(std::string{field},
                   "is set but TLS is off; set nats.tls to true or use "
                   "tls:// server URLs");
    if (n.tls_skip_verify)
      return err("nats.tls_skip_verify",
                 "is set but TLS is off; set nats.tls to true or use "
                 "tls:// server URLs");
  }
  if (s.cluster.bridge != "nats")
    return std::nullopt;
  std::pair<std::string_view, const std::string*> files[] = {
    {"nats.tls_ca_file", &n.tls_ca_file},
    {"nats.tls_cert_file", &n.tls_cert_file},
    {"nats.tls_key_file", &n.tls_key_file}};
  for (auto& [field, path] : files)
    if (!path->empty())
      if (auto problem = unreadable(*path))
        return err(std::string{field},
                   "must name a readable PEM file: " + *problem);
  return std::nullopt;
}

std::optional<load_error> check_cluster(const settings& s) {
  const auto& bridge = s.cluster.bridge;
  if (bridge == "nats") {
    if (s.nats.servers.empty())
      return err("nats.servers",
                 "must list at least one server (e.g. "
                 "\"nats://127.0.0.1:4222\") when cluster.bridge is \"nats\"");
    for (size_t i = 0; i < s.nats.servers.size(); ++i)
      if (s.nats.servers[i].empty())
        return err("nats.servers[" + std::to_string(i) + "]",
                   "must not be empty; write a URL like "
                   "\"nats://127.0.0.1:4222\"");
  }
  // Peers dial the announced host: "every interface" is no address.
  if (bridge == "nats" && s.cluster.middleman_advertise_host.empty()
      && (s.cluster.middleman_host == "0.0.0.0"
          || s.cluster.middleman_host == "::"))
    return err("cluster.middleman_advertise_host",
               "must be set when cluster.middleman_host is \""
                 + s.cluster.middleman_host
                 + "\": other nodes need an address to dial (the pod IP, "
                   "the container's service name)");
  // A node that may miss one heartbeat without leaving needs a timeout
  // longer than the period.
  if (s.cluster.node_timeout_ms <= s.cluster.heartbeat_ms)
    return err("cluster.node_timeout_ms",
               "must be greater than cluster.heartbeat_ms ("
                 + std::to_string(s.cluster.heartbeat_ms)
                 + "); the default is 3000");
  return std::nullopt;
}

// Every key's own constraints (range, one-of, not empty), from the table,
// for the node and for each app, webhook and logic binding.
std::optional<load_error> check_keys(const settings& s) {
  auto check = [](scope where, const void* owner,
                  const std::string& prefix) -> std::optional<load_error> {
    for (const auto& k : keys())
      if (k.scope == where)
        if (auto problem = check_constraints(k, owner))
          return err(prefix + std::string{k.local_path()}, *problem);
    return std::nullopt;
  };
  if (auto e = check(scope::node, &s, ""))
    return e;
  for (size_t i = 0; i < s.apps.size(); ++i) {
    const auto& app = s.apps[i];
    auto prefix = "apps[" + std::to_string(i) + "].";
    if (auto e = check(scope::app, &app, prefix))
      return e;
    for (size_t h = 0; h < app.webhooks.size(); ++h)
      if (auto e = check(scope::webhook, &app.webhooks[h],
                         prefix + "webhooks[" + std::to_string(h) + "]."))
        return e;
    for (size_t b = 0; b < app.logic.size(); ++b)
      if (auto e = check(scope::logic, &app.logic[b],
                         prefix + "logic[" + std::to_string(b) + "]."))
        return e;
  }
  return std::nullopt;
}

} // namespace

std::optional<load_error> validate(const settings& s,
                                   const std::set<std::string>& logic_actors) {
  if (auto e = check_keys(s))
    return e;
  if (auto e = check_server(s.server))
    return e;
  if (auto e = check_admin(s))
    return e;
  if (auto e = check_apps(s.apps, logic_actors))
    return e;
  if (auto e = check_cluster(s))
    return e;
  return check_nats(s);
}

} // namespace starling::config
