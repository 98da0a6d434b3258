// The owner's last events sent to other nodes, so a node whose bus lost
// some (NATS down or restarted) can ask for them again. Bounded by count
// and bytes; pure data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "actors/messages.hpp"

namespace starling {

/// Recent numbered events of one channel, oldest first.
class replay_buffer {
public:
  static constexpr std::size_t default_max_events = 1024;
  static constexpr std::size_t default_max_bytes = 1 << 20;

  explicit replay_buffer(std::size_t max_events = default_max_events,
                         std::size_t max_bytes = default_max_bytes)
    : max_events_(max_events), max_bytes_(max_bytes) {
  }

  /// Keeps `ev` (numbered after everything kept), dropping the oldest
  /// events past the bounds.
  void push(const channel_event& ev);

  /// The events numbered after `after`; incomplete when some of them were
  /// dropped already.
  replay_events since(uint64_t after) const;

  /// `seq` was numbered but not kept (nobody could ask for it): asks
  /// from before it are incomplete, and older events are no use.
  void skip(uint64_t seq) {
    events_.reset();
    bytes_ = 0;
    floor_ = seq;
  }

  /// What a successor needs to answer for us (a handoff).
  std::vector<channel_event> events() const {
    if (!events_)
      return {};
    return {events_->begin(), events_->end()};
  }
  uint64_t floor() const { return floor_; }

  /// Adds a concurrent owner's events (the cluster was split and both
  /// sides numbered), in number order; the floor stays ours.
  void merge(std::vector<channel_event> events);

  /// Takes over a predecessor's events and floor.
  void restore(std::vector<channel_event> events, uint64_t floor);

  std::size_t size() const { return events_ ? events_->size() : 0; }
  std::size_t bytes() const { return bytes_; }

private:
  static std::size_t cost(const channel_event& ev);
  std::deque<channel_event>& kept();
  void trim();

  // Made on the first event kept: most channels never keep one (their
  // subscribers are all on the owner's node), and an empty std::deque
  // allocates over half a kilobyte.
  std::unique_ptr<std::deque<channel_event>> events_;
  std::size_t bytes_ = 0;
  uint64_t floor_ = 0; ///< Highest number dropped (0: none).
  std::size_t max_events_;
  std::size_t max_bytes_;
};

} // namespace starling
