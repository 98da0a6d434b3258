// The membership view of one node: which nodes of the cluster are alive,
// where their CAF middleman listens, and which incarnation each one is. Fed
// by announces (heartbeats), goodbyes and a periodic expiry; pure data, no
// clock of its own and no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace starling::bridge {

/// Time as the view sees it: the steady clock, which CAF 0.17's actor clock
/// also uses, so an actor can pass `self->clock().now()`.
using membership_clock = std::chrono::steady_clock;

/// One live node as announced.
struct member {
  std::string node_id; ///< Unique id of the node.
  std::string host;    ///< Host of the node's CAF middleman.
  uint16_t port = 0;   ///< Port of the node's CAF middleman.
  uint64_t epoch = 0;  ///< Start epoch: grows with each restart of the node.
  membership_clock::time_point last_seen; ///< When it last announced itself.
};

/// Returns whether two members are the same incarnation at the same address
/// (last_seen is not compared).
bool operator==(const member& lhs, const member& rhs);
/// Returns the negation of `==`.
bool operator!=(const member& lhs, const member& rhs);

/// What one call changed in the view. A restarted node appears in both lists:
/// its old incarnation left, its new one joined.
struct membership_change {
  std::vector<member> left;   ///< Members removed, as they were.
  std::vector<member> joined; ///< Members added, as they are now.

  /// Returns whether nothing changed.
  bool empty() const { return left.empty() && joined.empty(); }
};

/// The set of live nodes. Every change bumps the view epoch once, so two
/// snapshots with the same epoch hold the same members.
class membership_view {
public:
  /// Records an announce or heartbeat of `node_id`. An unknown node joins.
  /// A known node with the same epoch and address only refreshes
  /// `last_seen`. A higher epoch, or the same epoch at a new address,
  /// replaces the old entry (reported as left and joined). A lower epoch is
  /// a late message of a dead incarnation and is ignored.
  membership_change announce(const std::string& node_id,
                             const std::string& host, uint16_t port,
                             uint64_t epoch, membership_clock::time_point now);

  /// Removes `node_id` because it said goodbye. With `epoch`, removes it only
  /// if the entry is that incarnation or an older one, so a goodbye of an
  /// old incarnation cannot remove its successor.
  membership_change goodbye(const std::string& node_id,
                            std::optional<uint64_t> epoch = std::nullopt);

  /// Removes every node not seen for more than `timeout` before `now`.
  /// Returns the removed members, sorted by node id.
  std::vector<member> expire(membership_clock::time_point now,
                             membership_clock::duration timeout);

  /// Marks every member seen at `now`: after this node could not hear the
  /// others (its NATS connection was down, or it was stalled), their
  /// silence says nothing about them.
  void refresh_all(membership_clock::time_point now);

  /// Returns the live members, sorted by node id.
  std::vector<member> members() const;

  /// Returns the ids of the live members, sorted: the input of the shard ring.
  std::vector<std::string> node_ids() const;

  /// Returns the member `node_id`, or nullptr.
  const member* find(const std::string& node_id) const;

  /// Returns the number of live members.
  std::size_t size() const { return members_.size(); }

  /// Returns the view epoch: 0 for the empty start, +1 per changing call.
  uint64_t epoch() const { return epoch_; }

private:
  std::map<std::string, member> members_;
  uint64_t epoch_ = 0;
};

} // namespace starling::bridge
