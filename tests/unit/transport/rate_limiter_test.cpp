// Unit tests for transport/rate_limiter: a second of burst, then refusals
// with a retry hint, refilled with time, keys independent.
#define CAF_SUITE transport_rate_limiter
#include <caf/test/unit_test.hpp>

#include "transport/rate_limiter.hpp"

using starling::transport::rate_limiter;
using namespace std::chrono_literals;

CAF_TEST(a burst of one second passes then requests are refused) {
  rate_limiter rl;
  auto t0 = rate_limiter::clock::now();
  for (uint32_t i = 0; i < 5; ++i) {
    auto d = rl.take("app", 5, t0);
    CAF_CHECK(d.allowed);
    CAF_CHECK_EQUAL(d.limit, 5u);
    CAF_CHECK_EQUAL(d.remaining, 4u - i);
  }
  auto refused = rl.take("app", 5, t0);
  CAF_CHECK(!refused.allowed);
  CAF_CHECK_EQUAL(refused.retry_after_s, 1u);
  CAF_CHECK_EQUAL(refused.remaining, 0u);
}

CAF_TEST(tokens come back with time and keys do not share) {
  rate_limiter rl;
  auto t0 = rate_limiter::clock::now();
  for (int i = 0; i < 2; ++i)
    CAF_CHECK(rl.take("a", 2, t0).allowed);
  CAF_CHECK(!rl.take("a", 2, t0).allowed);
  CAF_CHECK(rl.take("b", 2, t0).allowed);
  // Half a second at 2/s: one token back.
  CAF_CHECK(rl.take("a", 2, t0 + 500ms).allowed);
  CAF_CHECK(!rl.take("a", 2, t0 + 500ms).allowed);
  // A long pause refills to the cap, not beyond.
  auto later = t0 + 10s;
  CAF_CHECK(rl.take("a", 2, later).allowed);
  CAF_CHECK(rl.take("a", 2, later).allowed);
  CAF_CHECK(!rl.take("a", 2, later).allowed);
}

CAF_TEST(prune forgets keys idle for a second and keeps the rest) {
  rate_limiter rl;
  auto t0 = rate_limiter::clock::now();
  rl.take("old", 1, t0);
  rl.take("new", 1, t0 + 900ms);
  rl.prune(t0 + 1s);
  CAF_CHECK_EQUAL(rl.size(), 1u);
  // A forgotten key starts full again: nothing is lost by pruning.
  CAF_CHECK(rl.take("old", 1, t0 + 1s).allowed);
}
