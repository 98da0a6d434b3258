#include "actors/replay_buffer.hpp"

#include <algorithm>

namespace starling {

std::size_t replay_buffer::cost(const channel_event& ev) {
  return sizeof(channel_event) + ev.event.size() + ev.data.size()
         + ev.user_id.size() + ev.exclude.size() + ev.origin.size();
}

void replay_buffer::trim() {
  auto& kept = *events_;
  while (!kept.empty() && (kept.size() > max_events_ || bytes_ > max_bytes_)) {
    floor_ = std::max(floor_, kept.front().seq);
    bytes_ -= cost(kept.front());
    kept.pop_front();
  }
}

std::deque<channel_event>& replay_buffer::kept() {
  if (!events_)
    events_ = std::make_unique<std::deque<channel_event>>();
  return *events_;
}

void replay_buffer::push(const channel_event& ev) {
  auto& kept = this->kept();
  // Numbers only grow; an older one (a handoff raced us) is not kept.
  if (!kept.empty() && ev.seq <= kept.back().seq)
    return;
  bytes_ += cost(ev);
  kept.push_back(ev);
  trim();
}

replay_events replay_buffer::since(uint64_t after) const {
  replay_events out;
  out.complete = after >= floor_;
  if (!events_)
    return out;
  auto first = std::upper_bound(events_->begin(), events_->end(), after,
                                [](uint64_t seq, const channel_event& ev) {
                                  return seq < ev.seq;
                                });
  out.events.assign(first, events_->end());
  return out;
}

void replay_buffer::merge(std::vector<channel_event> events) {
  auto by_seq = [](const channel_event& a, const channel_event& b) {
    return a.seq < b.seq;
  };
  auto& kept = this->kept();
  for (auto& ev : events) {
    auto at = std::lower_bound(kept.begin(), kept.end(), ev, by_seq);
    if (at != kept.end() && at->seq == ev.seq)
      continue;
    bytes_ += cost(ev);
    kept.insert(at, std::move(ev));
  }
  trim();
}

void replay_buffer::restore(std::vector<channel_event> events, uint64_t floor) {
  events_.reset();
  bytes_ = 0;
  floor_ = floor;
  for (auto& ev : events)
    push(ev);
}

} // namespace starling
