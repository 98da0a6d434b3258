// Socket ids: two unsigned decimals joined by '.', unique across the cluster.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace starling::pusher {

/// A socket id as this server makes them, held as its two numbers: 16
/// bytes and no heap string per connection. Its text is "<high>.<low>".
struct compact_socket_id {
  uint64_t high = 0; ///< The part before the dot.
  uint64_t low = 0;  ///< The part after it.

  /// Returns "<high>.<low>".
  std::string to_string() const;

  friend bool operator==(const compact_socket_id& a,
                         const compact_socket_id& b) {
    return a.high == b.high && a.low == b.low;
  }
  friend bool operator!=(const compact_socket_id& a,
                         const compact_socket_id& b) {
    return !(a == b);
  }
};

/// Hash of a compact socket id (for unordered containers).
struct compact_socket_id_hash {
  std::size_t operator()(const compact_socket_id& id) const {
    return static_cast<std::size_t>(id.high * 0x9e3779b97f4a7c15ull ^ id.low);
  }
};

/// Returns the socket id "<high>.<low>"; callers pass a per-node random
/// prefix as `high` and a per-node counter as `low` (randomness passed in).
std::string make_socket_id(uint64_t high, uint64_t low);

/// Returns the compact form of `text` if it is the exact text of one
/// (digits without leading zeros, each part fitting 64 bits); else
/// nullopt: no id this server made has that text.
std::optional<compact_socket_id> parse_socket_id(std::string_view text);

/// Returns whether `id` matches `^\d+\.\d+$` (what the server SDKs accept).
bool is_valid_socket_id(std::string_view id);

} // namespace starling::pusher
