// Unit tests for bridge/shard_ring: pinned hash values, determinism, balance,
// and minimal movement when nodes join or leave.
#define CAF_SUITE bridge_shard_ring
#include <caf/test/unit_test.hpp>

#include "bridge/shard_ring.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace starling::bridge;

namespace {

using strings = std::vector<std::string>;

constexpr int channel_count = 10000;

std::string channel_name(int i) {
  return "presence-room-" + std::to_string(i);
}

// Owner of every test channel of app "app-1", by channel index.
std::vector<std::string> owners(const strings& nodes) {
  shard_ring ring{nodes};
  std::vector<std::string> result;
  result.reserve(channel_count);
  for (int i = 0; i < channel_count; ++i)
    result.push_back(*ring.owner_of("app-1", channel_name(i)));
  return result;
}

} // namespace

CAF_TEST(fnv1a_64 matches the published test vectors) {
  CAF_CHECK_EQUAL(fnv1a_64(""), 0xcbf29ce484222325ULL);
  CAF_CHECK_EQUAL(fnv1a_64("a"), 0xaf63dc4c8601ec8cULL);
  CAF_CHECK_EQUAL(fnv1a_64("foobar"), 0x85944171f73967e8ULL);
}

CAF_TEST(rendezvous weights are pinned across releases and platforms) {
  // Computed by an independent reference implementation; a change here
  // splits ownership between old and new nodes during a rolling upgrade.
  CAF_CHECK_EQUAL(rendezvous_weight("node-a", "app-1", "lobby"),
                  0xf81dd85b5d9a0791ULL);
  CAF_CHECK_EQUAL(rendezvous_weight("node-b", "app-1", "lobby"),
                  0x8c1a4d6d7ee472b5ULL);
  CAF_CHECK_EQUAL(rendezvous_weight("node-c", "app-1", "presence-room"),
                  0x3b9cc13073b54f6eULL);
  CAF_CHECK_EQUAL(rendezvous_weight("n1", "", ""), 0xa32c62371aa9836eULL);
}

CAF_TEST(owners are pinned across releases and platforms) {
  const strings nodes{"node-a", "node-b", "node-c"};
  const std::pair<const char*, const char*> cases[] = {
    {"lobby", "node-a"},
    {"presence-room", "node-a"},
    {"a..b", "node-a"},
    {"#server-to-user-42", "node-b"},
    {"private-x", "node-b"},
  };
  for (const auto& [channel, owner] : cases) {
    CAF_MESSAGE("channel '" << channel << "'");
    CAF_CHECK(owner_of(nodes, "app-1", channel) == std::string{owner});
  }
}

CAF_TEST(fields are length prefixed) {
  CAF_CHECK_NOT_EQUAL(rendezvous_weight("n", "ab", "c"),
                      rendezvous_weight("n", "a", "bc"));
  CAF_CHECK_NOT_EQUAL(rendezvous_weight("n", "app", ""),
                      rendezvous_weight("n", "", "app"));
}

CAF_TEST(no nodes means no owner) {
  CAF_CHECK(!owner_of({}, "app-1", "lobby").has_value());
  shard_ring ring;
  CAF_CHECK(ring.empty());
  CAF_CHECK(ring.owner_of("app-1", "lobby") == nullptr);
}

CAF_TEST(a single node owns everything) {
  shard_ring ring{{"only"}};
  for (int i = 0; i < 100; ++i)
    CAF_CHECK_EQUAL(*ring.owner_of("app-1", channel_name(i)), "only");
}

CAF_TEST(ownership is deterministic and ignores node order and duplicates) {
  const strings forward{"node-a", "node-b", "node-c"};
  const strings backward{"node-c", "node-b", "node-a", "node-b"};
  shard_ring ring_forward{forward};
  shard_ring ring_backward{backward};
  CAF_CHECK_EQUAL(ring_backward.nodes(), forward);
  for (int i = 0; i < 1000; ++i) {
    auto channel = channel_name(i);
    auto expected = owner_of(forward, "app-1", channel);
    CAF_REQUIRE(expected.has_value());
    CAF_CHECK(owner_of(forward, "app-1", channel) == expected);
    CAF_CHECK(owner_of(backward, "app-1", channel) == expected);
    CAF_CHECK_EQUAL(*ring_forward.owner_of("app-1", channel), *expected);
    CAF_CHECK_EQUAL(*ring_backward.owner_of("app-1", channel), *expected);
  }
}

CAF_TEST(the app is part of the key) {
  const strings nodes{"node-a", "node-b", "node-c"};
  int differing = 0;
  for (int i = 0; i < 1000; ++i)
    if (owner_of(nodes, "app-1", channel_name(i))
        != owner_of(nodes, "app-2", channel_name(i)))
      ++differing;
  // Independent keys differ with probability 2/3.
  CAF_CHECK_GREATER(differing, 550);
  CAF_CHECK_LESS(differing, 780);
}

CAF_TEST(every node gets a fair share of 10000 channels) {
  const strings nodes{"node-a", "node-b", "node-c"};
  std::map<std::string, int> share;
  for (const auto& owner : owners(nodes))
    ++share[owner];
  CAF_REQUIRE_EQUAL(share.size(), 3u);
  for (const auto& [node, count] : share) {
    CAF_MESSAGE(node << " owns " << count);
    CAF_CHECK_GREATER_OR_EQUAL(count, channel_count * 25 / 100);
    CAF_CHECK_LESS_OR_EQUAL(count, channel_count * 42 / 100);
  }
}

CAF_TEST(a joining node takes about a quarter and only for itself) {
  auto before = owners({"node-a", "node-b", "node-c"});
  auto after = owners({"node-a", "node-b", "node-c", "node-d"});
  int moved = 0;
  for (int i = 0; i < channel_count; ++i) {
    if (before[i] != after[i]) {
      ++moved;
      CAF_CHECK_EQUAL(after[i], "node-d");
    }
  }
  CAF_MESSAGE(moved << " channels moved to node-d");
  CAF_CHECK_GREATER_OR_EQUAL(moved, channel_count * 20 / 100);
  CAF_CHECK_LESS_OR_EQUAL(moved, channel_count * 30 / 100);
}

CAF_TEST(a leaving node hands over only its own channels) {
  auto before = owners({"node-a", "node-b", "node-c", "node-d"});
  auto after = owners({"node-a", "node-c", "node-d"});
  std::map<std::string, int> heirs;
  for (int i = 0; i < channel_count; ++i) {
    if (before[i] == "node-b")
      ++heirs[after[i]];
    else
      CAF_CHECK_EQUAL(after[i], before[i]);
  }
  // The orphans spread over all survivors, not onto one of them.
  CAF_CHECK_EQUAL(heirs.count("node-b"), 0u);
  CAF_REQUIRE_EQUAL(heirs.size(), 3u);
  for (const auto& [node, count] : heirs)
    CAF_CHECK_GREATER(count, 500);
}
