// Unit tests for actors/supervisor: the restart budget (5 restarts in 10 s)
// and its back-off, driven by explicit time points.
#define CAF_SUITE actors_supervisor
#include <caf/test/unit_test.hpp>

#include "actors/supervisor.hpp"

#include <chrono>
#include <vector>

using starling::restart_budget;
using namespace std::chrono_literals;

namespace {

const restart_budget::clock::time_point t0 =
  restart_budget::clock::time_point{} + 1h;

} // namespace

CAF_TEST(the budget allows 5 restarts in 10 seconds and refuses the 6th) {
  restart_budget budget;
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(budget.try_restart(t0 + i * 1s));
  CAF_CHECK(!budget.try_restart(t0 + 5s));
  CAF_CHECK(!budget.try_restart(t0 + 9s));
}

CAF_TEST(a refused restart is not recorded) {
  restart_budget budget;
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(budget.try_restart(t0));
  for (int i = 0; i < 10; ++i)
    CAF_CHECK(!budget.try_restart(t0 + 1s));
  // Only the five recorded restarts lapse; refusals did not extend the window.
  CAF_CHECK(budget.try_restart(t0 + 10s + 1ms));
}

CAF_TEST(restarts are allowed again once the window has passed) {
  restart_budget budget;
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(budget.try_restart(t0 + i * 1s));
  CAF_CHECK(!budget.try_restart(t0 + 10s));
  // The oldest restart (t0) lapsed: exactly one slot is free.
  CAF_CHECK(budget.try_restart(t0 + 10s + 1ms));
  CAF_CHECK(!budget.try_restart(t0 + 10s + 2ms));
  // All of them lapsed: five more.
  auto later = t0 + 1min;
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(budget.try_restart(later));
  CAF_CHECK(!budget.try_restart(later));
}

CAF_TEST(a custom budget uses its own limit and window) {
  restart_budget budget{2, 1s};
  CAF_CHECK(budget.try_restart(t0));
  CAF_CHECK(budget.try_restart(t0 + 100ms));
  CAF_CHECK(!budget.try_restart(t0 + 200ms));
  CAF_CHECK(budget.try_restart(t0 + 1100ms));
}

CAF_TEST(backoff starts at zero and grows with recent restarts) {
  restart_budget budget;
  CAF_CHECK(budget.backoff() == restart_budget::clock::duration::zero());
  std::vector<restart_budget::clock::duration> seen;
  for (int i = 0; i < 5; ++i) {
    budget.try_restart(t0 + i * 1ms);
    seen.push_back(budget.backoff());
  }
  for (size_t i = 2; i < seen.size(); ++i)
    CAF_CHECK(seen[i] == 2 * seen[i - 1]);
  CAF_CHECK(seen.back() > seen.front());
  // Once the restarts lapse, the back-off drops back to zero.
  budget.try_restart(t0 + 1min);
  CAF_CHECK(budget.backoff() == restart_budget::clock::duration::zero());
}

CAF_TEST(backoff is 0 for the first two restarts then doubles from 10 ms) {
  // supervisor.hpp: none while at most one restart is recent, then 10 ms
  // doubling with each further one -- asked before each restart.
  using ms = std::chrono::milliseconds;
  const std::vector<ms> documented{0ms, 0ms, 10ms, 20ms, 40ms};
  restart_budget budget;
  for (size_t i = 0; i < documented.size(); ++i) {
    auto before = std::chrono::duration_cast<ms>(budget.backoff());
    CAF_CHECK_EQUAL(before.count(), documented[i].count());
    budget.try_restart(t0 + i * 1ms);
  }
}
