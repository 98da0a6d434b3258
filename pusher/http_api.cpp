// Pusher HTTP API decoding and answers (Pusher protocol §6).
#include "pusher/http_api.hpp"

#include <nlohmann/json.hpp>

#include "pusher/channel_name.hpp"
#include "pusher/socket_id.hpp"

namespace starling::pusher {

namespace {

using json = nlohmann::json;

api_error error(unsigned status, std::string message) {
  return api_error{status, std::move(message)};
}

template <class T>
api_result<T> fail(unsigned status, std::string message) {
  api_result<T> result;
  result.error = error(status, std::move(message));
  return result;
}

template <class T>
api_result<T> fail(api_error e) {
  api_result<T> result;
  result.error = std::move(e);
  return result;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size()
         && text.substr(text.size() - suffix.size()) == suffix;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Percent-decodes one path segment (channel names, user ids).
std::string decode_segment(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16
                               + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Splits a comma list ("user_count,subscription_count").
std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    if (comma == std::string_view::npos)
      comma = text.size();
    if (comma > pos)
      out.emplace_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// Reads one event object (a trigger body or a batch item).
api_result<event_request> read_event(const json& doc, bool batch_item,
                                     const api_limits& limits) {
  using result = event_request;
  if (!doc.is_object())
    return fail<result>(400, "Each event must be a JSON object");
  event_request req;
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string())
    return fail<result>(400, "Missing event name (\"name\")");
  req.name = name->get<std::string>();
  if (auto problem = validate_event_name(req.name,
                                         limits.max_event_name_length);
      !problem.empty())
    return fail<result>(400, problem);
  auto data = doc.find("data");
  if (data == doc.end())
    return fail<result>(400, "Missing event data (\"data\")");
  // The SDKs send a data string; a raw JSON value is passed on as its text.
  req.data = data->is_string() ? data->get<std::string>() : data->dump();
  if (req.data.size() > limits.max_event_payload_bytes)
    return fail<result>(413, "Event data is larger than "
                               + std::to_string(limits.max_event_payload_bytes)
                               + " bytes");
  if (auto channels = doc.find("channels");
      !batch_item && channels != doc.end()) {
    if (!channels->is_array())
      return fail<result>(400, "\"channels\" must be an array of names");
    for (auto& c : *channels) {
      if (!c.is_string())
        return fail<result>(400, "\"channels\" must be an array of names");
      req.channels.push_back(c.get<std::string>());
    }
  } else if (auto channel = doc.find("channel");
             channel != doc.end() && channel->is_string()) {
    req.channels.push_back(channel->get<std::string>());
  }
  if (req.channels.empty())
    return fail<result>(400, batch_item
                               ? "Each batch event needs a \"channel\""
                               : "Give at least one channel (\"channels\")");
  if (req.channels.size() > limits.max_channels_per_trigger)
    return fail<result>(400, "At most "
                               + std::to_string(limits.max_channels_per_trigger)
                               + " channels per trigger");
  for (auto& c : req.channels)
    if (auto problem = validate_channel_name(c, limits.max_channel_name_length);
        !problem.empty())
      return fail<result>(400, problem + ": " + c);
  if (auto sid = doc.find("socket_id"); sid != doc.end() && !sid->is_null()) {
    if (!sid->is_string() || !is_valid_socket_id(sid->get<std::string>()))
      return fail<result>(400, "Invalid socket_id");
    req.socket_id = sid->get<std::string>();
  }
  if (auto info = doc.find("info"); info != doc.end() && info->is_string()) {
    for (auto& attr : split_list(info->get<std::string>())) {
      if (attr == "subscription_count") {
        req.info.subscription_count = true;
      } else if (attr == "user_count") {
        for (auto& c : req.channels)
          if (!classify_channel(c).has_roster())
            return fail<result>(400, "user_count is only available for "
                                     "presence channels: " + c);
        req.info.user_count = true;
      } else {
        return fail<result>(400, "Unknown info attribute " + attr);
      }
    }
  }
  api_result<event_request> out;
  out.value = std::move(req);
  return out;
}

json parse_object(std::string_view body) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return json{};
  return doc;
}

json attributes(const channel_report& r, const info_request& info) {
  auto attrs = json::object();
  if (info.user_count)
    attrs["user_count"] = r.user_count;
  if (info.subscription_count)
    attrs["subscription_count"] = r.subscription_count;
  return attrs;
}

} // namespace

api_result<api_target> decode_target(std::string_view target,
                                     std::string_view prefix) {
  api_target out;
  auto path = target;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    out.params = parse_query(target.substr(q + 1));
    path = target.substr(0, q);
  }
  // The SDK signs the path it requested, prefix included.
  out.path = std::string{path};
  auto not_found = [&] {
    return fail<api_target>(404, "Not found: " + std::string{path});
  };
  if (!prefix.empty()) {
    if (!starts_with(path, prefix))
      return not_found();
    path.remove_prefix(prefix.size());
  }
  if (path.empty() || path == "/") {
    out.route = api_route::root;
    api_result<api_target> result;
    result.value = std::move(out);
    return result;
  }
  constexpr std::string_view apps = "/apps/";
  if (!starts_with(path, apps))
    return not_found();
  path.remove_prefix(apps.size());
  auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0)
    return not_found();
  out.app_id = std::string{path.substr(0, slash)};
  auto rest = path.substr(slash);
  constexpr std::string_view channels_prefix = "/channels/";
  constexpr std::string_view users_suffix = "/users";
  constexpr std::string_view users_prefix = "/users/";
  constexpr std::string_view terminate_suffix = "/terminate_connections";
  if (rest == "/events") {
    out.route = api_route::events;
  } else if (rest == "/batch_events") {
    out.route = api_route::batch_events;
  } else if (rest == "/channels") {
    out.route = api_route::channels;
  } else if (starts_with(rest, channels_prefix)) {
    auto name = rest.substr(channels_prefix.size());
    out.route = api_route::channel;
    if (name.size() > users_suffix.size() && ends_with(name, users_suffix)) {
      out.route = api_route::channel_users;
      name.remove_suffix(users_suffix.size());
    }
    out.channel = decode_segment(name);
  } else if (starts_with(rest, users_prefix)
             && rest.size() > users_prefix.size() + terminate_suffix.size()
             && ends_with(rest, terminate_suffix)) {
    out.route = api_route::terminate_user;
    out.user_id = decode_segment(rest.substr(
      users_prefix.size(),
      rest.size() - users_prefix.size() - terminate_suffix.size()));
  } else {
    return not_found();
  }
  api_result<api_target> result;
  result.value = std::move(out);
  return result;
}

std::optional<api_error> check_method(api_route route,
                                      std::string_view method) {
  const char* wanted = "GET";
  const char* what = "";
  switch (route) {
    case api_route::root:
      return std::nullopt;
    case api_route::events:
      wanted = "POST";
      what = "/events";
      break;
    case api_route::batch_events:
      wanted = "POST";
      what = "/batch_events";
      break;
    case api_route::channels:
      what = "/channels";
      break;
    case api_route::channel:
      what = "/channels/<name>";
      break;
    case api_route::channel_users:
      what = "/channels/<name>/users";
      break;
    case api_route::terminate_user:
      wanted = "POST";
      what = "/users/<id>/terminate_connections";
      break;
  }
  if (method == wanted)
    return std::nullopt;
  return error(405, std::string{"Use "} + wanted + " for " + what);
}

api_result<event_request> decode_trigger(std::string_view body,
                                         const api_limits& limits) {
  auto doc = parse_object(body);
  if (!doc.is_object())
    return fail<event_request>(400, "Body must be a JSON object");
  return read_event(doc, false, limits);
}

api_result<std::vector<event_request>> decode_batch(std::string_view body,
                                                    const api_limits& limits) {
  using result = std::vector<event_request>;
  auto doc = parse_object(body);
  if (!doc.is_object())
    return fail<result>(400, "Body must be a JSON object");
  auto items = doc.find("batch");
  if (items == doc.end() || !items->is_array())
    return fail<result>(400, "Missing \"batch\" array");
  if (items->size() > limits.max_batch_size)
    return fail<result>(400, "At most " + std::to_string(limits.max_batch_size)
                               + " events per batch");
  result events;
  for (auto& item : *items) {
    auto ev = read_event(item, true, limits);
    if (!ev)
      return fail<result>(std::move(ev.error));
    events.push_back(std::move(*ev));
  }
  api_result<result> out;
  out.value = std::move(events);
  return out;
}

api_result<channels_query> decode_channels_query(const query_params& params) {
  channels_query out;
  if (auto p = find_param(params, "filter_by_prefix"))
    out.prefix = *p;
  if (auto p = find_param(params, "info")) {
    for (auto& attr : split_list(*p)) {
      if (attr != "user_count")
        return fail<channels_query>(400, "Only info=user_count is available "
                                         "here");
      if (!starts_with(out.prefix, "presence-"))
        return fail<channels_query>(400, "info=user_count needs "
                                         "filter_by_prefix=presence-");
      out.info.user_count = true;
    }
  }
  api_result<channels_query> result;
  result.value = std::move(out);
  return result;
}

api_result<info_request> decode_channel_query(std::string_view channel,
                                              const query_params& params,
                                              const api_limits& limits) {
  if (auto problem = validate_channel_name(
        channel, limits.max_channel_name_length, false);
      !problem.empty())
    return fail<info_request>(400, problem);
  auto traits = classify_channel(channel);
  info_request info;
  if (auto p = find_param(params, "info")) {
    for (auto& attr : split_list(*p)) {
      if (attr == "user_count") {
        if (!traits.has_roster())
          return fail<info_request>(400, "user_count is only available for "
                                         "presence channels");
        info.user_count = true;
      } else if (attr == "cache") {
        if (!traits.keeps_last_event())
          return fail<info_request>(400, "cache is only available for cache "
                                         "channels");
        info.cache = true;
      } else if (attr == "subscription_count") {
        info.subscription_count = true;
      } else {
        return fail<info_request>(400, "Unknown info attribute " + attr);
      }
    }
  }
  api_result<info_request> result;
  result.value = info;
  return result;
}

std::optional<api_error> check_users_channel(std::string_view channel,
                                             const api_limits& limits) {
  if (auto problem = validate_channel_name(
        channel, limits.max_channel_name_length, false);
      !problem.empty())
    return error(400, problem);
  if (!classify_channel(channel).has_roster())
    return error(400, "/users is only available for presence channels");
  return std::nullopt;
}

std::string encode_api_error(const api_error& e) {
  // Messages quote the request path, which may hold any byte: replace
  // invalid UTF-8 rather than throw (a throw here aborted the node).
  return json{{"error", e.message}, {"code", e.status}}.dump(
    -1, ' ', false, json::error_handler_t::replace);
}

std::string encode_channel(const channel_report& r, const info_request& info) {
  auto body = attributes(r, info);
  body["occupied"] = r.occupied;
  if (info.cache) {
    if (r.cache_hit)
      body["cache"] = json{{"event", r.cache_event},
                           {"data", r.cache_data},
                           {"ttl", r.cache_ttl_s}};
    else
      body["cache"] = nullptr;
  }
  return body.dump();
}

std::string encode_channels(const std::vector<channel_report>& reports,
                            const info_request& info) {
  auto channels = json::object();
  for (auto& r : reports)
    channels[r.name] = attributes(r, info);
  return json{{"channels", channels}}.dump();
}

std::string encode_users(const std::vector<std::string>& user_ids) {
  auto list = json::array();
  for (auto& id : user_ids)
    list.push_back(json{{"id", id}});
  return json{{"users", list}}.dump();
}

std::string encode_trigger_info(const std::vector<channel_report>& reports,
                                const info_request& info) {
  auto channels = json::object();
  for (auto& r : reports)
    channels[r.name] = attributes(r, info);
  return json{{"channels", channels}}.dump();
}

std::string encode_batch_info(
  const std::vector<std::optional<channel_report>>& reports,
  const std::vector<info_request>& infos) {
  auto batch = json::array();
  for (std::size_t i = 0; i < reports.size(); ++i)
    batch.push_back(reports[i] && i < infos.size()
                      ? attributes(*reports[i], infos[i])
                      : json::object());
  return json{{"batch", batch}}.dump();
}

} // namespace starling::pusher
