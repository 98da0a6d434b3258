// Unit tests for actors/name_map: the small name -> value map of a
// connection's subscriptions (lookups, default insertion, erasing from the
// middle, and that an emptied map gives its storage back).
#define CAF_SUITE actors_name_map
#include <caf/test/unit_test.hpp>

#include "actors/name_map.hpp"

#include <string>

using starling::name_map;

CAF_TEST(entries are found and made on demand and erased by name or position) {
  name_map<int> m;
  CAF_CHECK(m.empty());
  m["a"] = 1;
  m["b"] = 2;
  m["c"] = 3;
  m["b"] += 10; // existing entry, not a second one
  CAF_CHECK_EQUAL(m.size(), 3u);
  CAF_CHECK_EQUAL(m.find("b")->second, 12);
  CAF_CHECK_EQUAL(m.count("d"), 0u);
  CAF_CHECK(m.find("d") == m.end());
  m.erase("a"); // from the front: the last entry moves into its place
  CAF_CHECK_EQUAL(m.size(), 2u);
  CAF_CHECK_EQUAL(m.count("a"), 0u);
  CAF_CHECK_EQUAL(m.find("b")->second, 12);
  CAF_CHECK_EQUAL(m.find("c")->second, 3);
  m.erase(m.find("c"));
  m.erase("missing"); // nothing happens
  CAF_CHECK_EQUAL(m.size(), 1u);
  int sum = 0;
  for (auto& [name, value] : m)
    sum += value;
  CAF_CHECK_EQUAL(sum, 12);
  m.erase("b");
  CAF_CHECK(m.empty());
  CAF_CHECK(m.begin() == m.end());
}
