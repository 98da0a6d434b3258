// Every default Starling runs with, named in one place. settings.hpp carries
// the same values inline; tests/unit/config/load_test.cpp checks they agree.
#pragma once

#include <cstdint>
#include <string_view>

namespace starling::config {

// -- public listener ----------------------------------------------------------

/// Listen address of the public listener.
inline constexpr std::string_view default_host = "127.0.0.1";

/// Port of the public listener (Pusher's self-hosted default, as soketi's).
inline constexpr uint16_t default_port = 6001;

/// Seconds of silence before the server pings (sent in connection_established).
inline constexpr uint32_t default_activity_timeout_s = 120;

/// Seconds to wait for a pong before closing with 4201.
inline constexpr uint32_t default_pong_timeout_s = 30;

/// Largest inbound WebSocket message in bytes.
inline constexpr uint32_t default_max_frame_bytes = 65536;

/// Queued outbound bytes before a slow client is dropped.
inline constexpr uint32_t default_max_outbound_bytes = 1048576;

/// Queued outbound frames before a slow client is dropped.
inline constexpr uint32_t default_max_outbound_frames = 4096;

/// Largest HTTP request body in bytes.
inline constexpr uint32_t default_max_http_body_bytes = 1048576;

/// Seconds allowed for reading an HTTP request's header and body.
inline constexpr uint32_t default_http_timeout_s = 10;

// -- admin endpoint -----------------------------------------------------------

/// Listen address of the admin endpoint.
inline constexpr std::string_view default_admin_host = "127.0.0.1";

/// Port of the admin endpoint.
inline constexpr uint16_t default_admin_port = 9601;

// -- cluster and NATS ---------------------------------------------------------

/// Bridge used when none is configured: a single node, no NATS.
inline constexpr std::string_view default_bridge = "local";

/// Address where this node publishes its CAF actor.
inline constexpr std::string_view default_middleman_host = "127.0.0.1";

/// Membership heartbeat period in milliseconds.
inline constexpr uint32_t default_heartbeat_ms = 1000;

/// Milliseconds without a heartbeat before a node leaves the view.
inline constexpr uint32_t default_node_timeout_ms = 3000;

/// NATS connection name shown by nats-server.
inline constexpr std::string_view default_nats_name = "starling";

/// Prefix of every NATS subject.
inline constexpr std::string_view default_subject_prefix = "starling";

/// Milliseconds between NATS reconnect attempts.
inline constexpr uint32_t default_reconnect_wait_ms = 500;

/// Upper bound of the doubling NATS reconnect wait, in milliseconds.
inline constexpr uint32_t default_reconnect_max_wait_ms = 5000;

/// Random jitter added to each NATS reconnect wait, in milliseconds.
inline constexpr uint32_t default_reconnect_jitter_ms = 100;

// -- process ------------------------------------------------------------------

/// Log level: one of trace, debug, info, warn, error, off.
inline constexpr std::string_view default_log_level = "info";

/// CAF scheduler threads.
inline constexpr uint32_t default_worker_threads = 1;

// -- per-app limits -----------------------------------------------------------

/// Connections per app; 0 = unlimited.
inline constexpr uint32_t default_max_connections = 0;

/// Distinct users per presence channel (Pusher's documented limit).
inline constexpr uint32_t default_max_presence_members = 100;

/// Bytes of presence channel_data per member.
inline constexpr uint32_t default_max_presence_member_bytes = 1024;

/// Characters in a presence user id.
inline constexpr uint32_t default_max_presence_user_id_length = 128;

/// Characters in a channel name, prefix included.
inline constexpr uint32_t default_max_channel_name_length = 200;

/// Bytes in an event name.
inline constexpr uint32_t default_max_event_name_length = 200;

/// Bytes of event data (REST `data` and client events).
inline constexpr uint32_t default_max_event_payload_bytes = 10240;

/// Channels in one trigger call.
inline constexpr uint32_t default_max_channels_per_trigger = 100;

/// Events in one batch_events call.
inline constexpr uint32_t default_max_batch_size = 10;

/// Client events per second per connection.
inline constexpr uint32_t default_client_events_per_second = 10;

/// Seconds a cache channel keeps its last event.
inline constexpr uint32_t default_cache_ttl_s = 1800;

// -- the app used when none is configured -------------------------------------

/// Id of the app added when no app is configured.
inline constexpr std::string_view default_app_id = "app-id";

/// Key of the app added when no app is configured.
inline constexpr std::string_view default_app_key = "app-key";

/// Secret of the app added when no app is configured.
inline constexpr std::string_view default_app_secret = "app-secret";

/// Whether the default app accepts `client-` events (handy for local trials).
inline constexpr bool default_app_client_messages = true;

// -- where settings come from -------------------------------------------------

/// Prefix of every environment variable Starling reads.
inline constexpr std::string_view env_prefix = "STARLING_";

} // namespace starling::config
