// A fanout_sink for actor tests: records every hand-off of a channel (the
// frame, the subscriber list, the excluded session) and then writes the
// frame to each session like direct_fanout_sink, so fake links see it.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/fanout_sink.hpp"

namespace starling::test {

/// Records deliveries, then sends to each session but the excluded one.
class recording_fanout_sink final : public fanout_sink {
public:
  /// One deliver() call.
  struct delivery {
    frame_ptr frame;         ///< The encoded event.
    subscriber_list to;      ///< The channel's subscriber list.
    const session_link* exclude = nullptr; ///< Skipped session, or null.
    publish_stamp stamp;     ///< When the event was published.
  };

  void deliver(const frame_ptr& frame, const subscriber_list& to,
               const session_link* exclude, publish_stamp stamp) override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      deliveries_.push_back(delivery{frame, to, exclude, stamp});
    }
    for (auto& target : *to)
      if (target.get() != exclude)
        target->send(frame);
    stamp.record();
  }

  /// Returns every deliver() call so far.
  std::vector<delivery> deliveries() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return deliveries_;
  }

  /// Returns how many hand-offs channels made (one per event and node).
  std::size_t batch_count() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return deliveries_.size();
  }

  /// Forgets the recorded deliveries.
  void clear() {
    std::lock_guard<std::mutex> guard{mtx_};
    deliveries_.clear();
  }

private:
  mutable std::mutex mtx_;
  std::vector<delivery> deliveries_;
};

/// Shared handle to a recording sink; converts to fanout_sink_ptr.
using recording_sink_ptr = std::shared_ptr<recording_fanout_sink>;

} // namespace starling::test
