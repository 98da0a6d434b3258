// The logic snapshots an owner directory keeps beyond the life of their
// owners: its own owners' latest (a rebuilt owner restores from them) and
// copies peers sent (this node is the channel's standby: it rebuilds the
// owner when the peer dies). Pure data, no CAF inside; bounded in
// snapshots and bytes, the least recently updated channel leaving first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/messages.hpp"

namespace starling {

/// Latest logic snapshots per channel, bounded.
class logic_state_store {
public:
  /// What is kept of one channel.
  struct entry {
    std::string from;                ///< Node whose owner took them.
    std::vector<logic_state> states; ///< One per instance.
    std::size_t bytes = 0;           ///< Counted against the byte bound.
    uint64_t touched = 0;            ///< Update order (eviction).
  };

  /// Keeps at most `max_snapshots` instance snapshots and `max_bytes`
  /// bytes (states and names).
  logic_state_store(std::size_t max_snapshots = 10000,
                    std::size_t max_bytes = 16u << 20);

  /// Keeps `states` of `channel`, taken on node `from`, in place of what
  /// was kept. Drops the least recently updated other channels to make
  /// room; returns how many. Empty `states`, or more than the bounds
  /// alone, drop the channel instead.
  std::size_t put(const std::string& channel, std::string from,
                  std::vector<logic_state> states);

  /// Returns what is kept of `channel`, or null.
  const entry* find(const std::string& channel) const;

  /// Drops `channel`; with `from` not empty only when it came from that
  /// node. Returns whether something was dropped.
  bool erase(const std::string& channel, const std::string& from = {});

  /// Returns the channels kept.
  std::size_t size() const { return entries_.size(); }

  /// Returns the instance snapshots kept.
  std::size_t snapshots() const { return snapshots_; }

  /// Returns the bytes kept.
  std::size_t bytes() const { return bytes_; }

  /// Returns every channel with what is kept of it.
  const std::unordered_map<std::string, entry>& entries() const {
    return entries_;
  }

private:
  void drop(std::unordered_map<std::string, entry>::iterator i);

  std::size_t max_snapshots_;
  std::size_t max_bytes_;
  std::size_t snapshots_ = 0;
  std::size_t bytes_ = 0;
  uint64_t clock_ = 0;
  std::unordered_map<std::string, entry> entries_;
  std::map<uint64_t, std::string> by_age_; // touched -> channel
};

} // namespace starling
