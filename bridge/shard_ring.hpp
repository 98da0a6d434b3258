// Channel ownership across nodes: rendezvous (highest random weight) hashing
// of (node id, app id, channel) over the live nodes of the membership view.
// Pure functions, identical on every node and platform.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace starling::bridge {

/// Returns the 64-bit FNV-1a hash of `bytes`. Stable across platforms and
/// releases: nodes of a cluster must agree on it, so it is not std::hash.
uint64_t fnv1a_64(std::string_view bytes);

/// Returns the rendezvous weight of `node_id` for channel `channel` of app
/// `app_id`. The owner is the node with the highest weight. Changing this
/// function splits ownership between old and new nodes during a rolling
/// upgrade; its values are pinned by the unit tests.
uint64_t rendezvous_weight(std::string_view node_id, std::string_view app_id,
                           std::string_view channel);

/// Returns the node of `nodes` that owns `channel` of app `app_id`: the one
/// with the highest rendezvous weight, ties broken by the smaller node id so
/// the order of `nodes` never matters. Returns nullopt when `nodes` is empty.
std::optional<std::string> owner_of(const std::vector<std::string>& nodes,
                                    std::string_view app_id,
                                    std::string_view channel);

/// A fixed set of live nodes with their hashes computed once, for looking up
/// many channels against one membership view.
class shard_ring {
public:
  /// Makes the ring of `nodes`; duplicates are dropped, order does not matter.
  explicit shard_ring(std::vector<std::string> nodes = {});

  /// Returns the owner of `channel` of app `app_id`, the same node as the
  /// free `owner_of`, or nullptr when the ring is empty.
  const std::string* owner_of(std::string_view app_id,
                              std::string_view channel) const;

  /// Returns the node ids of the ring, sorted.
  const std::vector<std::string>& nodes() const { return nodes_; }

  /// Returns whether the ring has no node.
  bool empty() const { return nodes_.empty(); }

private:
  std::vector<std::string> nodes_;        // sorted, unique
  std::vector<uint64_t> node_hashes_;     // node_hashes_[i] is of nodes_[i]
};

} // namespace starling::bridge
