// Rendezvous hashing of channels onto nodes.
#include "bridge/shard_ring.hpp"

#include <algorithm>
#include <utility>

namespace starling::bridge {

namespace {

constexpr uint64_t fnv_offset_basis = 0xcbf29ce484222325ULL;
constexpr uint64_t fnv_prime = 0x100000001b3ULL;

uint64_t fnv1a_append(uint64_t hash, std::string_view bytes) {
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= fnv_prime;
  }
  return hash;
}

// Length-prefixed fields, so ("ab", "c") and ("a", "bc") hash apart. The
// length goes in byte by byte, least significant first, whatever the
// platform's byte order.
uint64_t fnv1a_append_field(uint64_t hash, std::string_view field) {
  uint64_t length = field.size();
  for (int i = 0; i < 8; ++i) {
    hash ^= (length >> (8 * i)) & 0xFF;
    hash *= fnv_prime;
  }
  return fnv1a_append(hash, field);
}

// MurmurHash3's 64-bit finalizer. FNV-1a alone mixes its last bytes poorly
// into the high bits, and rendezvous compares whole 64-bit weights.
uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

uint64_t node_hash(std::string_view node_id) {
  return fmix64(fnv1a_append_field(fnv_offset_basis, node_id));
}

uint64_t key_hash(std::string_view app_id, std::string_view channel) {
  return fmix64(fnv1a_append_field(
    fnv1a_append_field(fnv_offset_basis, app_id), channel));
}

// Both inputs are already well mixed; one more finalizer round over their
// XOR makes the weights of one key independent across nodes while hashing
// the key only once per lookup instead of once per node.
uint64_t combine(uint64_t node, uint64_t key) {
  return fmix64(node ^ key);
}

} // namespace

uint64_t fnv1a_64(std::string_view bytes) {
  return fnv1a_append(fnv_offset_basis, bytes);
}

uint64_t rendezvous_weight(std::string_view node_id, std::string_view app_id,
                           std::string_view channel) {
  return combine(node_hash(node_id), key_hash(app_id, channel));
}

std::optional<std::string> owner_of(const std::vector<std::string>& nodes,
                                    std::string_view app_id,
                                    std::string_view channel) {
  auto key = key_hash(app_id, channel);
  const std::string* best = nullptr;
  uint64_t best_weight = 0;
  for (const auto& node : nodes) {
    auto weight = combine(node_hash(node), key);
    if (best == nullptr || weight > best_weight
        || (weight == best_weight && node < *best)) {
      best = &node;
      best_weight = weight;
    }
  }
  if (best == nullptr)
    return std::nullopt;
  return *best;
}

shard_ring::shard_ring(std::vector<std::string> nodes)
  : nodes_(std::move(nodes)) {
  std::sort(nodes_.begin(), nodes_.end());
  nodes_.erase(std::unique(nodes_.begin(), nodes_.end()), nodes_.end());
  node_hashes_.reserve(nodes_.size());
  for (const auto& node : nodes_)
    node_hashes_.push_back(node_hash(node));
}

const std::string* shard_ring::owner_of(std::string_view app_id,
                                        std::string_view channel) const {
  auto key = key_hash(app_id, channel);
  const std::string* best = nullptr;
  uint64_t best_weight = 0;
  // nodes_ is sorted, so on a tie the first (smallest) node id stays.
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto weight = combine(node_hashes_[i], key);
    if (best == nullptr || weight > best_weight) {
      best = &nodes_[i];
      best_weight = weight;
    }
  }
  return best;
}

} // namespace starling::bridge
