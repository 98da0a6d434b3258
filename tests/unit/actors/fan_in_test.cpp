// Unit tests for actors/fan_in: N answers gathered into one, delivered once
// after the last (or at seal() when nothing is outstanding).
#define CAF_SUITE actors_fan_in
#include <caf/test/unit_test.hpp>

#include "actors/fan_in.hpp"

#include <memory>
#include <vector>

using starling::fan_in;

namespace {

/// A promise that records what it was given.
struct recording_promise {
  std::shared_ptr<std::vector<std::vector<int>>> delivered
    = std::make_shared<std::vector<std::vector<int>>>();
  void deliver(std::vector<int> x) {
    delivered->push_back(std::move(x));
  }
};

using gather = fan_in<std::vector<int>, recording_promise>;

} // namespace

CAF_TEST(seal with nothing outstanding answers the initial value at once) {
  recording_promise rp;
  auto g = gather::make(rp, {7});
  CAF_CHECK(rp.delivered->empty());
  g->seal();
  CAF_REQUIRE_EQUAL(rp.delivered->size(), 1u);
  CAF_CHECK_EQUAL(rp.delivered->at(0), std::vector<int>({7}));
}

CAF_TEST(the answer goes out once after the last part) {
  recording_promise rp;
  auto g = gather::make(rp);
  g->expect();
  g->expect(2);
  g->seal();
  for (int i = 1; i <= 3; ++i) {
    CAF_CHECK(rp.delivered->empty());
    g->value().push_back(i);
    g->done();
  }
  CAF_REQUIRE_EQUAL(rp.delivered->size(), 1u);
  CAF_CHECK_EQUAL(rp.delivered->at(0), std::vector<int>({1, 2, 3}));
  // Stray calls after the answer change nothing.
  g->done();
  g->seal();
  CAF_CHECK_EQUAL(rp.delivered->size(), 1u);
}

CAF_TEST(parts that arrive before the seal wait for it) {
  recording_promise rp;
  auto g = gather::make(rp);
  g->expect();
  g->value().push_back(1);
  g->done();
  CAF_CHECK(rp.delivered->empty());
  g->seal();
  CAF_REQUIRE_EQUAL(rp.delivered->size(), 1u);
  CAF_CHECK_EQUAL(rp.delivered->at(0), std::vector<int>({1}));
}
