// Pusher HTTP API: signature checks, validation, trigger hand-off.
#include "transport/rest_api.hpp"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "transport/ask.hpp"
#include "transport/codec/channel_name.hpp"
#include "transport/codec/signature.hpp"
#include "transport/codec/socket_id.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

namespace {

using json = nlohmann::json;

// Splits "/apps/<id>/<rest>" into id and rest; false for other paths.
bool split_app_path(const std::string& path, std::string& app_id,
                    std::string& rest) {
  static const std::string apps = "/apps/";
  if (path.compare(0, apps.size(), apps) != 0)
    return false;
  auto slash = path.find('/', apps.size());
  if (slash == std::string::npos || slash == apps.size())
    return false;
  app_id = path.substr(apps.size(), slash - apps.size());
  rest = path.substr(slash);
  return true;
}

// Percent-decodes one path segment (channel names, user ids).
std::string decode_segment(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Splits a comma list ("user_count,subscription_count").
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    if (comma == std::string::npos)
      comma = text.size();
    if (comma > pos)
      out.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

bool contains(const std::vector<std::string>& xs, const char* x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

http_reply ok_json(std::string body) {
  http_reply reply;
  reply.body = std::move(body);
  return reply;
}

// Validated trigger input, shared by /events and /batch_events.
struct trigger_input {
  publish_request request;
  std::vector<std::string> info;
};

// Reads one event object; returns an empty reply when valid.
std::optional<http_reply> read_event(const config::app_settings& app,
                                     const json& doc, bool batch_item,
                                     trigger_input& out) {
  auto& limits = app.limits;
  auto& req = out.request;
  req.app_id = app.id;
  if (!doc.is_object())
    return json_error(400, "Each event must be a JSON object");
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string())
    return json_error(400, "Missing event name (\"name\")");
  req.event = name->get<std::string>();
  if (auto problem = codec::validate_event_name(req.event,
                                                limits.max_event_name_length);
      !problem.empty())
    return json_error(400, problem);
  auto data = doc.find("data");
  if (data == doc.end())
    return json_error(400, "Missing event data (\"data\")");
  // The SDKs send a data string; a raw JSON value is passed on as its text.
  req.data = data->is_string() ? data->get<std::string>() : data->dump();
  if (req.data.size() > limits.max_event_payload_bytes)
    return json_error(413, "Event data is larger than "
                             + std::to_string(limits.max_event_payload_bytes)
                             + " bytes");
  if (auto channels = doc.find("channels");
      !batch_item && channels != doc.end()) {
    if (!channels->is_array())
      return json_error(400, "\"channels\" must be an array of names");
    for (auto& c : *channels) {
      if (!c.is_string())
        return json_error(400, "\"channels\" must be an array of names");
      req.channels.push_back(c.get<std::string>());
    }
  } else if (auto channel = doc.find("channel");
             channel != doc.end() && channel->is_string()) {
    req.channels.push_back(channel->get<std::string>());
  }
  if (req.channels.empty())
    return json_error(400, batch_item
                             ? "Each batch event needs a \"channel\""
                             : "Give at least one channel (\"channels\")");
  if (req.channels.size() > limits.max_channels_per_trigger)
    return json_error(400, "At most "
                             + std::to_string(limits.max_channels_per_trigger)
                             + " channels per trigger");
  for (auto& c : req.channels)
    if (auto problem = codec::validate_channel_name(
          c, limits.max_channel_name_length);
        !problem.empty())
      return json_error(400, problem + ": " + c);
  if (auto sid = doc.find("socket_id"); sid != doc.end() && !sid->is_null()) {
    if (!sid->is_string() || !codec::is_valid_socket_id(sid->get<std::string>()))
      return json_error(400, "Invalid socket_id");
    req.socket_id = sid->get<std::string>();
  }
  if (auto info = doc.find("info"); info != doc.end() && info->is_string()) {
    out.info = split_list(info->get<std::string>());
    for (auto& attr : out.info) {
      if (attr != "user_count" && attr != "subscription_count")
        return json_error(400, "Unknown info attribute " + attr);
      if (attr == "user_count")
        for (auto& c : req.channels)
          if (!codec::classify_channel(c).is_presence())
            return json_error(400, "user_count is only available for presence "
                                   "channels: " + c);
    }
  }
  return std::nullopt;
}

// Answers of several one-shot actors, which may run on different threads.
struct gather {
  std::mutex mtx;
  json result;
  std::size_t pending = 0;

  // Stores one answer; returns the response once the last one is in.
  template <class Key>
  std::optional<http_reply> add(const Key& key, json value, const char* field) {
    std::lock_guard<std::mutex> guard{mtx};
    result[key] = std::move(value);
    if (--pending > 0)
      return std::nullopt;
    return ok_json(json{{field, result}}.dump());
  }
};

// The attributes of one channel asked for with `info`.
json info_attributes(const channel_info& ci, const std::vector<std::string>& info) {
  auto attrs = json::object();
  if (contains(info, "user_count"))
    attrs["user_count"] = ci.user_count;
  if (contains(info, "subscription_count"))
    attrs["subscription_count"] = ci.subscription_count;
  return attrs;
}

} // namespace

http_reply json_error(unsigned status, const std::string& message) {
  http_reply reply;
  reply.status = status;
  reply.body = json{{"error", message}, {"code", status}}.dump();
  return reply;
}

rest_api::rest_api(server_context& ctx) : ctx_(ctx) {
  for (auto& app : ctx_.settings.apps)
    apps_by_id_.emplace(app.id, &app);
}

void rest_api::handle(const http_request_view& req, const reply_fn& done) {
  auto target = req.target;
  std::string query;
  if (auto q = target.find('?'); q != std::string::npos) {
    query = target.substr(q + 1);
    target.resize(q);
  }
  // The SDK signs the path it requested, prefix included.
  auto signed_path = target;
  auto& prefix = ctx_.settings.server.path_prefix;
  if (!prefix.empty()) {
    if (target.compare(0, prefix.size(), prefix) != 0)
      return done(json_error(404, "Not found: " + target));
    target.erase(0, prefix.size());
  }
  if (target == "/" || target.empty())
    return done(ok_json("{\"ok\":true}"));
  std::string app_id, rest;
  if (!split_app_path(target, app_id, rest))
    return done(json_error(404, "Not found: " + target));
  auto i = apps_by_id_.find(app_id);
  if (i == apps_by_id_.end())
    return done(json_error(404, "Unknown app id " + app_id));
  auto& app = *i->second;
  auto params = codec::parse_query(query);
  auto auth = codec::verify_rest_request(req.method, signed_path, params,
                                         req.body, app.key, app.secret,
                                         static_cast<int64_t>(std::time(nullptr)));
  if (auth != codec::rest_auth_error::none)
    return done(json_error(401, codec::describe(auth)));
  if (!app.enabled)
    return done(json_error(403, "Application is disabled"));
  auto method_is = [&](const char* m) {
    if (req.method == m)
      return true;
    done(json_error(405, std::string{"Use "} + m + " for " + rest));
    return false;
  };
  if (rest == "/events") {
    if (method_is("POST"))
      trigger(app, req.body, done);
    return;
  }
  if (rest == "/batch_events") {
    if (method_is("POST"))
      batch(app, req.body, done);
    return;
  }
  if (rest == "/channels") {
    if (method_is("GET"))
      channels(app, params, done);
    return;
  }
  static const std::string channels_prefix = "/channels/";
  if (rest.compare(0, channels_prefix.size(), channels_prefix) == 0) {
    auto name = rest.substr(channels_prefix.size());
    bool users = false;
    static const std::string users_suffix = "/users";
    if (name.size() > users_suffix.size()
        && name.compare(name.size() - users_suffix.size(), users_suffix.size(),
                        users_suffix) == 0) {
      users = true;
      name.resize(name.size() - users_suffix.size());
    }
    if (method_is("GET"))
      channel(app, decode_segment(name), params, users, done);
    return;
  }
  static const std::string users_prefix = "/users/";
  static const std::string terminate_suffix = "/terminate_connections";
  if (rest.compare(0, users_prefix.size(), users_prefix) == 0
      && rest.size() > users_prefix.size() + terminate_suffix.size()
      && rest.compare(rest.size() - terminate_suffix.size(),
                      terminate_suffix.size(), terminate_suffix) == 0) {
    auto user = rest.substr(users_prefix.size(), rest.size()
                                                   - users_prefix.size()
                                                   - terminate_suffix.size());
    if (method_is("POST"))
      terminate(app, decode_segment(user), done);
    return;
  }
  done(json_error(404, "Not found: " + target));
}

void rest_api::trigger(const config::app_settings& app, const std::string& body,
                       const reply_fn& done) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return done(json_error(400, "Body must be a JSON object"));
  trigger_input in;
  if (auto problem = read_event(app, doc, false, in))
    return done(*problem);
  ++ctx_.metrics.publishes;
  auto channels = in.request.channels;
  caf::anon_send(ctx_.node, std::move(in.request));
  if (in.info.empty())
    return done(ok_json("{}"));
  // Pusher protocol §6.3: counts are computed apart from the broadcast.
  auto g = std::make_shared<gather>();
  g->result = json::object();
  g->pending = channels.size();
  auto info = in.info;
  auto reply = once(done);
  for (auto& name : channels)
    ask<channel_info>(ctx_, channel_request{app.id, name, false}, reply,
                      [g, info, name](channel_info& ci) {
                        return g->add(name, info_attributes(ci, info),
                                      "channels");
                      });
}

void rest_api::batch(const config::app_settings& app, const std::string& body,
                     const reply_fn& done) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return done(json_error(400, "Body must be a JSON object"));
  auto items = doc.find("batch");
  if (items == doc.end() || !items->is_array())
    return done(json_error(400, "Missing \"batch\" array"));
  if (items->size() > app.limits.max_batch_size)
    return done(json_error(400, "At most "
                                  + std::to_string(app.limits.max_batch_size)
                                  + " events per batch"));
  // Validate the whole batch first: one bad event fails the request.
  std::vector<trigger_input> inputs(items->size());
  bool any_info = false;
  for (std::size_t i = 0; i < items->size(); ++i) {
    if (auto problem = read_event(app, (*items)[i], true, inputs[i]))
      return done(*problem);
    any_info = any_info || !inputs[i].info.empty();
  }
  for (auto& in : inputs) {
    ++ctx_.metrics.publishes;
    caf::anon_send(ctx_.node, in.request);
  }
  if (!any_info)
    return done(ok_json("{}"));
  auto g = std::make_shared<gather>();
  g->result = json::array();
  for (auto& in : inputs) {
    g->result.push_back(json::object());
    if (!in.info.empty())
      ++g->pending;
  }
  auto reply = once(done);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].info.empty())
      continue;
    auto info = inputs[i].info;
    ask<channel_info>(ctx_,
                      channel_request{app.id, inputs[i].request.channels[0], false},
                      reply, [g, info, i](channel_info& ci) {
                        return g->add(i, info_attributes(ci, info), "batch");
                      });
  }
}

void rest_api::channels(const config::app_settings& app,
                        const codec::query_params& params, const reply_fn& done) {
  std::string prefix;
  if (auto p = codec::find_param(params, "filter_by_prefix"))
    prefix = *p;
  std::vector<std::string> info;
  if (auto p = codec::find_param(params, "info"))
    info = split_list(*p);
  for (auto& attr : info) {
    if (attr != "user_count")
      return done(json_error(400, "Only info=user_count is available here"));
    if (prefix.rfind("presence-", 0) != 0)
      return done(json_error(400, "info=user_count needs "
                                  "filter_by_prefix=presence-"));
  }
  ask<std::vector<channel_info>>(
    ctx_, channels_request{app.id, prefix}, done,
    [info](std::vector<channel_info>& infos) -> std::optional<http_reply> {
      auto channels = json::object();
      for (auto& ci : infos)
        channels[ci.channel] = info_attributes(ci, info);
      return ok_json(json{{"channels", channels}}.dump());
    });
}

void rest_api::channel(const config::app_settings& app, const std::string& name,
                       const codec::query_params& params, bool users,
                       const reply_fn& done) {
  if (auto problem = codec::validate_channel_name(
        name, app.limits.max_channel_name_length, false);
      !problem.empty())
    return done(json_error(400, problem));
  auto traits = codec::classify_channel(name);
  if (users) {
    if (!traits.is_presence())
      return done(json_error(400, "/users is only available for presence "
                                  "channels"));
    return ask<std::vector<std::string>>(
      ctx_, channel_request{app.id, name, true}, done,
      [](std::vector<std::string>& ids) -> std::optional<http_reply> {
        auto list = json::array();
        for (auto& id : ids)
          list.push_back(json{{"id", id}});
        return ok_json(json{{"users", list}}.dump());
      });
  }
  std::vector<std::string> info;
  if (auto p = codec::find_param(params, "info"))
    info = split_list(*p);
  for (auto& attr : info) {
    if (attr == "user_count" && !traits.is_presence())
      return done(json_error(400, "user_count is only available for presence "
                                  "channels"));
    if (attr == "cache" && !traits.cached)
      return done(json_error(400, "cache is only available for cache channels"));
    if (attr != "user_count" && attr != "subscription_count" && attr != "cache")
      return done(json_error(400, "Unknown info attribute " + attr));
  }
  ask<channel_info>(ctx_, channel_request{app.id, name, false}, done,
                    [info](channel_info& ci) -> std::optional<http_reply> {
                      auto body = info_attributes(ci, info);
                      body["occupied"] = ci.occupied;
                      if (contains(info, "cache")) {
                        if (ci.cache_hit)
                          body["cache"] = json{{"event", ci.cache_event},
                                               {"data", ci.cache_data},
                                               {"ttl", ci.cache_ttl_s}};
                        else
                          body["cache"] = nullptr;
                      }
                      return ok_json(body.dump());
                    });
}

void rest_api::terminate(const config::app_settings& app,
                         const std::string& user_id, const reply_fn& done) {
  if (user_id.empty())
    return done(json_error(400, "Missing user id"));
  ask<caf::ok_atom>(ctx_, terminate_request{app.id, user_id}, done,
                    [](caf::ok_atom) -> std::optional<http_reply> {
                      return ok_json("{}");
                    });
}

} // namespace starling::transport
