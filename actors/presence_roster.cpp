// Presence roster bookkeeping (see presence_roster.hpp).
#include "actors/presence_roster.hpp"

namespace starling {

bool presence_roster::add(const std::string& user_id,
                          const std::string& user_info,
                          const std::string& node) {
  auto [i, inserted] = users_.try_emplace(user_id);
  if (inserted)
    i->second.info = user_info;
  ++i->second.per_node[node];
  share_.set(users_.size());
  return inserted;
}

bool presence_roster::remove(const std::string& user_id,
                             const std::string& node) {
  auto i = users_.find(user_id);
  if (i == users_.end())
    return false;
  auto& per_node = i->second.per_node;
  auto j = per_node.find(node);
  if (j == per_node.end())
    return false;
  if (--j->second == 0)
    per_node.erase(j);
  if (!per_node.empty())
    return false;
  users_.erase(i);
  share_.set(users_.size());
  return true;
}

std::vector<std::string> presence_roster::remove_node(const std::string& node) {
  std::vector<std::string> gone;
  for (auto i = users_.begin(); i != users_.end();) {
    i->second.per_node.erase(node);
    if (i->second.per_node.empty()) {
      gone.push_back(i->first);
      i = users_.erase(i);
    } else {
      ++i;
    }
  }
  share_.set(users_.size());
  return gone;
}

std::vector<std::pair<std::string, std::string>>
presence_roster::connections_on(const std::string& node) const {
  std::vector<std::pair<std::string, std::string>> result;
  for (auto& [id, e] : users_)
    if (auto i = e.per_node.find(node); i != e.per_node.end())
      result.insert(result.end(), i->second, {id, e.info});
  return result;
}

bool presence_roster::contains(const std::string& user_id) const {
  return users_.count(user_id) > 0;
}

std::vector<pusher::presence_member> presence_roster::members() const {
  std::vector<pusher::presence_member> result;
  result.reserve(users_.size());
  for (auto& [id, e] : users_)
    result.push_back(pusher::presence_member{id, e.info});
  return result;
}

} // namespace starling
