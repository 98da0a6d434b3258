// Signed-in users of one app on this node (user_registry.hpp).
#include "actors/user_registry.hpp"

#include <algorithm>

namespace starling {

bool user_registry::sign_in(const std::string& socket_id,
                            const std::string& user_id) {
  if (!by_socket_.emplace(socket_id, user_id).second)
    return false;
  users_[user_id].push_back(socket_id);
  return true;
}

std::optional<std::string> user_registry::sign_out(const std::string& socket_id) {
  auto i = by_socket_.find(socket_id);
  if (i == by_socket_.end())
    return std::nullopt;
  auto user = std::move(i->second);
  by_socket_.erase(i);
  auto u = users_.find(user);
  if (u != users_.end()) {
    auto& xs = u->second;
    xs.erase(std::remove(xs.begin(), xs.end(), socket_id), xs.end());
    if (xs.empty())
      users_.erase(u);
  }
  return user;
}

std::vector<std::string>
user_registry::connections_of(const std::string& user_id) const {
  auto i = users_.find(user_id);
  if (i == users_.end())
    return {};
  return i->second;
}

} // namespace starling
