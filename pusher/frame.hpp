// Pusher frames: parsing client-to-server JSON and encoding server-to-client
// JSON. Pure functions; nlohmann-json appears only in frame.cpp. Pusher's
// double-encoded `data` (JSON text inside a JSON string) is handled here only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace starling::pusher {

/// A problem with client input: the Pusher code (0 means JSON null) and a
/// message for the `pusher:error` frame.
struct input_error {
  int code = 0;        ///< Pusher error code, or 0 for `"code":null`.
  std::string message; ///< Human-readable reason.
};

/// The outcome of a parse: a value or an error.
template <class T>
struct parse_result {
  std::optional<T> value; ///< Set on success.
  input_error error;      ///< Meaningful when `value` is empty.
  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  const T* operator->() const { return &*value; }
};

/// One client-to-server frame (`{"event":..,"channel":..,"data":..}`).
struct client_frame {
  std::string event;   ///< Required event name.
  std::string channel; ///< Empty when absent.
  std::string data;    ///< The `data` value re-serialized as JSON text ("" if absent).
  /// When `data` was a JSON string, its unescaped content (a data string);
  /// system events may carry their object this way.
  std::optional<std::string> data_string;
};

/// Parses one text frame. Fails on invalid JSON, a non-object, or a missing
/// or non-string `event`; a non-string `channel` also fails.
parse_result<client_frame> parse_client_frame(std::string_view text);

/// `pusher:subscribe` data. `channel_data` is kept byte-for-byte: it is signed.
struct subscribe_request {
  std::string channel;                     ///< Channel to join.
  std::string auth;                        ///< "<key>:<hex>" or empty.
  std::optional<std::string> channel_data; ///< Presence data string, exact.
};

/// Reads subscribe data (an object, or a data string holding one).
parse_result<subscribe_request> parse_subscribe(const client_frame& frame);

/// Reads the `channel` field of `pusher:unsubscribe` data.
parse_result<std::string> parse_unsubscribe(const client_frame& frame);

/// `pusher:signin` data. `user_data` is kept byte-for-byte: it is signed.
struct signin_request {
  std::string auth;      ///< "<key>:<hex>".
  std::string user_data; ///< JSON object text with a non-empty string `id`.
};

/// Reads signin data (object or data string).
parse_result<signin_request> parse_signin(const client_frame& frame);

/// One presence member: the id in string form and its info as JSON text.
struct presence_member {
  std::string user_id;   ///< `user_id` as a string (numbers become "10").
  std::string user_info; ///< `user_info` JSON text; empty when absent.
};

/// Parses presence `channel_data` (`{"user_id":..,"user_info":..}`). Fails when
/// it is not an object, `user_id` is missing/empty/not string or integer, the
/// id is longer than `max_user_id`, or the whole text exceeds `max_bytes`.
parse_result<presence_member>
parse_channel_data(std::string_view channel_data, std::size_t max_user_id = 128,
                   std::size_t max_bytes = 1024);

/// Parses signin `user_data`: returns the non-empty string `id`.
parse_result<std::string> parse_user_data_id(std::string_view user_data);

/// Signin `user_data`: the id and the optional watchlist.
struct user_data {
  std::string id;                     ///< Non-empty user id.
  std::vector<std::string> watchlist; ///< Watched user ids (strings or numbers).
};

/// Parses signin `user_data`; fails like parse_user_data_id, or when
/// `watchlist` is present but not an array of ids.
parse_result<user_data> parse_user_data(std::string_view text);

/// `pusher_internal:watchlist_events` with one `online` and one `offline`
/// entry (each left out when its list is empty).
std::string encode_watchlist_events(const std::vector<std::string>& online,
                                    const std::vector<std::string>& offline);

/// How `encode_event` writes `data`.
enum class data_format {
  as_string, ///< Escape the text into a JSON string (REST-published events).
  as_json,   ///< Insert the text as raw JSON (relayed client events).
};

/// Encodes `{"event":E,"channel":C,"data":D[,"user_id":U]}`; `channel` and
/// `user_id` are left out when empty.
std::string encode_event(std::string_view event, std::string_view channel,
                         std::string_view data, data_format format,
                         std::string_view user_id = {});

/// `pusher:connection_established` with its data string.
std::string encode_connection_established(std::string_view socket_id,
                                          unsigned activity_timeout_s);

/// `pusher:error` with an object `data` (`code` null when `code` is 0) and a
/// top-level `channel` when given.
std::string encode_error(int code, std::string_view message,
                         std::string_view channel = {});

/// `{"event":"pusher:ping","data":{}}`.
std::string encode_ping();

/// `{"event":"pusher:pong","data":{}}`.
std::string encode_pong();

/// `pusher_internal:subscription_succeeded`; `data_json` is the JSON text of
/// the data ("{}" or presence data), sent as a data string.
std::string encode_subscription_succeeded(std::string_view channel,
                                          std::string_view data_json);

/// Presence data JSON text:
/// `{"presence":{"ids":[..],"hash":{id:info,..},"count":N}}`. Members with an
/// empty `user_info` map to null.
std::string encode_presence_data(const std::vector<presence_member>& members);

/// The user ids of presence data JSON text (encode_presence_data's
/// output); empty when it is not presence data.
std::vector<std::string> presence_data_ids(std::string_view data_json);

/// The user_id of member_added/member_removed data JSON text, or empty.
std::string member_data_user_id(std::string_view data_json);

/// Channel-scoped `pusher:subscription_error` with
/// `{"type":..,"error":..,"status":..}` as object data (what Soketi sends).
std::string encode_subscription_error(std::string_view channel,
                                      std::string_view type,
                                      std::string_view message, int status);

/// `pusher_internal:member_added` (data string with user_id and user_info).
std::string encode_member_added(std::string_view channel,
                                const presence_member& member);

/// `pusher_internal:member_removed` (data string with user_id).
std::string encode_member_removed(std::string_view channel,
                                  std::string_view user_id);

/// `{"event":"pusher:cache_miss","channel":C,"data":"{}"}`.
std::string encode_cache_miss(std::string_view channel);

/// `pusher_internal:subscription_count` with `{"subscription_count":N}`.
std::string encode_subscription_count(std::string_view channel, std::size_t count);

/// `pusher:signin_success` with data string `{"user_data":"<user_data>"}`.
std::string encode_signin_success(std::string_view user_data);

/// Returns `text` as a quoted, escaped JSON string literal.
std::string json_quote(std::string_view text);

/// Returns whether `text` is one syntactically valid JSON value.
bool is_valid_json(std::string_view text);

} // namespace starling::pusher
