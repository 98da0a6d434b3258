// Plain settings structs: what the config file, environment and flags say.
// Read once at start (config/load.hpp) and handed out by value.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace starling::config {

/// Per-app limits; 0 means unlimited where noted.
struct app_limits {
  uint32_t max_connections = 0;             ///< 0 = unlimited; over it: 4004.
  uint32_t max_presence_members = 100;      ///< Distinct users per presence channel.
  uint32_t max_presence_member_bytes = 1024; ///< Size of presence channel_data.
  uint32_t max_presence_user_id_length = 128; ///< Characters in a presence user id.
  uint32_t max_channel_name_length = 200;   ///< Characters, prefix included.
  uint32_t max_event_name_length = 200;     ///< Bytes.
  uint32_t max_event_payload_bytes = 10240; ///< REST `data` and client event data.
  uint32_t max_channels_per_trigger = 100;  ///< Channels in one trigger.
  uint32_t max_batch_size = 10;             ///< Events in one batch_events call.
  uint32_t client_events_per_second = 10;   ///< Per connection; over it: 4301.
  /// Channels one connection may be subscribed to (0 = unlimited); past
  /// it a subscribe gets pusher:subscription_error with status 4100.
  uint32_t max_subscriptions_per_connection = 100;
  /// HTTP API requests per second for the app on this node (0 =
  /// unlimited); past it: 429 with Retry-After.
  uint32_t http_requests_per_second = 0;
  uint32_t cache_ttl_s = 1800;              ///< Lifetime of a cache channel's event.
};

/// One webhook target of an app.
struct webhook_settings {
  std::string url; ///< http[s]://host[:port]/path; IPv6 hosts in brackets.
  /// Event names to send (channel_occupied, member_added, ...); empty = all.
  std::vector<std::string> event_types;
  /// Extra request headers (name -> value), e.g. an auth token.
  std::map<std::string, std::string> headers;
  std::string tls_ca_file;      ///< PEM CAs for https; empty: system CAs.
  bool tls_skip_verify = false; ///< https without verifying the peer (tests).
};

/// One binding of an app logic actor (apps[].logic[]): which registered
/// actor runs, for which channels, and how it is supervised.
struct logic_binding_settings {
  std::string actor; ///< Name the binary registered (logic_registry).
  /// Glob over channel names (`*` any run, `?` one character), e.g.
  /// "private-chat-*": one instance per matching channel, beside its owner.
  /// Empty: app-bound, one instance per node that sees every channel of the
  /// app that this node owns.
  std::string channels;
  uint32_t timeout_ms = 200;       ///< Hook answer deadline; then on_unavailable.
  /// Verdict when no instance can answer (restarting past
  /// unavailable_wait_ms, failed, timed out, erred): "closed" refuses the
  /// subscription and drops the event; "pass" allows and relays.
  std::string on_unavailable = "closed";
  /// How long a hook waits for a restarting instance before on_unavailable.
  uint32_t unavailable_wait_ms = 1000;
  uint32_t max_restarts = 5;       ///< Restarts allowed within restart_window_s ...
  uint32_t restart_window_s = 10;  ///< ... before the instance is marked failed.
  uint32_t max_backoff_ms = 1000;  ///< Cap of the doubling restart back-off.
  /// Largest snapshot kept of an instance (snapshot_hook); a bigger one is
  /// refused (logged, counted) and the previous one kept.
  uint32_t snapshot_max_bytes = 65536;
};

/// How much logic state an app keeps beyond its owners on each node
/// (apps[].logic_state): its owners' latest snapshots and copies other
/// nodes sent for channels this node would take over.
struct logic_state_settings {
  uint32_t max_snapshots = 10000;     ///< Instance snapshots kept.
  uint32_t max_bytes = 16777216;      ///< Bytes kept (snapshots and names).
  /// At most one copy per channel to its standby node this often (the
  /// latest wins); 0: after every change.
  uint32_t copy_interval_ms = 50;
};

/// One configured app.
struct app_settings {
  std::string id;     ///< App id used in the HTTP API path.
  std::string key;    ///< Public key used in the WebSocket URL.
  std::string secret; ///< Signing secret.
  bool enabled = true;                    ///< Disabled apps refuse with 4003 / 403.
  bool enable_client_messages = false;    ///< Allow `client-` events.
  bool enable_subscription_count = false; ///< Send pusher_internal:subscription_count.
  app_limits limits;                      ///< Limits for this app.
  std::vector<webhook_settings> webhooks; ///< Where webhooks go.
  bool webhook_batching = false;          ///< Several events per webhook request.
  /// Close connections that neither sign in nor join a private or presence
  /// channel within this many seconds (4009); 0 = off.
  uint32_t user_authentication_timeout_s = 0;
  uint32_t max_watchlist_size = 100;      ///< Watchlist ids kept (4302 past it).
  /// Origins allowed to open WebSockets ("https://app.example.com",
  /// "*" and "https://*.example.com" globs); empty: any. Others get 4009.
  std::vector<std::string> allowed_origins;
  std::vector<logic_binding_settings> logic; ///< App logic actors bound to it.
  logic_state_settings logic_state; ///< Logic state kept beyond owners.
};

/// TLS on a listener: what it presents and whom it accepts.
struct tls_settings {
  bool enabled = false;      ///< Serve TLS.
  std::string cert_file;     ///< PEM certificate chain, leaf first.
  std::string key_file;      ///< PEM private key of the certificate.
  /// PEM CAs; when set, clients must present a certificate they signed.
  std::string ca_file;
  std::string min_version = "1.2"; ///< Oldest protocol accepted: 1.2 or 1.3.
};

/// The public listener: WebSocket endpoint and HTTP API on one port.
struct server_settings {
  std::string host = "127.0.0.1"; ///< Listen address.
  uint16_t port = 6001;           ///< Listen port; 0 picks a free one.
  std::string path_prefix;        ///< Prefix before /app/<key> and /apps/<id>.
  uint32_t activity_timeout_s = 120; ///< Sent in connection_established; server pings after this silence.
  uint32_t pong_timeout_s = 30;   ///< Close with 4201 this long after an unanswered ping.
  uint32_t max_frame_bytes = 65536;        ///< Largest inbound WebSocket message.
  uint32_t max_outbound_bytes = 1048576;   ///< Queued outbound bytes before a slow client is dropped.
  uint32_t max_outbound_frames = 4096;     ///< Queued outbound frames before the same.
  uint32_t max_http_body_bytes = 1048576;  ///< Largest HTTP request body.
  uint32_t http_timeout_s = 10;            ///< Header and body read timeout.
  uint32_t shutdown_grace_s = 5;           ///< Spread 4200 closes over this on SIGTERM.
  uint32_t max_connections = 0;            ///< WebSockets open on the node; past it 4100 (0 = unlimited).
  uint32_t max_new_connections_per_ip_per_s = 0; ///< WebSocket opens per client address and second; past it 4100 (0 = unlimited).
  uint32_t fragment_timeout_s = 10;        ///< Time to finish a fragmented or split message (then 1008).
  uint32_t io_threads = 0;                 ///< Threads running sockets, each its own io_context (0 = one per core).
  /// Origins the HTTP API answers CORS requests from ("*" for any); empty:
  /// no CORS headers.
  std::vector<std::string> cors_origins;
  tls_settings tls;          ///< wss:// and https:// on tls_port.
  uint16_t tls_port = 6002;  ///< TLS listen port (with tls.enabled); 0 picks one.
};

/// The admin endpoint (health, metrics, topology).
struct admin_settings {
  std::string host = "127.0.0.1"; ///< Listen address.
  uint16_t port = 9601;           ///< Listen port; 0 picks a free one.
  std::string token;              ///< Bearer token; empty = no auth.
  bool fault_injection = false;   ///< Enables the crash-an-actor command (tests).
  tls_settings tls;               ///< When enabled, the admin port speaks https only.
};

/// NATS connection for the `nats` bridge.
struct nats_settings {
  std::vector<std::string> servers; ///< e.g. nats://127.0.0.1:4222.
  std::string name = "starling";    ///< Connection name shown by nats-server.
  std::string token;                ///< Token auth, if any.
  std::string user;                 ///< User auth, if any.
  std::string password;             ///< Password for `user`.
  std::string subject_prefix = "starling"; ///< Prefix of every subject.
  uint32_t reconnect_wait_ms = 500;  ///< First wait between reconnect attempts.
  uint32_t reconnect_max_wait_ms = 2000; ///< Cap of the doubling wait: how late a node sees NATS back.
  uint32_t reconnect_jitter_ms = 100; ///< Random 0..this added to each wait.
  bool tls = false;            ///< TLS to the server; a tls:// URL implies it.
  std::string tls_ca_file;     ///< PEM CAs to verify the server; empty: system CAs.
  std::string tls_cert_file;   ///< PEM client certificate (with tls_key_file).
  std::string tls_key_file;    ///< PEM client key (with tls_cert_file).
  bool tls_skip_verify = false; ///< Do not verify the server certificate.
  std::string tls_hostname;    ///< Expected server name; empty: from the URL.

  /// True when the connection uses TLS: `tls` or any tls:// server URL.
  bool uses_tls() const {
    if (tls)
      return true;
    for (const auto& url : servers)
      if (url.rfind("tls://", 0) == 0)
        return true;
    return false;
  }
};

/// Cluster membership and the bridge choice.
struct cluster_settings {
  std::string bridge = "local"; ///< "local" (single node) or "nats".
  std::string node_id;          ///< Empty: generated at start.
  std::string middleman_host = "127.0.0.1"; ///< Where this node publishes its CAF actor.
  uint16_t middleman_port = 0;  ///< 0 picks a free port.
  /// Host other nodes dial to reach this node's middleman (a pod IP, a
  /// service name); empty: middleman_host. Needed when that is 0.0.0.0.
  std::string middleman_advertise_host;
  uint32_t heartbeat_ms = 1000; ///< Membership heartbeat period.
  uint32_t node_timeout_ms = 3000; ///< Missing this long: the node leaves the view.
};

/// Logging.
struct logging_settings {
  std::string level = "info"; ///< trace, debug, info, warn, error, off.
};

/// Everything a node reads at start.
struct settings {
  server_settings server;            ///< Public listener.
  admin_settings admin;              ///< Admin endpoint.
  std::vector<app_settings> apps;    ///< Configured apps (never empty after load).
  cluster_settings cluster;          ///< Bridge and membership.
  nats_settings nats;                ///< NATS connection.
  logging_settings logging;          ///< Log level.
  uint32_t worker_threads = 1;       ///< CAF scheduler threads.
  bool default_app = false;          ///< True when no app was configured and the default was added.
};

} // namespace starling::config
