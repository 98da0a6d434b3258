// Unit tests for logic_state_store: latest snapshots per channel, replaced
// by newer ones, bounded in snapshots and bytes (the least recently updated
// channel goes first), and dropped only by the node they came from.
#define CAF_SUITE actors_logic_state_store
#include <caf/test/unit_test.hpp>

#include "actors/logic_state_store.hpp"

using namespace starling;

namespace {

std::vector<logic_state> one(std::string state) {
  return {logic_state{"counter", "c-*", std::move(state)}};
}

} // namespace

CAF_TEST(the latest snapshots of a channel replace the older ones) {
  logic_state_store store;
  CAF_CHECK_EQUAL(store.put("c-1", "n-a", one("1")), 0u);
  CAF_CHECK_EQUAL(store.put("c-1", "n-a", one("22")), 0u);
  auto e = store.find("c-1");
  CAF_REQUIRE(e != nullptr);
  CAF_CHECK_EQUAL(e->from, "n-a");
  CAF_CHECK_EQUAL(e->states[0].state, "22");
  CAF_CHECK_EQUAL(store.size(), 1u);
  CAF_CHECK_EQUAL(store.snapshots(), 1u);
  CAF_CHECK_EQUAL(store.bytes(), std::string("c-1counterc-*22").size());
  CAF_CHECK(store.find("c-2") == nullptr);
}

CAF_TEST(the count bound drops the least recently updated channel) {
  logic_state_store store{2, 1 << 20};
  store.put("c-1", "n-a", one("1"));
  store.put("c-2", "n-a", one("2"));
  store.put("c-1", "n-a", one("3")); // c-2 is older now.
  CAF_CHECK_EQUAL(store.put("c-3", "n-b", one("4")), 1u);
  CAF_CHECK(store.find("c-2") == nullptr);
  CAF_CHECK(store.find("c-1") != nullptr);
  CAF_CHECK(store.find("c-3") != nullptr);
  CAF_CHECK_EQUAL(store.snapshots(), 2u);
}

CAF_TEST(the byte bound drops channels and refuses what cannot fit) {
  // "c-1" + "counter" + "c-*" = 13 bytes of names per channel.
  logic_state_store store{100, 40};
  store.put("c-1", "n-a", one(std::string(10, 'x'))); // 23
  store.put("c-2", "n-a", one(std::string(10, 'y'))); // 23: c-1 goes
  CAF_CHECK(store.find("c-1") == nullptr);
  CAF_CHECK_EQUAL(store.bytes(), 23u);
  // Alone over the bound: dropped, not kept, nothing else evicted.
  CAF_CHECK_EQUAL(store.put("c-3", "n-a", one(std::string(50, 'z'))), 0u);
  CAF_CHECK(store.find("c-3") == nullptr);
  CAF_CHECK(store.find("c-2") != nullptr);
  // Empty states: the channel's entry goes.
  store.put("c-2", "n-a", {});
  CAF_CHECK_EQUAL(store.size(), 0u);
  CAF_CHECK_EQUAL(store.bytes(), 0u);
}

CAF_TEST(a drop names the node the snapshots came from) {
  logic_state_store store;
  store.put("c-1", "n-b", one("1"));
  CAF_CHECK(!store.erase("c-1", "n-a"));
  CAF_CHECK(store.find("c-1") != nullptr);
  CAF_CHECK(store.erase("c-1", "n-b"));
  CAF_CHECK(store.find("c-1") == nullptr);
  store.put("c-1", "n-b", one("1"));
  CAF_CHECK(store.erase("c-1")); // Any node.
  CAF_CHECK_EQUAL(store.snapshots(), 0u);
}
