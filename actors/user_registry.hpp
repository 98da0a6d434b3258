// Signed-in users of one app on this node: which connections (by socket id)
// are signed in as which user. Pure bookkeeping for the app actor; the
// cluster-wide online state lives in the users' watchlist channels.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace starling {

/// user id <-> signed-in connections of this node.
class user_registry {
public:
  /// Records that connection `socket_id` signed in as `user_id`. Returns
  /// false when it was signed in already (a connection signs in as one user
  /// only; signing in again changes nothing here).
  bool sign_in(const std::string& socket_id, const std::string& user_id);

  /// Forgets connection `socket_id` (it ended). Returns the user it was
  /// signed in as, or nothing.
  std::optional<std::string> sign_out(const std::string& socket_id);

  /// Returns the socket ids signed in as `user_id` on this node.
  std::vector<std::string> connections_of(const std::string& user_id) const;

  /// Returns the user `socket_id` signed in as, or nullptr.
  const std::string* user_of(const std::string& socket_id) const {
    auto i = by_socket_.find(socket_id);
    return i == by_socket_.end() ? nullptr : &i->second;
  }

  /// Returns the number of distinct signed-in users.
  std::size_t users() const { return users_.size(); }

  /// Returns the number of signed-in connections.
  std::size_t connections() const { return by_socket_.size(); }

private:
  std::unordered_map<std::string, std::vector<std::string>> users_;
  std::unordered_map<std::string, std::string> by_socket_;
};

} // namespace starling
