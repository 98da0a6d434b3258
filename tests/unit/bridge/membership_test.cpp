// Unit tests for bridge/membership: joins, heartbeats, restarts, stale
// messages, goodbyes and expiry, as tables of steps against one view.
#define CAF_SUITE bridge_membership
#include <caf/test/unit_test.hpp>

#include "bridge/membership.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace starling::bridge;
using namespace std::chrono_literals;

namespace {

using strings = std::vector<std::string>;

constexpr auto timeout = std::chrono::milliseconds(3000);

enum class op { announce, goodbye, expire };

/// One call on the view and what it must report and leave behind.
struct step {
  op what;
  const char* node_id;          // announce, goodbye
  const char* host;             // announce
  uint16_t port;                // announce
  uint64_t epoch;               // announce; goodbye when has_epoch
  bool has_epoch;               // goodbye
  int at_ms;                    // the clock, for announce and expire
  strings left;                 // node ids reported as left (or expired)
  strings joined;               // node ids reported as joined
  uint64_t view_epoch;          // view epoch afterwards
  strings members;              // node ids afterwards
};

step announce(const char* node, uint64_t epoch, int at_ms, strings left,
              strings joined, uint64_t view_epoch, strings members,
              const char* host = "10.0.0.1", uint16_t port = 4242) {
  return {op::announce, node, host, port, epoch, true, at_ms,
          std::move(left), std::move(joined), view_epoch, std::move(members)};
}

step goodbye(const char* node, std::optional<uint64_t> epoch, strings left,
             uint64_t view_epoch, strings members) {
  return {op::goodbye, node, "", 0, epoch.value_or(0), epoch.has_value(), 0,
          std::move(left), {}, view_epoch, std::move(members)};
}

step expire(int at_ms, strings expired, uint64_t view_epoch,
            strings members) {
  return {op::expire, "", "", 0, 0, false, at_ms, std::move(expired), {},
          view_epoch, std::move(members)};
}

strings ids(const std::vector<member>& members) {
  strings result;
  for (const auto& m : members)
    result.push_back(m.node_id);
  return result;
}

membership_clock::time_point at(int ms) {
  return membership_clock::time_point{} + std::chrono::milliseconds(ms);
}

void run_steps(const std::vector<step>& steps) {
  membership_view view;
  int index = 0;
  for (const auto& s : steps) {
    CAF_MESSAGE("step " << index++);
    strings left;
    strings joined;
    switch (s.what) {
      case op::announce: {
        auto change = view.announce(s.node_id, s.host, s.port, s.epoch,
                                    at(s.at_ms));
        left = ids(change.left);
        joined = ids(change.joined);
        CAF_CHECK_EQUAL(change.empty(), left.empty() && joined.empty());
        break;
      }
      case op::goodbye: {
        auto change = view.goodbye(s.node_id, s.has_epoch
                                                ? std::optional{s.epoch}
                                                : std::nullopt);
        left = ids(change.left);
        joined = ids(change.joined);
        break;
      }
      case op::expire:
        left = ids(view.expire(at(s.at_ms), timeout));
        break;
    }
    CAF_CHECK_EQUAL(left, s.left);
    CAF_CHECK_EQUAL(joined, s.joined);
    CAF_CHECK_EQUAL(view.epoch(), s.view_epoch);
    CAF_CHECK_EQUAL(view.node_ids(), s.members);
    CAF_CHECK_EQUAL(ids(view.members()), s.members);
    CAF_CHECK_EQUAL(view.size(), s.members.size());
  }
}

} // namespace

CAF_TEST(an empty view has epoch zero and no members) {
  membership_view view;
  CAF_CHECK_EQUAL(view.epoch(), 0u);
  CAF_CHECK(view.members().empty());
  CAF_CHECK(view.find("n1") == nullptr);
  CAF_CHECK(view.expire(at(100000), timeout).empty());
  CAF_CHECK(view.goodbye("n1").empty());
  CAF_CHECK_EQUAL(view.epoch(), 0u);
}

CAF_TEST(nodes join once and heartbeats change nothing) {
  run_steps({
    // node, epoch, at, left, joined, view epoch, members
    announce("n2", 1, 0, {}, {"n2"}, 1, {"n2"}),
    announce("n1", 1, 10, {}, {"n1"}, 2, {"n1", "n2"}),
    announce("n3", 7, 20, {}, {"n3"}, 3, {"n1", "n2", "n3"}),
    announce("n2", 1, 1000, {}, {}, 3, {"n1", "n2", "n3"}),
    announce("n1", 1, 1010, {}, {}, 3, {"n1", "n2", "n3"}),
  });
}

CAF_TEST(a restarted node replaces its old incarnation) {
  run_steps({
    announce("n1", 1, 0, {}, {"n1"}, 1, {"n1"}),
    announce("n2", 1, 0, {}, {"n2"}, 2, {"n1", "n2"}),
    // n1 restarted: higher start epoch, reported as left + joined, one bump.
    announce("n1", 2, 500, {"n1"}, {"n1"}, 3, {"n1", "n2"}),
    // A heartbeat of the dead incarnation arrives late: ignored.
    announce("n1", 1, 600, {}, {}, 3, {"n1", "n2"}),
    announce("n1", 2, 700, {}, {}, 3, {"n1", "n2"}),
  });
}

CAF_TEST(a new address with the same epoch is a new incarnation) {
  run_steps({
    announce("n1", 5, 0, {}, {"n1"}, 1, {"n1"}),
    announce("n1", 5, 10, {"n1"}, {"n1"}, 2, {"n1"}, "10.0.0.2"),
    announce("n1", 5, 20, {"n1"}, {"n1"}, 3, {"n1"}, "10.0.0.2", 4243),
    announce("n1", 5, 30, {}, {}, 3, {"n1"}, "10.0.0.2", 4243),
  });
}

CAF_TEST(goodbye removes a node and a stale goodbye does not) {
  run_steps({
    announce("n1", 1, 0, {}, {"n1"}, 1, {"n1"}),
    announce("n2", 3, 0, {}, {"n2"}, 2, {"n1", "n2"}),
    goodbye("n1", std::nullopt, {"n1"}, 3, {"n2"}),
    goodbye("n1", std::nullopt, {}, 3, {"n2"}),
    goodbye("unknown", std::nullopt, {}, 3, {"n2"}),
    // The goodbye of n2's previous incarnation must not remove n2.
    goodbye("n2", 2, {}, 3, {"n2"}),
    goodbye("n2", 3, {"n2"}, 4, {}),
    // A node that said goodbye may come back.
    announce("n1", 2, 100, {}, {"n1"}, 5, {"n1"}),
  });
}

CAF_TEST(silent nodes expire after the timeout and only then) {
  run_steps({
    announce("n1", 1, 0, {}, {"n1"}, 1, {"n1"}),
    announce("n2", 1, 0, {}, {"n2"}, 2, {"n1", "n2"}),
    announce("n3", 1, 0, {}, {"n3"}, 3, {"n1", "n2", "n3"}),
    announce("n2", 1, 2000, {}, {}, 3, {"n1", "n2", "n3"}),
    // Exactly the timeout since last seen: still alive.
    expire(3000, {}, 3, {"n1", "n2", "n3"}),
    // Past it: n1 and n3 go together, in one change.
    expire(3001, {"n1", "n3"}, 4, {"n2"}),
    expire(5000, {}, 4, {"n2"}),
    expire(5001, {"n2"}, 5, {}),
    // An expired node that announces again (a healed partition) rejoins.
    announce("n1", 1, 6000, {}, {"n1"}, 6, {"n1"}),
  });
}

CAF_TEST(members carry their address and epoch) {
  membership_view view;
  view.announce("n2", "10.0.0.2", 4001, 9, at(5));
  view.announce("n1", "10.0.0.1", 4000, 3, at(7));
  auto members = view.members();
  CAF_REQUIRE_EQUAL(members.size(), 2u);
  CAF_CHECK_EQUAL(members[0].node_id, "n1");
  CAF_CHECK_EQUAL(members[0].host, "10.0.0.1");
  CAF_CHECK_EQUAL(members[0].port, 4000u);
  CAF_CHECK_EQUAL(members[0].epoch, 3u);
  CAF_CHECK(members[0].last_seen == at(7));
  CAF_CHECK_EQUAL(members[1].node_id, "n2");
  auto* found = view.find("n2");
  CAF_REQUIRE(found != nullptr);
  CAF_CHECK(*found == members[1]);
  auto change = view.announce("n2", "10.0.0.2", 4001, 10, at(9));
  CAF_REQUIRE_EQUAL(change.left.size(), 1u);
  CAF_REQUIRE_EQUAL(change.joined.size(), 1u);
  CAF_CHECK_EQUAL(change.left[0].epoch, 9u);
  CAF_CHECK_EQUAL(change.joined[0].epoch, 10u);
  CAF_CHECK(change.left[0] != change.joined[0]);
}

CAF_TEST(a refresh after a stall restarts every silence count) {
  membership_view view;
  view.announce("n1", "127.0.0.1", 4000, 1, at(0));
  view.announce("n2", "127.0.0.1", 4001, 1, at(500));
  // This node could not hear anyone from 0 to 5000 (NATS down, paused):
  // their silence proves nothing, nobody expires.
  view.refresh_all(at(5000));
  CAF_CHECK(view.expire(at(5000) + timeout, timeout).empty());
  CAF_CHECK_EQUAL(view.epoch(), 2u);
  // Silent after that, they do leave.
  CAF_CHECK_EQUAL(ids(view.expire(at(5001) + timeout, timeout)),
                  strings({"n1", "n2"}));
}
