// The membership view: announces, goodbyes and expiry.
#include "bridge/membership.hpp"

#include <algorithm>
#include <utility>

namespace starling::bridge {

bool operator==(const member& lhs, const member& rhs) {
  return lhs.node_id == rhs.node_id && lhs.host == rhs.host
         && lhs.port == rhs.port && lhs.epoch == rhs.epoch;
}

bool operator!=(const member& lhs, const member& rhs) {
  return !(lhs == rhs);
}

membership_change membership_view::announce(const std::string& node_id,
                                            const std::string& host,
                                            uint16_t port, uint64_t epoch,
                                            membership_clock::time_point now) {
  membership_change change;
  member incoming{node_id, host, port, epoch, now};
  auto i = members_.find(node_id);
  if (i == members_.end()) {
    change.joined.push_back(incoming);
    members_.emplace(node_id, std::move(incoming));
    ++epoch_;
    return change;
  }
  auto& current = i->second;
  if (epoch < current.epoch)
    return change;
  if (epoch == current.epoch && host == current.host && port == current.port) {
    current.last_seen = now;
    return change;
  }
  // A restart (or a new address, which means the same): the old
  // incarnation's remote actor and its state are gone, so its channels must
  // be re-synced as if it had left and a new node had joined.
  change.left.push_back(current);
  change.joined.push_back(incoming);
  current = std::move(incoming);
  ++epoch_;
  return change;
}

membership_change membership_view::goodbye(const std::string& node_id,
                                           std::optional<uint64_t> epoch) {
  membership_change change;
  auto i = members_.find(node_id);
  if (i == members_.end() || (epoch && *epoch < i->second.epoch))
    return change;
  change.left.push_back(std::move(i->second));
  members_.erase(i);
  ++epoch_;
  return change;
}

std::vector<member>
membership_view::expire(membership_clock::time_point now,
                        membership_clock::duration timeout) {
  std::vector<member> removed;
  for (auto i = members_.begin(); i != members_.end();) {
    if (now - i->second.last_seen > timeout) {
      removed.push_back(std::move(i->second));
      i = members_.erase(i);
    } else {
      ++i;
    }
  }
  if (!removed.empty())
    ++epoch_;
  return removed;
}

void membership_view::refresh_all(membership_clock::time_point now) {
  for (auto& entry : members_)
    entry.second.last_seen = std::max(entry.second.last_seen, now);
}

std::vector<member> membership_view::members() const {
  std::vector<member> result;
  result.reserve(members_.size());
  for (const auto& entry : members_)
    result.push_back(entry.second);
  return result;
}

std::vector<std::string> membership_view::node_ids() const {
  std::vector<std::string> result;
  result.reserve(members_.size());
  for (const auto& entry : members_)
    result.push_back(entry.first);
  return result;
}

const member* membership_view::find(const std::string& node_id) const {
  auto i = members_.find(node_id);
  return i == members_.end() ? nullptr : &i->second;
}

} // namespace starling::bridge
