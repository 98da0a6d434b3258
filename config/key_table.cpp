// The table of configuration keys (see schema.hpp): one entry per key, in
// the order of the reference. Defaults are not written here: they are the
// initializers in settings.hpp, read from a default-constructed struct.
#include "config/schema_entry.hpp"

namespace starling::config::detail {

// -- the table ----------------------------------------------------------------

using s = settings;
using srv = server_settings;
using adm = admin_settings;
using cl = cluster_settings;
using nt = nats_settings;
using app = app_settings;
using lim = app_limits;
using hook = webhook_settings;
using lb = logic_binding_settings;
using ls = logic_state_settings;

std::vector<key> make_keys() {
  return {
    // -- server: the public listener ------------------------------------------
    entry<&s::server, &srv::host>("server.host")
      .with_flag("--host", "ADDR").with_env("STARLING_HOST").required()
      .with_help("public listen address (WebSocket and HTTP API); 0.0.0.0 "
                 "for every interface"),
    entry<&s::server, &srv::port>("server.port")
      .with_flag("--port", "PORT").with_env("STARLING_PORT")
      .with_help("public listen port; 0 picks a free one"),
    entry<&s::server, &srv::path_prefix>("server.path_prefix")
      .with_flag("--path-prefix", "PATH").with_env("STARLING_PATH_PREFIX")
      .with_help("prefix before /app/<key> and /apps/<id>, e.g. /pusher"),
    entry<&s::server, &srv::activity_timeout_s>("server.activity_timeout_s")
      .with_flag("--activity-timeout", "SECONDS")
      .with_env("STARLING_ACTIVITY_TIMEOUT").at_least(1)
      .with_help("silence before the server pings a client (sent in "
                 "connection_established)"),
    entry<&s::server, &srv::pong_timeout_s>("server.pong_timeout_s")
      .with_flag("--pong-timeout-s", "SECONDS")
      .with_env("STARLING_PONG_TIMEOUT_S").at_least(1)
      .with_help("close with 4201 this long after an unanswered ping"),
    entry<&s::server, &srv::max_frame_bytes>("server.max_frame_bytes")
      .with_flag("--max-frame-bytes", "BYTES")
      .with_env("STARLING_MAX_FRAME_BYTES").at_least(1024)
      .with_help("largest inbound WebSocket message"),
    entry<&s::server, &srv::max_outbound_bytes>("server.max_outbound_bytes")
      .with_flag("--max-outbound-bytes", "BYTES")
      .with_env("STARLING_MAX_OUTBOUND_BYTES").at_least(4096)
      .with_help("queued outbound bytes before a slow client is closed "
                 "with 4100"),
    entry<&s::server, &srv::max_outbound_frames>("server.max_outbound_frames")
      .with_flag("--max-outbound-frames", "N")
      .with_env("STARLING_MAX_OUTBOUND_FRAMES").at_least(1)
      .with_help("queued outbound frames before a slow client is closed "
                 "with 4100"),
    entry<&s::server, &srv::max_http_body_bytes>("server.max_http_body_bytes")
      .with_flag("--max-http-body-bytes", "BYTES")
      .with_env("STARLING_MAX_HTTP_BODY_BYTES").at_least(1)
      .with_help("largest HTTP API request body (413 past it)"),
    entry<&s::server, &srv::http_timeout_s>("server.http_timeout_s")
      .with_flag("--http-timeout-s", "SECONDS")
      .with_env("STARLING_HTTP_TIMEOUT_S").at_least(1)
      .with_help("time allowed to read an HTTP request's header and body"),
    entry<&s::server, &srv::shutdown_grace_s>("server.shutdown_grace_s")
      .with_flag("--shutdown-grace-s", "SECONDS")
      .with_env("STARLING_SHUTDOWN_GRACE_S").at_most(3600)
      .with_help("on SIGTERM, spread the 4200 closes over this long; the "
                 "process exits at most this + 8 s later"),
    entry<&s::server, &srv::max_connections>("server.max_connections")
      .with_flag("--max-connections", "N")
      .with_env("STARLING_MAX_CONNECTIONS")
      .with_help("WebSocket connections open on this node; past it the "
                 "handshake is refused with 4100 (0: unlimited)"),
    entry<&s::server, &srv::max_new_connections_per_ip_per_s>(
      "server.max_new_connections_per_ip_per_s")
      .with_flag("--max-new-connections-per-ip", "N")
      .with_env("STARLING_MAX_NEW_CONNECTIONS_PER_IP")
      .with_help("WebSocket connections one client address may open per "
                 "second; past it 4100 (0: unlimited)"),
    entry<&s::server, &srv::fragment_timeout_s>("server.fragment_timeout_s")
      .with_flag("--fragment-timeout-s", "SECONDS")
      .with_env("STARLING_FRAGMENT_TIMEOUT_S").at_least(1)
      .with_help("time a client has to finish a fragmented (or partly "
                 "sent) WebSocket message; then close 1008"),
    entry<&s::server, &srv::io_threads>("server.io_threads")
      .with_flag("--io-threads", "N").with_env("STARLING_IO_THREADS")
      .at_most(64)
      .with_help("threads that read and write sockets, each with its own "
                 "connections (0: one per core)"),
    entry<&s::server, &srv::cors_origins>("server.cors_origins")
      .with_flag("--cors-origins", "ORIGINS")
      .with_env("STARLING_CORS_ORIGINS")
      .with_help("origins the HTTP API sends CORS headers to and answers "
                 "preflights for (\"*\": any); empty: no CORS"),

    // -- server.tls: wss:// and https:// on their own port --------------------
    entry<&s::server, &srv::tls, &tls_settings::enabled>("server.tls.enabled")
      .with_flag("--tls", "true|false").with_env("STARLING_TLS")
      .with_help("also serve wss:// and https:// (HTTP API) on "
                 "server.tls.port; the plain port keeps working"),
    entry<&s::server, &srv::tls_port>("server.tls.port")
      .with_flag("--tls-port", "PORT").with_env("STARLING_TLS_PORT")
      .with_help("TLS listen port; 0 picks a free one"),
    entry<&s::server, &srv::tls, &tls_settings::cert_file>(
      "server.tls.cert_file")
      .with_flag("--tls-cert-file", "FILE")
      .with_env("STARLING_TLS_CERT_FILE")
      .with_help("PEM certificate chain, leaf first; SIGHUP re-reads it"),
    entry<&s::server, &srv::tls, &tls_settings::key_file>(
      "server.tls.key_file")
      .with_flag("--tls-key-file", "FILE").with_env("STARLING_TLS_KEY_FILE")
      .with_help("PEM private key of the certificate; SIGHUP re-reads it"),
    entry<&s::server, &srv::tls, &tls_settings::ca_file>("server.tls.ca_file")
      .with_flag("--tls-ca-file", "FILE").with_env("STARLING_TLS_CA_FILE")
      .with_help("PEM CAs; when set, clients must present a certificate "
                 "they signed (mutual TLS); empty: no client certificates"),
    entry<&s::server, &srv::tls, &tls_settings::min_version>(
      "server.tls.min_version")
      .with_flag("--tls-min-version", "VERSION")
      .with_env("STARLING_TLS_MIN_VERSION").within({"1.2", "1.3"})
      .with_help("oldest TLS version accepted"),

    // -- admin endpoint -------------------------------------------------------
    entry<&s::admin, &adm::host>("admin.host")
      .with_flag("--admin-host", "ADDR").with_env("STARLING_ADMIN_HOST")
      .required()
      .with_help("admin listen address (health, readiness, metrics, "
                 "topology); keep it private"),
    entry<&s::admin, &adm::port>("admin.port")
      .with_flag("--admin-port", "PORT").with_env("STARLING_ADMIN_PORT")
      .with_help("admin listen port; 0 picks a free one"),
    entry<&s::admin, &adm::token>("admin.token")
      .with_flag("--admin-token", "TOKEN").with_env("STARLING_ADMIN_TOKEN")
      .masked()
      .with_help("bearer token for the admin endpoint (not /health, /ready); "
                 "empty: no auth"),
    entry<&s::admin, &adm::fault_injection>("admin.fault_injection")
      .with_flag("--admin-fault-injection", "true|false")
      .with_env("STARLING_ADMIN_FAULT_INJECTION")
      .with_help("enable POST /faults/crash (tests only)"),

    entry<&s::admin, &adm::tls, &tls_settings::enabled>("admin.tls.enabled")
      .with_flag("--admin-tls", "true|false").with_env("STARLING_ADMIN_TLS")
      .with_help("the admin port speaks https only"),
    entry<&s::admin, &adm::tls, &tls_settings::cert_file>(
      "admin.tls.cert_file")
      .with_flag("--admin-tls-cert-file", "FILE")
      .with_env("STARLING_ADMIN_TLS_CERT_FILE")
      .with_help("PEM certificate chain of the admin port; SIGHUP re-reads "
                 "it"),
    entry<&s::admin, &adm::tls, &tls_settings::key_file>("admin.tls.key_file")
      .with_flag("--admin-tls-key-file", "FILE")
      .with_env("STARLING_ADMIN_TLS_KEY_FILE")
      .with_help("PEM private key of the admin certificate"),
    entry<&s::admin, &adm::tls, &tls_settings::ca_file>("admin.tls.ca_file")
      .with_flag("--admin-tls-ca-file", "FILE")
      .with_env("STARLING_ADMIN_TLS_CA_FILE")
      .with_help("PEM CAs; when set, admin clients need a certificate they "
                 "signed"),
    entry<&s::admin, &adm::tls, &tls_settings::min_version>(
      "admin.tls.min_version")
      .with_flag("--admin-tls-min-version", "VERSION")
      .with_env("STARLING_ADMIN_TLS_MIN_VERSION").within({"1.2", "1.3"})
      .with_help("oldest TLS version the admin port accepts"),

    // -- cluster --------------------------------------------------------------
    entry<&s::cluster, &cl::bridge>("cluster.bridge")
      .with_flag("--bridge", "NAME").with_env("STARLING_BRIDGE")
      .within({"local", "nats"})
      .with_help("local for one node, nats for a cluster over NATS"),
    entry<&s::cluster, &cl::node_id>("cluster.node_id")
      .with_flag("--node-id", "ID").with_env("STARLING_NODE_ID")
      .with_help("this node's id in the cluster; empty: generated at start"),
    entry<&s::cluster, &cl::middleman_host>("cluster.middleman_host")
      .with_flag("--middleman-host", "ADDR")
      .with_env("STARLING_MIDDLEMAN_HOST").required()
      .with_help("address the CAF middleman (owner calls between nodes) "
                 "listens on; it has no authentication: firewall it"),
    entry<&s::cluster, &cl::middleman_port>("cluster.middleman_port")
      .with_flag("--middleman-port", "PORT")
      .with_env("STARLING_MIDDLEMAN_PORT")
      .with_help("CAF middleman port; 0 picks a free one"),
    entry<&s::cluster, &cl::middleman_advertise_host>(
      "cluster.middleman_advertise_host")
      .with_flag("--middleman-advertise-host", "HOST")
      .with_env("STARLING_MIDDLEMAN_ADVERTISE_HOST")
      .with_help("host other nodes dial to reach this node's middleman "
                 "(pod IP, service name); empty: cluster.middleman_host"),
    entry<&s::cluster, &cl::heartbeat_ms>("cluster.heartbeat_ms")
      .with_flag("--heartbeat-ms", "MS").with_env("STARLING_HEARTBEAT_MS")
      .at_least(1)
      .with_help("membership heartbeat period"),
    entry<&s::cluster, &cl::node_timeout_ms>("cluster.node_timeout_ms")
      .with_flag("--node-timeout-ms", "MS")
      .with_env("STARLING_NODE_TIMEOUT_MS")
      .with_help("a node silent this long leaves the view (more than "
                 "heartbeat_ms)"),

    // -- nats -----------------------------------------------------------------
    entry<&s::nats, &nt::servers>("nats.servers")
      .with_flag("--nats-servers", "URLS").with_env("STARLING_NATS_SERVERS")
      .with_help("NATS URLs (comma-separated as text), e.g. "
                 "nats://127.0.0.1:4222"),
    entry<&s::nats, &nt::name>("nats.name")
      .with_flag("--nats-name", "NAME").with_env("STARLING_NATS_NAME")
      .with_help("connection name shown by nats-server"),
    entry<&s::nats, &nt::token>("nats.token")
      .with_env("STARLING_NATS_TOKEN").masked()
      .with_help("NATS token auth (file or environment only)"),
    entry<&s::nats, &nt::user>("nats.user")
      .with_flag("--nats-user", "USER").with_env("STARLING_NATS_USER")
      .with_help("NATS user auth"),
    entry<&s::nats, &nt::password>("nats.password")
      .with_env("STARLING_NATS_PASSWORD").masked()
      .with_help("password of nats.user (file or environment only)"),
    entry<&s::nats, &nt::subject_prefix>("nats.subject_prefix")
      .with_flag("--nats-subject-prefix", "PREFIX")
      .with_env("STARLING_NATS_SUBJECT_PREFIX").required()
      .with_help("prefix of every subject; clusters sharing NATS need "
                 "different ones"),
    entry<&s::nats, &nt::reconnect_wait_ms>("nats.reconnect_wait_ms")
      .with_flag("--nats-reconnect-wait-ms", "MS")
      .with_env("STARLING_NATS_RECONNECT_WAIT_MS").at_least(1)
      .with_help("first wait before reconnecting to NATS; doubles per "
                 "failed round"),
    entry<&s::nats, &nt::reconnect_max_wait_ms>("nats.reconnect_max_wait_ms")
      .with_flag("--nats-reconnect-max-wait-ms", "MS")
      .with_env("STARLING_NATS_RECONNECT_MAX_WAIT_MS")
      .with_help("longest wait between NATS reconnect rounds"),
    entry<&s::nats, &nt::reconnect_jitter_ms>("nats.reconnect_jitter_ms")
      .with_flag("--nats-reconnect-jitter-ms", "MS")
      .with_env("STARLING_NATS_RECONNECT_JITTER_MS")
      .with_help("random 0..MS added to each NATS reconnect wait"),
    entry<&s::nats, &nt::tls>("nats.tls")
      .with_flag("--nats-tls", "true|false").with_env("STARLING_NATS_TLS")
      .with_help("TLS to NATS; a tls:// server URL turns it on too"),
    entry<&s::nats, &nt::tls_ca_file>("nats.tls_ca_file")
      .with_flag("--nats-tls-ca-file", "FILE")
      .with_env("STARLING_NATS_TLS_CA_FILE")
      .with_help("PEM CA certificates that sign the NATS server's "
                 "certificate; empty: system CAs"),
    entry<&s::nats, &nt::tls_cert_file>("nats.tls_cert_file")
      .with_flag("--nats-tls-cert-file", "FILE")
      .with_env("STARLING_NATS_TLS_CERT_FILE")
      .with_help("PEM client certificate for mutual TLS (needs the key "
                 "file)"),
    entry<&s::nats, &nt::tls_key_file>("nats.tls_key_file")
      .with_flag("--nats-tls-key-file", "FILE")
      .with_env("STARLING_NATS_TLS_KEY_FILE")
      .with_help("PEM private key of the client certificate"),
    entry<&s::nats, &nt::tls_skip_verify>("nats.tls_skip_verify")
      .with_flag("--nats-tls-skip-verify", "true|false")
      .with_env("STARLING_NATS_TLS_SKIP_VERIFY")
      .with_help("do not verify the NATS server's certificate (testing "
                 "only)"),
    entry<&s::nats, &nt::tls_hostname>("nats.tls_hostname")
      .with_flag("--nats-tls-hostname", "NAME")
      .with_env("STARLING_NATS_TLS_HOSTNAME")
      .with_help("name expected in the NATS server's certificate; empty: "
                 "the URL host"),

    // -- process --------------------------------------------------------------
    entry<&s::logging, &logging_settings::level>("logging.level")
      .with_flag("--log-level", "LEVEL").with_env("STARLING_LOG_LEVEL")
      .within({"trace", "debug", "info", "warn", "error", "off"})
      .with_help("log level of every component; SIGHUP re-reads it"),
    entry<&s::worker_threads>("worker_threads")
      .with_flag("--worker-threads", "N").with_env("STARLING_WORKER_THREADS")
      .at_least(1).at_most(64)
      .with_help("CAF scheduler threads"),

    // -- apps[] ---------------------------------------------------------------
    entry<&app::id>("apps[].id")
      .with_env("STARLING_APP_ID").required()
      .with_help("app id in the HTTP API path /apps/<id>"),
    entry<&app::key>("apps[].key")
      .with_env("STARLING_APP_KEY").required()
      .with_help("public key in the WebSocket URL /app/<key>"),
    entry<&app::secret>("apps[].secret")
      .with_env("STARLING_APP_SECRET").required().masked()
      .with_help("signing secret of the HTTP API and private channels"),
    entry<&app::enabled>("apps[].enabled")
      .with_help("a disabled app refuses connections (4003) and API calls "
                 "(403)"),
    entry<&app::allowed_origins>("apps[].allowed_origins")
      .with_help("Origin headers allowed to connect (globs with *, e.g. "
                 "https://*.example.com); others get 4009; empty: any"),
    entry<&app::enable_client_messages>("apps[].enable_client_messages")
      .with_env("STARLING_APP_CLIENT_MESSAGES")
      .with_help("allow client- events on private and presence channels"),
    entry<&app::enable_subscription_count>("apps[].enable_subscription_count")
      .with_help("send pusher_internal:subscription_count"),
    entry<&app::webhook_batching>("apps[].webhook_batching")
      .with_help("several events per webhook request"),
    entry<&app::user_authentication_timeout_s>(
      "apps[].user_authentication_timeout_s")
      .with_help("close connections that neither sign in nor join a private "
                 "or presence channel this soon (4009); 0: off"),
    entry<&app::max_watchlist_size>("apps[].max_watchlist_size")
      .with_help("watchlist ids kept per user (4302 past it)"),
    entry<&app::limits, &lim::max_connections>("apps[].limits.max_connections")
      .with_help("connections of the app on one node; 0: unlimited (4004 "
                 "past it)"),
    entry<&app::limits, &lim::max_presence_members>(
      "apps[].limits.max_presence_members")
      .with_help("distinct users per presence channel"),
    entry<&app::limits, &lim::max_presence_member_bytes>(
      "apps[].limits.max_presence_member_bytes")
      .with_help("size of a presence member's channel_data"),
    entry<&app::limits, &lim::max_presence_user_id_length>(
      "apps[].limits.max_presence_user_id_length")
      .with_help("characters in a presence user id"),
    entry<&app::limits, &lim::max_channel_name_length>(
      "apps[].limits.max_channel_name_length")
      .at_least(1).at_most(1000)
      .with_help("characters in a channel name, prefix included"),
    entry<&app::limits, &lim::max_event_name_length>(
      "apps[].limits.max_event_name_length")
      .with_help("bytes in an event name"),
    entry<&app::limits, &lim::max_event_payload_bytes>(
      "apps[].limits.max_event_payload_bytes")
      .with_help("bytes of event data (HTTP API and client events)"),
    entry<&app::limits, &lim::max_channels_per_trigger>(
      "apps[].limits.max_channels_per_trigger")
      .with_help("channels in one trigger call"),
    entry<&app::limits, &lim::max_batch_size>("apps[].limits.max_batch_size")
      .with_help("events in one batch_events call"),
    entry<&app::limits, &lim::client_events_per_second>(
      "apps[].limits.client_events_per_second")
      .at_least(1)
      .with_help("client events per connection and second (4301 past it)"),
    entry<&app::limits, &lim::max_subscriptions_per_connection>(
      "apps[].limits.max_subscriptions_per_connection")
      .with_help("channels one connection may subscribe to; past it "
                 "pusher:subscription_error status 4100 (0: unlimited)"),
    entry<&app::limits, &lim::http_requests_per_second>(
      "apps[].limits.http_requests_per_second")
      .with_help("HTTP API requests per second for the app on each node; "
                 "past it 429 with Retry-After (0: unlimited)"),
    entry<&app::limits, &lim::cache_ttl_s>("apps[].limits.cache_ttl_s")
      .with_help("lifetime of a cache channel's last event"),

    // -- apps[].webhooks[] ----------------------------------------------------
    entry<&hook::url>("apps[].webhooks[].url")
      .required()
      .with_help("http[s]://host[:port]/path that receives the webhooks; "
                 "IPv6 hosts in brackets: http://[::1]:8080/hook"),
    entry<&hook::event_types>("apps[].webhooks[].event_types")
      .within({"channel_occupied", "channel_vacated", "member_added",
               "member_removed", "client_event", "cache_miss",
               "subscription_count"})
      .with_help("events sent to this URL; empty: all"),
    entry<&hook::headers>("apps[].webhooks[].headers")
      .with_help("extra request headers, an object of name: value"),
    entry<&hook::tls_ca_file>("apps[].webhooks[].tls_ca_file")
      .with_help("PEM CAs that sign an https receiver's certificate; empty: "
                 "the system CAs"),
    entry<&hook::tls_skip_verify>("apps[].webhooks[].tls_skip_verify")
      .with_help("https without verifying the receiver's certificate or "
                 "name (tests and development only)"),

    // -- apps[].logic[] -------------------------------------------------------
    entry<&lb::actor>("apps[].logic[].actor")
      .required()
      .with_help("name of a logic actor the binary registered"),
    entry<&lb::channels>("apps[].logic[].channels")
      .with_help("glob over channel names (* and ?): one instance beside "
                 "each matching channel's owner; empty: one per node for the "
                 "whole app"),
    entry<&lb::timeout_ms>("apps[].logic[].timeout_ms")
      .at_least(1).at_most(5000)
      .with_help("deadline of each hook; then the on_unavailable verdict"),
    entry<&lb::on_unavailable>("apps[].logic[].on_unavailable")
      .within({"closed", "pass"})
      .with_help("verdict when no instance answers (restarting past "
                 "unavailable_wait_ms, failed, timed out): closed refuses "
                 "the subscription, drops the event, answers an HTTP "
                 "publish 503 and closes a signin with 4100; pass allows "
                 "and relays"),
    entry<&lb::unavailable_wait_ms>("apps[].logic[].unavailable_wait_ms")
      .at_most(10000)
      .with_help("how long a hook waits for a restarting instance before "
                 "the on_unavailable verdict"),
    entry<&lb::max_restarts>("apps[].logic[].max_restarts")
      .with_help("restarts allowed within restart_window_s before the "
                 "instance is marked failed"),
    entry<&lb::restart_window_s>("apps[].logic[].restart_window_s")
      .at_least(1)
      .with_help("window of max_restarts"),
    entry<&lb::max_backoff_ms>("apps[].logic[].max_backoff_ms")
      .at_most(60000)
      .with_help("cap of the doubling restart back-off"),
    entry<&lb::snapshot_max_bytes>("apps[].logic[].snapshot_max_bytes")
      .at_least(1).at_most(16777216)
      .with_help("largest state snapshot kept of an instance (snapshot_hook); "
                 "a bigger one is refused (logged, counted) and the previous "
                 "one kept"),

    // -- apps[].logic_state ---------------------------------------------------
    entry<&app::logic_state, &ls::max_snapshots>(
      "apps[].logic_state.max_snapshots")
      .at_least(1)
      .with_help("logic snapshots each node keeps beyond their owners (its "
                 "owners' latest and copies for channels it would take "
                 "over); past it the least recently updated channel's go"),
    entry<&app::logic_state, &ls::max_bytes>("apps[].logic_state.max_bytes")
      .at_least(1024)
      .with_help("bytes of those snapshots each node keeps"),
    entry<&app::logic_state, &ls::copy_interval_ms>(
      "apps[].logic_state.copy_interval_ms")
      .at_most(60000)
      .with_help("at most one copy of a channel's logic snapshots to the "
                 "node that takes it over if this one dies, this often (the "
                 "latest wins); 0: after every change"),
  };
}

std::vector<list> make_lists() {
  return {
    array<&s::apps>("apps", "the apps this node serves; none: the default "
                            "app (app-id / app-key / app-secret)"),
    array<&app::webhooks>("apps[].webhooks", "where the app's webhooks go"),
    array<&app::logic>("apps[].logic", "app logic actors bound to the app"),
  };
}

} // namespace starling::config::detail
