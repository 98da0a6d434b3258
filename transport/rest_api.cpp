// Pusher HTTP API: signature checks, validation, trigger hand-off.
#include "transport/rest_api.hpp"

#include <ctime>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
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
  if (target == "/" || target.empty()) {
    http_reply ok;
    ok.body = "{\"ok\":true}";
    return done(ok);
  }
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
  if (rest == "/events") {
    if (req.method != "POST")
      return done(json_error(405, "Use POST for /events"));
    return done(trigger(app, req.body));
  }
  done(json_error(404, "Not found: " + target));
}

http_reply rest_api::trigger(const config::app_settings& app,
                             const std::string& body) {
  auto& limits = app.limits;
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return json_error(400, "Body must be a JSON object");
  publish_request req;
  req.app_id = app.id;
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
  if (auto channels = doc.find("channels"); channels != doc.end()) {
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
    return json_error(400, "Give at least one channel (\"channels\")");
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
  ++ctx_.metrics.publishes;
  caf::anon_send(ctx_.node, std::move(req));
  http_reply ok;
  ok.body = "{}";
  return ok;
}

} // namespace starling::transport
