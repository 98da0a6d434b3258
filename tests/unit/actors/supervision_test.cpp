// Unit tests for actors/supervision: the restart intensity (N restarts in T),
// its window, the back-off of each policy (base delay, first delay,
// doubling, cap) and the failed state with retry(), on explicit time points.
#define CAF_SUITE actors_supervision
#include <caf/test/unit_test.hpp>

#include "actors/supervision.hpp"

#include <chrono>
#include <vector>

using namespace starling;
using namespace std::chrono_literals;
using clock_type = restart_tracker::clock;
using ms = std::chrono::milliseconds;

namespace {

const clock_type::time_point t0 = clock_type::time_point{} + 1h;

int64_t as_ms(clock_type::duration d) {
  return std::chrono::duration_cast<ms>(d).count();
}

/// Fails the child `n` times, `gap` apart from `start`; returns the delays.
std::vector<int64_t> delays(restart_tracker& t, int n,
                            clock_type::time_point start = t0,
                            clock_type::duration gap = 1ms) {
  std::vector<int64_t> result;
  for (int i = 0; i < n; ++i) {
    auto d = t.child_failed(start + i * gap);
    CAF_CHECK(d.restart);
    result.push_back(as_ms(d.delay));
  }
  return result;
}

using ints = std::vector<int64_t>;

} // namespace

// -- intensity and window -----------------------------------------------------

CAF_TEST(five restarts in ten seconds are allowed and the sixth fails) {
  restart_tracker t{policies::app()};
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(t.child_failed(t0 + i * 1s).restart);
  CAF_CHECK(!t.failed());
  auto d = t.child_failed(t0 + 5s);
  CAF_CHECK(!d.restart);
  CAF_CHECK(t.failed());
  // A failed app is tried again ten seconds later.
  CAF_CHECK_EQUAL(as_ms(d.delay), 10000);
  CAF_CHECK_EQUAL(t.restarts(), 5u);
}

CAF_TEST(a failed child stays failed until retry even after the window) {
  restart_tracker t{policies::app()};
  for (int i = 0; i < 6; ++i)
    t.child_failed(t0);
  CAF_REQUIRE(t.failed());
  CAF_CHECK(!t.child_failed(t0 + 1min).restart);
  CAF_CHECK(t.failed());
  CAF_CHECK_EQUAL(t.restarts(), 5u);
}

CAF_TEST(restarts older than the window lapse) {
  restart_tracker t{policies::app()};
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(t.child_failed(t0 + i * 1s).restart);
  // The oldest restart (t0) lapsed: exactly one slot is free.
  CAF_CHECK(t.child_failed(t0 + 10s + 1ms).restart);
  CAF_CHECK_EQUAL(t.recent(), 5u);
  CAF_CHECK(!t.child_failed(t0 + 10s + 2ms).restart);
  CAF_CHECK(t.failed());
}

CAF_TEST(a custom intensity uses its own limit and window) {
  restart_policy p;
  p.max_restarts = 2;
  p.window = 1s;
  restart_tracker t{p};
  CAF_CHECK(t.child_failed(t0).restart);
  CAF_CHECK(t.child_failed(t0 + 100ms).restart);
  // Both recent restarts lapsed by now.
  CAF_CHECK(t.child_failed(t0 + 1200ms).restart);
  CAF_CHECK(t.child_failed(t0 + 1300ms).restart);
  CAF_CHECK(!t.child_failed(t0 + 1400ms).restart);
}

// -- back-off per policy ------------------------------------------------------

CAF_TEST(apps restart at once then after 10 ms doubling) {
  restart_tracker t{policies::app()};
  CAF_CHECK_EQUAL(delays(t, 5), ints({0, 10, 20, 40, 80}));
}

CAF_TEST(webhook actors back off like apps and are retried after 5 s) {
  restart_tracker t{policies::webhooks()};
  CAF_CHECK_EQUAL(delays(t, 5), ints({0, 10, 20, 40, 80}));
  auto d = t.child_failed(t0 + 10ms);
  CAF_CHECK(!d.restart);
  CAF_CHECK(t.failed());
  CAF_CHECK_EQUAL(as_ms(d.delay), 5000);
}

CAF_TEST(the bridge adds its 500 ms base delay to every back-off) {
  restart_tracker t{policies::bridge()};
  CAF_CHECK_EQUAL(delays(t, 5), ints({500, 510, 520, 540, 580}));
  auto d = t.child_failed(t0 + 10ms);
  CAF_CHECK(!d.restart);
  // Past the limit: a slow retry, not the base delay.
  CAF_CHECK_EQUAL(as_ms(d.delay), 5000);
}

CAF_TEST(a first delay applies to the first restart only) {
  // The shape of logic bindings (logic_bindings.cpp): 10 ms, then 20 ms
  // doubling, capped.
  restart_policy p;
  p.max_restarts = 10;
  p.first_delay = 10ms;
  p.backoff = 20ms;
  p.max_delay = 100ms;
  restart_tracker t{p};
  CAF_CHECK_EQUAL(delays(t, 6), ints({10, 20, 40, 80, 100, 100}));
}

CAF_TEST(the back-off is capped at max_delay plus the base delay) {
  restart_policy p;
  p.max_restarts = 40;
  p.backoff = 100ms;
  p.max_delay = 1s;
  p.base_delay = 5ms;
  restart_tracker t{p};
  CAF_CHECK_EQUAL(delays(t, 7), ints({5, 105, 205, 405, 805, 1005, 1005}));
  // Many more: no overflow of the doubling.
  auto more = delays(t, 30, t0 + 100ms);
  CAF_CHECK_EQUAL(more.back(), 1005);
}

CAF_TEST(the back-off drops back once the restarts lapse) {
  restart_tracker t{policies::app()};
  CAF_CHECK_EQUAL(delays(t, 3), ints({0, 10, 20}));
  CAF_CHECK_EQUAL(as_ms(t.child_failed(t0 + 1min).delay), 0);
  CAF_CHECK_EQUAL(t.recent(), 1u);
}

// -- failed and retry ---------------------------------------------------------

CAF_TEST(retry clears the failed state and starts the window afresh) {
  restart_tracker t{policies::bridge()};
  CAF_CHECK(!t.retry()); // Not failed: nothing to clear.
  for (int i = 0; i < 6; ++i)
    t.child_failed(t0);
  CAF_REQUIRE(t.failed());
  CAF_CHECK(t.retry());
  CAF_CHECK(!t.failed());
  CAF_CHECK_EQUAL(t.recent(), 0u);
  // Five more restarts within the same second, starting at the base delay.
  CAF_CHECK_EQUAL(delays(t, 5, t0 + 1s), ints({500, 510, 520, 540, 580}));
  CAF_CHECK(!t.child_failed(t0 + 1s).restart);
  CAF_CHECK_EQUAL(t.restarts(), 10u);
}

CAF_TEST(the policies are as documented) {
  auto app = policies::app();
  CAF_CHECK_EQUAL(app.max_restarts, 5u);
  CAF_CHECK(app.window == std::chrono::seconds(10));
  CAF_CHECK(app.retry_failed_after == std::chrono::seconds(10));
  auto bridge = policies::bridge();
  CAF_CHECK(bridge.base_delay == ms(500));
  CAF_CHECK(bridge.retry_failed_after == std::chrono::seconds(5));
  auto hooks = policies::webhooks();
  CAF_CHECK(hooks.base_delay == restart_policy::duration::zero());
  CAF_CHECK(hooks.retry_failed_after == std::chrono::seconds(5));
  restart_tracker t{bridge};
  CAF_CHECK(t.policy().base_delay == ms(500));
}
