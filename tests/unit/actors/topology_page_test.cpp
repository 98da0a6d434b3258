// Unit tests for actors/topology_page: search, cursor, limit and the cap.
#define CAF_SUITE actors_topology_page
#include <caf/test/unit_test.hpp>

#include "actors/topology_page.hpp"

#include <string>
#include <vector>

using namespace starling;

namespace {

std::vector<std::string> names(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = n; i-- > 0;) // Unsorted on purpose.
    out.push_back("ch-" + std::to_string(1000 + i));
  return out;
}

topology_request req(std::string search, std::string after, uint32_t limit) {
  return topology_request{{}, std::move(search), std::move(after), limit};
}

} // namespace

CAF_TEST(a page is the first names in order and says more follow) {
  auto p = page_of(names(10), req("", "", 3));
  CAF_CHECK_EQUAL(p.total, 10u);
  CAF_CHECK_EQUAL(p.matched, 10u);
  CAF_CHECK(p.more);
  CAF_CHECK_EQUAL(p.names, (std::vector<std::string>{"ch-1000", "ch-1001", "ch-1002"}));
}

CAF_TEST(the cursor continues after the last name of a page) {
  auto p = page_of(names(10), req("", "ch-1007", 3));
  CAF_CHECK(!p.more);
  CAF_CHECK_EQUAL(p.names, (std::vector<std::string>{"ch-1008", "ch-1009"}));
}

CAF_TEST(search keeps names containing it and counts the matches) {
  auto p = page_of(names(30), req("-100", "", 100));
  CAF_CHECK_EQUAL(p.matched, 10u);
  CAF_CHECK_EQUAL(p.names.size(), 10u);
  CAF_CHECK(!p.more);
}

CAF_TEST(no limit asks for more than the cap) {
  auto p = page_of(names(5000), req("", "", 1000000));
  CAF_CHECK_EQUAL(p.names.size(), static_cast<std::size_t>(max_topology_page));
  CAF_CHECK(p.more);
}
