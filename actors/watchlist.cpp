// One connection's watchlist (watchlist.hpp).
#include "actors/watchlist.hpp"

namespace starling {

watchlist::change watchlist::replace(const std::vector<std::string>& ids,
                                     const std::string& self_id) {
  change out;
  std::map<std::string, status> next;
  for (auto& id : ids) {
    if (next.count(id) > 0)
      continue;
    if (id == self_id) {
      next[id] = status::online;
      continue;
    }
    auto i = status_.find(id);
    if (i != status_.end()) {
      next[id] = i->second;
    } else {
      next[id] = status::unknown;
      out.watch.push_back(id);
    }
  }
  for (auto& [id, st] : status_)
    if (next.count(id) == 0 && id != self_id)
      out.unwatch.push_back(id);
  status_ = std::move(next);
  told_ = false;
  return out;
}

std::optional<watchlist_update> watchlist::first_frame_if_ready() {
  if (told_ || status_.empty())
    return std::nullopt;
  watchlist_update out;
  for (auto& [id, st] : status_) {
    if (st == status::unknown)
      return std::nullopt;
    (st == status::online ? out.online : out.offline).push_back(id);
  }
  told_ = true;
  return out;
}

std::optional<watchlist_update> watchlist::joined(const std::string& id,
                                                  bool online) {
  auto i = status_.find(id);
  if (i == status_.end())
    return std::nullopt;
  // An event that came after the join's answer already set it.
  if (i->second == status::unknown)
    i->second = online ? status::online : status::offline;
  return first_frame_if_ready();
}

std::optional<watchlist_update> watchlist::changed(const std::string& id,
                                                   bool online) {
  auto i = status_.find(id);
  if (i == status_.end())
    return std::nullopt;
  auto next = online ? status::online : status::offline;
  if (!told_) {
    // Only once the join answered: an earlier event cannot be newer.
    if (i->second != status::unknown)
      i->second = next;
    return std::nullopt;
  }
  if (i->second == next)
    return std::nullopt;
  i->second = next;
  watchlist_update out;
  (online ? out.online : out.offline).push_back(id);
  return out;
}

std::optional<watchlist_update> watchlist::failed(const std::string& id) {
  return joined(id, false);
}

} // namespace starling
