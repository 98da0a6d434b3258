// The wire envelope between nodes on NATS: channel events fanned out by their
// owner, and membership announces and goodbyes. msgpack, versioned, with
// numbered fields; decoding untrusted bytes never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace starling::bridge {

/// Version of the envelope layout. Bump it only for changes old nodes cannot
/// read; adding a field does not need a bump, old nodes skip unknown fields.
constexpr uint64_t envelope_version = 1;

/// What an envelope carries. Values are wire format: retired, never reused.
enum class envelope_kind : uint8_t {
  event = 1,    ///< A channel event, published once by the channel's owner.
  announce = 2, ///< A node is alive (sent at start and as heartbeat).
  goodbye = 3,  ///< A node is shutting down.
};

/// A channel event as the owner fans it out to the nodes with subscribers.
struct event_envelope {
  std::string origin_node;       ///< Node that published it (to skip echoes).
  std::string app_id;            ///< App of the channel.
  std::string channel;           ///< Channel name, not its subject token.
  uint64_t seq = 0;              ///< The owner's sequence number of it.
  /// What the event is (starling::event_kind): 0 published, 1 client
  /// event, 2 member added, 3 member removed, 4 subscription count.
  uint8_t kind = 0;
  std::string event;             ///< Event name.
  std::string data;              ///< Data, user info JSON for member_added.
  std::string user_id;           ///< Client event sender or member; empty if none.
  uint64_t count = 0;            ///< Subscription count.
  std::string exclude_socket_id; ///< Socket to skip; empty if none.
  /// System clock at the publish, ns since the epoch; 0: none (the
  /// receiving node's publish-to-flush histogram uses it).
  uint64_t published_ns = 0;
};

/// A node announcing itself, at start and then as a heartbeat.
struct announce_envelope {
  std::string node_id; ///< Unique id of the node.
  std::string host;    ///< Host of its CAF middleman.
  uint16_t port = 0;   ///< Port of its CAF middleman.
  uint64_t epoch = 0;  ///< Start epoch: grows with each restart.
};

/// A node saying goodbye before it shuts down.
struct goodbye_envelope {
  std::string node_id; ///< Unique id of the node.
  uint64_t epoch = 0;  ///< Start epoch of the incarnation that leaves.
};

/// Returns whether all fields are equal.
bool operator==(const event_envelope& lhs, const event_envelope& rhs);
/// Returns whether all fields are equal.
bool operator==(const announce_envelope& lhs, const announce_envelope& rhs);
/// Returns whether all fields are equal.
bool operator==(const goodbye_envelope& lhs, const goodbye_envelope& rhs);

/// One message between nodes; the alternative is the kind.
using envelope = std::variant<event_envelope, announce_envelope,
                              goodbye_envelope>;

/// Returns the kind of `env`.
envelope_kind kind_of(const envelope& env);

/// Encodes `env` as msgpack: `[version, kind, {field id: value, ...}]`.
std::string encode(const envelope& env);

/// Decodes bytes from the network. Returns nullopt for anything but exactly
/// one well-formed envelope of a known version and kind with its required
/// fields: truncated input, trailing bytes, garbage, wrong field types,
/// duplicate fields. Unknown field ids are skipped. Never throws.
std::optional<envelope> decode(std::string_view bytes) noexcept;

} // namespace starling::bridge
