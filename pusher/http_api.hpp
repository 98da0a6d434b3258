// The Pusher HTTP API (Pusher protocol §6), pure: routes, request bodies and
// query parameters decoded into values, and the JSON of the answers. No I/O,
// no clock; the signature check is in signature.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pusher/signature.hpp"

namespace starling::pusher {

/// A request the API refuses: the HTTP status and a message for the
/// `{"error":..}` body.
struct api_error {
  unsigned status = 400; ///< 400, 404, 405 or 413.
  std::string message;   ///< What is wrong, for the caller.
};

/// Either a value or the reason the request is refused.
template <class T>
struct api_result {
  std::optional<T> value; ///< Set on success.
  api_error error;        ///< Meaningful when `value` is empty.
  explicit operator bool() const { return value.has_value(); }
  T& operator*() { return *value; }
  const T& operator*() const { return *value; }
  T* operator->() { return &*value; }
  const T* operator->() const { return &*value; }
};

/// Which endpoint a request addresses.
enum class api_route {
  root,           ///< `/`: a liveness answer.
  events,         ///< POST /apps/<id>/events.
  batch_events,   ///< POST /apps/<id>/batch_events.
  channels,       ///< GET /apps/<id>/channels.
  channel,        ///< GET /apps/<id>/channels/<name>.
  channel_users,  ///< GET /apps/<id>/channels/<name>/users.
  terminate_user, ///< POST /apps/<id>/users/<id>/terminate_connections.
};

/// A routed request: the endpoint and what its path names.
struct api_target {
  api_route route = api_route::root; ///< The endpoint.
  std::string app_id;                ///< App id from the path.
  std::string channel;   ///< channel / channel_users: the decoded name.
  std::string user_id;   ///< terminate_user: the decoded user id.
  std::string path;      ///< The path as requested, prefix included (it is signed).
  query_params params;   ///< Decoded query parameters.
};

/// Routes `target` (path and query as sent). `prefix` is the configured path
/// prefix (empty for none). Unknown paths are 404; the method is checked
/// later (check_method), after authentication.
api_result<api_target> decode_target(std::string_view target,
                                     std::string_view prefix);

/// Returns a 405 error when `method` is not the one `route` takes.
std::optional<api_error> check_method(api_route route, std::string_view method);

/// The limits the decoders enforce (from the app's settings).
struct api_limits {
  std::size_t max_event_name_length = 200;    ///< Bytes.
  std::size_t max_event_payload_bytes = 10240; ///< `data` bytes.
  std::size_t max_channels_per_trigger = 100;  ///< Channels in one event.
  std::size_t max_batch_size = 10;             ///< Events in one batch.
  std::size_t max_channel_name_length = 200;   ///< Characters.
};

/// Attributes the `info` parameter may ask for.
struct info_request {
  bool user_count = false;         ///< Presence channels only.
  bool subscription_count = false; ///< Any channel.
  bool cache = false;              ///< Cache channels only (GET channel).

  /// Returns whether any attribute was asked for.
  bool any() const { return user_count || subscription_count || cache; }
};

/// One event to publish, validated.
struct event_request {
  std::vector<std::string> channels; ///< 1..max validated channel names.
  std::string name;                  ///< Event name.
  std::string data;                  ///< Data string, delivered unchanged.
  std::string socket_id;             ///< Excluded connection; empty for none.
  info_request info;                 ///< Counts to return with the answer.
};

/// Decodes the body of POST /events.
api_result<event_request> decode_trigger(std::string_view body,
                                         const api_limits& limits);

/// Decodes the body of POST /batch_events: every event is valid, or none
/// is published.
api_result<std::vector<event_request>> decode_batch(std::string_view body,
                                                    const api_limits& limits);

/// Decodes `info` for GET /channels (only user_count, with a presence-
/// prefix filter) and returns the prefix filter.
struct channels_query {
  std::string prefix; ///< filter_by_prefix, or empty.
  info_request info;  ///< Only user_count.
};

/// Decodes the query of GET /channels.
api_result<channels_query> decode_channels_query(const query_params& params);

/// Decodes the query of GET /channels/<name> and checks the name.
api_result<info_request> decode_channel_query(std::string_view channel,
                                              const query_params& params,
                                              const api_limits& limits);

/// Checks the channel of GET /channels/<name>/users: a legal presence name.
std::optional<api_error> check_users_channel(std::string_view channel,
                                             const api_limits& limits);

// -- answers ------------------------------------------------------------------

/// What the API reports about one channel.
struct channel_report {
  std::string name;                ///< Channel name.
  bool occupied = false;           ///< At least one subscriber.
  uint64_t subscription_count = 0; ///< Connections subscribed.
  uint64_t user_count = 0;         ///< Distinct presence users.
  bool cache_hit = false;          ///< A cached event is held.
  std::string cache_event;         ///< Cached event name.
  std::string cache_data;          ///< Cached data string.
  uint64_t cache_ttl_s = 0;        ///< Seconds the cached event has left.
};

/// `{"error":"<message>","code":<status>}`.
std::string encode_api_error(const api_error& error);

/// The body of GET /channels/<name>.
std::string encode_channel(const channel_report& report,
                           const info_request& info);

/// The body of GET /channels: occupied channels with the asked attributes.
std::string encode_channels(const std::vector<channel_report>& reports,
                            const info_request& info);

/// The body of GET /channels/<name>/users.
std::string encode_users(const std::vector<std::string>& user_ids);

/// The body of POST /events with `info`: attributes per channel.
std::string encode_trigger_info(const std::vector<channel_report>& reports,
                                const info_request& info);

/// The body of POST /batch_events with `info`: one object per event, in
/// order (empty for events that asked for nothing).
std::string encode_batch_info(
  const std::vector<std::optional<channel_report>>& reports,
  const std::vector<info_request>& infos);

} // namespace starling::pusher
