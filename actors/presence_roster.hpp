// The presence roster of one channel: user id -> info, with connections
// counted per node. Pure data used by the channel owner; no CAF inside.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "actors/app_counters.hpp"
#include "pusher/frame.hpp"

namespace starling {

/// Distinct users of a presence channel and how many connections each has
/// on each node. A user is a member while it has at least one connection.
class presence_roster {
public:
  /// Adds one connection of `user_id` on `node`. Returns true when this is
  /// the user's first connection cluster-wide (then member_added is due).
  /// The first connection's `user_info` is kept until the user fully leaves.
  bool add(const std::string& user_id, const std::string& user_info,
           const std::string& node);

  /// Removes one connection of `user_id` on `node`. Returns true when that
  /// was the user's last connection (then member_removed is due).
  bool remove(const std::string& user_id, const std::string& node);

  /// Removes every connection that lived on `node`; returns the users that
  /// are gone as a result.
  std::vector<std::string> remove_node(const std::string& node);

  /// Returns one (user id, info) per connection that lives on `node`.
  std::vector<std::pair<std::string, std::string>>
  connections_on(const std::string& node) const;

  /// Returns whether `user_id` is a member.
  bool contains(const std::string& user_id) const;

  /// Returns the number of distinct members.
  std::size_t size() const { return users_.size(); }

  /// Returns every member with its info, ordered by user id.
  std::vector<pusher::presence_member> members() const;

  /// Keeps `gauge` counting this roster's members (the app's presence
  /// members gauge) until the roster ends.
  void count_members_in(std::atomic<uint64_t>* gauge) {
    share_.attach(gauge);
    share_.set(users_.size());
  }

private:
  struct entry {
    std::string info;
    std::map<std::string, std::size_t> per_node;
  };
  std::map<std::string, entry> users_;
  gauge_share share_;
};

} // namespace starling
