// Pusher frame parsing (nlohmann-json) and hand-written encoders for the
// server-to-client frames, which sit on the fan-out hot path.
#include "pusher/frame.hpp"

#include <nlohmann/json.hpp>

#include <utility>

namespace starling::pusher {

namespace {

using json = nlohmann::json;

// nlohmann parses iteratively but dump() recurses once per nesting level, so
// an attacker-sized `[[[[...` frame could exhaust a worker's stack when its
// `data` is re-serialized. Real Pusher payloads are nowhere near this deep.
constexpr int max_json_depth = 128;

template <class T>
parse_result<T> fail(std::string message) {
  parse_result<T> result;
  result.error = input_error{0, std::move(message)};
  return result;
}

template <class T>
parse_result<T> succeed(T value) {
  parse_result<T> result;
  result.value = std::move(value);
  return result;
}

// Returns whether brackets outside strings nest deeper than max_json_depth.
// Only a guard: malformed text that passes is rejected by the parser.
bool nests_too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (auto c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_json_depth)
        return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// Parses `text` into one JSON value; the error names the byte where it broke
// (not the bytes themselves: they may be invalid UTF-8).
parse_result<json> parse_json(std::string_view text) {
  // nlohmann stops at a NUL byte as if the input ended there, which would
  // accept `{..}\0junk`; a raw NUL is never legal JSON (RFC 8259 §7).
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return fail<json>("Invalid JSON: NUL at byte " + std::to_string(nul));
  if (nests_too_deep(text))
    return fail<json>("Invalid JSON: nested deeper than "
                      + std::to_string(max_json_depth) + " levels");
  try {
    return succeed(json::parse(text.data(), text.data() + text.size()));
  } catch (const json::parse_error& e) {
    return fail<json>("Invalid JSON: syntax error at byte "
                      + std::to_string(e.byte));
  } catch (const json::exception&) {
    return fail<json>("Invalid JSON");
  }
}

// Compact JSON text; `replace` keeps dump() from throwing on bad UTF-8, which
// the parser has already rejected anyway.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Returns the data object of a system event, whether the client sent an
// object (pusher-js) or a data string holding one (protocol §0 item 4).
parse_result<json> data_object(const client_frame& frame,
                               std::string_view what) {
  std::string_view text = frame.data_string ? *frame.data_string : frame.data;
  if (text.empty())
    return fail<json>(std::string{what} + " has no data");
  auto parsed = parse_json(text);
  if (!parsed)
    return fail<json>(std::string{what} + " data: " + parsed.error.message);
  if (!parsed->is_object())
    return fail<json>(std::string{what} + " data must be a JSON object");
  return parsed;
}

// Reads the string field `key` of `object` into `out`. A missing or null
// field counts as absent; any other non-string type is an error.
enum class field_status { absent, present, wrong_type };

field_status get_string(const json& object, const char* key, std::string& out) {
  auto i = object.find(key);
  if (i == object.end() || i->is_null())
    return field_status::absent;
  if (!i->is_string())
    return field_status::wrong_type;
  out = i->get<std::string>();
  return field_status::present;
}

// Appends `text` as a JSON string literal (RFC 8259 §7): quotes, backslashes
// and control characters are escaped; other bytes, UTF-8 included, are kept.
void append_quoted(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        char escape[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
        out.append(escape, sizeof(escape));
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

// Starts `{"event":"<event>"[,"channel":"<channel>"],"data":`.
std::string open_frame(std::string_view event, std::string_view channel,
                       std::size_t extra) {
  std::string out;
  out.reserve(40 + event.size() + channel.size() + extra);
  out += "{\"event\":";
  append_quoted(out, event);
  if (!channel.empty()) {
    out += ",\"channel\":";
    append_quoted(out, channel);
  }
  out += ",\"data\":";
  return out;
}

// A frame whose data is the data string `data_json` (protocol §0 item 3).
std::string data_string_frame(std::string_view event, std::string_view channel,
                              std::string_view data_json) {
  auto out = open_frame(event, channel,
                        data_json.size() + data_json.size() / 8);
  append_quoted(out, data_json);
  out += '}';
  return out;
}

} // namespace

parse_result<client_frame> parse_client_frame(std::string_view text) {
  auto parsed = parse_json(text);
  if (!parsed)
    return fail<client_frame>(std::move(parsed.error.message));
  const auto& root = *parsed;
  if (!root.is_object())
    return fail<client_frame>("Frame must be a JSON object");
  client_frame frame;
  if (get_string(root, "event", frame.event) != field_status::present)
    return fail<client_frame>("Missing event");
  if (get_string(root, "channel", frame.channel) == field_status::wrong_type)
    return fail<client_frame>("Channel must be a string");
  if (auto i = root.find("data"); i != root.end()) {
    frame.data = dump(*i);
    if (i->is_string())
      frame.data_string = i->get<std::string>();
  }
  return succeed(std::move(frame));
}

parse_result<subscribe_request> parse_subscribe(const client_frame& frame) {
  auto data = data_object(frame, "pusher:subscribe");
  if (!data)
    return fail<subscribe_request>(std::move(data.error.message));
  subscribe_request req;
  if (get_string(*data, "channel", req.channel) != field_status::present)
    return fail<subscribe_request>(
      "pusher:subscribe data has no string channel");
  // Public channels get `auth: ""` from pusher-js; tolerate it being absent.
  if (get_string(*data, "auth", req.auth) == field_status::wrong_type)
    return fail<subscribe_request>("pusher:subscribe auth must be a string");
  if (auto i = data->find("channel_data"); i != data->end() && !i->is_null()) {
    if (i->is_string()) {
      // Kept byte-for-byte: the signature covers this exact text (§3).
      req.channel_data = i->get<std::string>();
    } else if (i->is_object()) {
      // Some clients pass the object through. Its re-serialization only
      // matches the signed text when the signer serialized it compactly with
      // the same key order, so the signature check may fail for them.
      req.channel_data = dump(*i);
    } else {
      return fail<subscribe_request>(
        "pusher:subscribe channel_data must be a string");
    }
  }
  return succeed(std::move(req));
}

parse_result<std::string> parse_unsubscribe(const client_frame& frame) {
  auto data = data_object(frame, "pusher:unsubscribe");
  if (!data)
    return fail<std::string>(std::move(data.error.message));
  std::string channel;
  if (get_string(*data, "channel", channel) != field_status::present)
    return fail<std::string>("pusher:unsubscribe data has no string channel");
  return succeed(std::move(channel));
}

parse_result<signin_request> parse_signin(const client_frame& frame) {
  auto data = data_object(frame, "pusher:signin");
  if (!data)
    return fail<signin_request>(std::move(data.error.message));
  signin_request req;
  if (get_string(*data, "auth", req.auth) != field_status::present)
    return fail<signin_request>("pusher:signin data has no string auth");
  // Kept byte-for-byte: the signature covers this exact text (§4.1).
  if (get_string(*data, "user_data", req.user_data) != field_status::present)
    return fail<signin_request>("pusher:signin data has no string user_data");
  return succeed(std::move(req));
}

parse_result<presence_member> parse_channel_data(std::string_view channel_data,
                                                 std::size_t max_user_id,
                                                 std::size_t max_bytes) {
  // Size first: no point parsing what we will refuse anyway.
  if (channel_data.size() > max_bytes)
    return fail<presence_member>("channel_data is longer than "
                                 + std::to_string(max_bytes) + " bytes");
  auto parsed = parse_json(channel_data);
  if (!parsed)
    return fail<presence_member>("channel_data: " + parsed.error.message);
  if (!parsed->is_object())
    return fail<presence_member>("channel_data must be a JSON object");
  auto id = parsed->find("user_id");
  if (id == parsed->end())
    return fail<presence_member>("channel_data has no user_id");
  presence_member member;
  // The docs' own example sends `"user_id":10`; ids travel as strings (§2.7).
  if (id->is_string())
    member.user_id = id->get<std::string>();
  else if (id->is_number_unsigned())
    member.user_id = std::to_string(id->get<uint64_t>());
  else if (id->is_number_integer())
    member.user_id = std::to_string(id->get<int64_t>());
  else
    return fail<presence_member>("user_id must be a string or an integer");
  if (member.user_id.empty())
    return fail<presence_member>("user_id is empty");
  if (member.user_id.size() > max_user_id)
    return fail<presence_member>("user_id is longer than "
                                 + std::to_string(max_user_id) + " characters");
  if (auto info = parsed->find("user_info"); info != parsed->end())
    member.user_info = dump(*info);
  return succeed(std::move(member));
}

parse_result<std::string> parse_user_data_id(std::string_view user_data) {
  auto parsed = parse_json(user_data);
  if (!parsed)
    return fail<std::string>("user_data: " + parsed.error.message);
  if (!parsed->is_object())
    return fail<std::string>("user_data must be a JSON object");
  std::string id;
  if (get_string(*parsed, "id", id) != field_status::present || id.empty())
    return fail<std::string>("user_data must have a non-empty string id");
  return succeed(std::move(id));
}

parse_result<user_data> parse_user_data(std::string_view text) {
  auto id = parse_user_data_id(text);
  if (!id)
    return fail<user_data>(id.error.message);
  user_data result;
  result.id = std::move(*id.value);
  auto parsed = parse_json(text);
  auto w = parsed->find("watchlist");
  if (w != parsed->end() && !w->is_null()) {
    if (!w->is_array())
      return fail<user_data>("user_data.watchlist must be an array of user ids");
    for (auto& item : *w) {
      if (item.is_string())
        result.watchlist.push_back(item.get<std::string>());
      else if (item.is_number_integer())
        result.watchlist.push_back(item.dump());
      else
        return fail<user_data>("user_data.watchlist must hold user ids");
    }
  }
  return succeed(std::move(result));
}

std::string encode_watchlist_events(const std::vector<std::string>& online,
                                    const std::vector<std::string>& offline) {
  // pusher-js (src/core/watchlist.ts) reads data.events[].{name,user_ids}.
  std::string data = "{\"events\":[";
  bool first = true;
  auto entry = [&](const char* name, const std::vector<std::string>& ids) {
    if (ids.empty())
      return;
    if (!first)
      data += ',';
    first = false;
    data += "{\"name\":\"";
    data += name;
    data += "\",\"user_ids\":[";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0)
        data += ',';
      append_quoted(data, ids[i]);
    }
    data += "]}";
  };
  entry("online", online);
  entry("offline", offline);
  data += "]}";
  return data_string_frame("pusher_internal:watchlist_events", {}, data);
}

std::string encode_event(std::string_view event, std::string_view channel,
                         std::string_view data, data_format format,
                         std::string_view user_id) {
  std::string out;
  out.reserve(48 + event.size() + channel.size() + data.size() + data.size() / 8
              + user_id.size());
  out += "{\"event\":";
  append_quoted(out, event);
  if (!channel.empty()) {
    out += ",\"channel\":";
    append_quoted(out, channel);
  }
  if (format == data_format::as_string) {
    out += ",\"data\":";
    append_quoted(out, data);
  } else if (!data.empty()) {
    // A client event without `data` arrives as "": relay it without the
    // field rather than emit `"data":}`.
    out += ",\"data\":";
    out += data;
  }
  if (!user_id.empty()) {
    out += ",\"user_id\":";
    append_quoted(out, user_id);
  }
  out += '}';
  return out;
}

std::string encode_connection_established(std::string_view socket_id,
                                          unsigned activity_timeout_s) {
  std::string data = "{\"socket_id\":";
  append_quoted(data, socket_id);
  data += ",\"activity_timeout\":";
  data += std::to_string(activity_timeout_s);
  data += '}';
  return data_string_frame("pusher:connection_established", {}, data);
}

std::string encode_error(int code, std::string_view message,
                         std::string_view channel) {
  // Object data, code null for subscription problems (protocol §1.5).
  auto out = open_frame("pusher:error", channel, message.size() + 32);
  out += "{\"code\":";
  out += code == 0 ? std::string{"null"} : std::to_string(code);
  out += ",\"message\":";
  append_quoted(out, message);
  out += "}}";
  return out;
}

std::string encode_ping() {
  return "{\"event\":\"pusher:ping\",\"data\":{}}";
}

std::string encode_pong() {
  return "{\"event\":\"pusher:pong\",\"data\":{}}";
}

std::string encode_subscription_succeeded(std::string_view channel,
                                          std::string_view data_json) {
  return data_string_frame("pusher_internal:subscription_succeeded", channel,
                           data_json);
}

std::vector<std::string> presence_data_ids(std::string_view data_json) {
  std::vector<std::string> ids;
  auto parsed = parse_json(data_json);
  if (!parsed || !parsed->is_object())
    return ids;
  auto p = parsed->find("presence");
  if (p == parsed->end() || !p->is_object())
    return ids;
  auto i = p->find("ids");
  if (i == p->end() || !i->is_array())
    return ids;
  for (auto& id : *i)
    if (id.is_string())
      ids.push_back(id.get<std::string>());
  return ids;
}

std::string member_data_user_id(std::string_view data_json) {
  auto parsed = parse_json(data_json);
  std::string id;
  if (parsed && parsed->is_object())
    get_string(*parsed, "user_id", id);
  return id;
}

std::string encode_presence_data(const std::vector<presence_member>& members) {
  std::string out = "{\"presence\":{\"ids\":[";
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i > 0)
      out += ',';
    append_quoted(out, members[i].user_id);
  }
  out += "],\"hash\":{";
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i > 0)
      out += ',';
    append_quoted(out, members[i].user_id);
    out += ':';
    out += members[i].user_info.empty()
      ? std::string_view{"null"}
      : std::string_view{members[i].user_info};
  }
  out += "},\"count\":";
  out += std::to_string(members.size());
  out += "}}";
  return out;
}

std::string encode_subscription_error(std::string_view channel,
                                      std::string_view type,
                                      std::string_view message, int status) {
  // Soketi's channel-scoped shape, which pusher-js routes to the channel's
  // `pusher:subscription_error` listeners (protocol §2.5).
  auto out = open_frame("pusher:subscription_error", channel,
                        type.size() + message.size() + 32);
  out += "{\"type\":";
  append_quoted(out, type);
  out += ",\"error\":";
  append_quoted(out, message);
  out += ",\"status\":";
  out += std::to_string(status);
  out += "}}";
  return out;
}

std::string encode_member_added(std::string_view channel,
                                const presence_member& member) {
  std::string data = "{\"user_id\":";
  append_quoted(data, member.user_id);
  if (!member.user_info.empty()) {
    data += ",\"user_info\":";
    data += member.user_info;
  }
  data += '}';
  return data_string_frame("pusher_internal:member_added", channel, data);
}

std::string encode_member_removed(std::string_view channel,
                                  std::string_view user_id) {
  std::string data = "{\"user_id\":";
  append_quoted(data, user_id);
  data += '}';
  return data_string_frame("pusher_internal:member_removed", channel, data);
}

std::string encode_cache_miss(std::string_view channel) {
  // Sockudo sends "{}" since its issue #78; pusher-js accepts any data.
  return data_string_frame("pusher:cache_miss", channel, "{}");
}

std::string encode_subscription_count(std::string_view channel,
                                      std::size_t count) {
  auto data = "{\"subscription_count\":" + std::to_string(count) + '}';
  return data_string_frame("pusher_internal:subscription_count", channel, data);
}

std::string encode_signin_success(std::string_view user_data) {
  // user_data is itself JSON text, so it is quoted twice (protocol §4.1).
  std::string data = "{\"user_data\":";
  append_quoted(data, user_data);
  data += '}';
  return data_string_frame("pusher:signin_success", {}, data);
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_quoted(out, text);
  return out;
}

bool is_valid_json(std::string_view text) {
  // See parse_json: nlohmann would stop at a NUL and accept what precedes it.
  if (text.find('\0') != std::string_view::npos)
    return false;
  try {
    return json::accept(text.data(), text.data() + text.size());
  } catch (const json::exception&) {
    return false;
  }
}

} // namespace starling::pusher
