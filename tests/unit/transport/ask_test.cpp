// Unit tests for transport/ask: the gateway answers a question once, with
// the reply, the error, or (the asked actor staying silent) a timeout after
// ask_timeout, bounded by its own deadline queue instead of CAF timeouts.
#define CAF_SUITE transport_ask
#include <caf/test/dsl.hpp>

#include <optional>
#include <vector>

#include "transport/ask.hpp"

using namespace starling::transport;
using namespace std::chrono_literals;

namespace {

struct fixture : test_coordinator_fixture<> {
  caf::actor gateway = spawn_gateway(sys);
  std::vector<http_reply> replies;

  reply_fn collect() {
    return [this](http_reply r) { replies.push_back(std::move(r)); };
  }

  void ask_int(const caf::actor& dest, int x) {
    ask<int>(
      gateway, dest, x, collect(),
      [](int y) -> std::optional<http_reply> {
        http_reply r;
        r.body = std::to_string(y);
        return r;
      },
      [](const caf::error&) {
        http_reply r;
        r.status = 503;
        return r;
      });
    sched.run();
  }
};

// Doubles its input, refuses negatives, and never answers zero.
caf::behavior doubler(caf::event_based_actor*) {
  return {
    [](int x) -> caf::result<int> {
      if (x < 0)
        return caf::make_error(caf::sec::invalid_argument);
      if (x == 0)
        return caf::delegated<int>{};
      return 2 * x;
    },
  };
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(ask_tests, fixture)

CAF_TEST(a reply is answered once and a timeout never follows it) {
  auto dest = sys.spawn(doubler);
  ask_int(dest, 21);
  CAF_REQUIRE_EQUAL(replies.size(), 1u);
  CAF_CHECK_EQUAL(replies[0].status, 200u);
  CAF_CHECK_EQUAL(replies[0].body, "42");
  sched.advance_time(ask_timeout + 1s);
  sched.run();
  CAF_CHECK_EQUAL(replies.size(), 1u);
}

CAF_TEST(an error is answered by the error handler) {
  auto dest = sys.spawn(doubler);
  ask_int(dest, -1);
  CAF_REQUIRE_EQUAL(replies.size(), 1u);
  CAF_CHECK_EQUAL(replies[0].status, 503u);
}

CAF_TEST(a silent actor times out after ask_timeout and only then) {
  auto dest = sys.spawn(doubler);
  ask_int(dest, 0);
  ask_int(dest, 5);
  CAF_REQUIRE_EQUAL(replies.size(), 1u); // The answered one.
  sched.advance_time(ask_timeout - 1s);
  sched.run();
  CAF_CHECK_EQUAL(replies.size(), 1u);
  // Ticks come every 250 ms: a second later the deadline has passed.
  for (int i = 0; i < 8 && replies.size() < 2; ++i) {
    sched.advance_time(250ms);
    sched.run();
  }
  CAF_REQUIRE_EQUAL(replies.size(), 2u);
  CAF_CHECK_EQUAL(replies[1].status, 503u);
  // Nothing in flight: the gateway stops ticking.
  sched.advance_time(10s);
  sched.run();
  CAF_CHECK_EQUAL(replies.size(), 2u);
  CAF_CHECK_EQUAL(sched.clock().schedule().size(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
