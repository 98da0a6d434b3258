// Latest logic snapshots per channel, bounded (logic_state_store.hpp).
#include "actors/logic_state_store.hpp"

namespace starling {

namespace {

std::size_t size_of(const std::string& channel,
                    const std::vector<logic_state>& states) {
  auto n = channel.size();
  for (auto& s : states)
    n += s.actor.size() + s.channels.size() + s.state.size();
  return n;
}

} // namespace

logic_state_store::logic_state_store(std::size_t max_snapshots,
                                     std::size_t max_bytes)
  : max_snapshots_(max_snapshots), max_bytes_(max_bytes) {
  // nop
}

void logic_state_store::drop(
  std::unordered_map<std::string, entry>::iterator i) {
  snapshots_ -= i->second.states.size();
  bytes_ -= i->second.bytes;
  by_age_.erase(i->second.touched);
  entries_.erase(i);
}

std::size_t logic_state_store::put(const std::string& channel,
                                   std::string from,
                                   std::vector<logic_state> states) {
  if (auto i = entries_.find(channel); i != entries_.end())
    drop(i);
  auto bytes = size_of(channel, states);
  if (states.empty() || states.size() > max_snapshots_ || bytes > max_bytes_)
    return 0;
  std::size_t dropped = 0;
  while (!by_age_.empty()
         && (snapshots_ + states.size() > max_snapshots_
             || bytes_ + bytes > max_bytes_)) {
    drop(entries_.find(by_age_.begin()->second));
    ++dropped;
  }
  entry e;
  e.from = std::move(from);
  e.bytes = bytes;
  e.touched = ++clock_;
  snapshots_ += states.size();
  bytes_ += bytes;
  e.states = std::move(states);
  by_age_.emplace(e.touched, channel);
  entries_.emplace(channel, std::move(e));
  return dropped;
}

const logic_state_store::entry*
logic_state_store::find(const std::string& channel) const {
  auto i = entries_.find(channel);
  return i == entries_.end() ? nullptr : &i->second;
}

bool logic_state_store::erase(const std::string& channel,
                              const std::string& from) {
  auto i = entries_.find(channel);
  if (i == entries_.end() || (!from.empty() && i->second.from != from))
    return false;
  drop(i);
  return true;
}

} // namespace starling
