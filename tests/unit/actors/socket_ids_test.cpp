// Unit tests for actors/socket_ids: random ids are Pusher-shaped and
// independent of each other; counting ids are what tests name sockets by.
#define CAF_SUITE actors_socket_ids

#include "actors/socket_ids.hpp"

#include <set>

#include <caf/test/unit_test.hpp>

#include "pusher/socket_id.hpp"

using namespace starling;

CAF_TEST(random ids have the Pusher shape and share no part) {
  auto next = random_socket_ids();
  std::set<std::string> ids;
  std::set<std::string> firsts;
  for (int i = 0; i < 10000; ++i) {
    auto id = next().to_string();
    CAF_REQUIRE(pusher::is_valid_socket_id(id));
    ids.insert(id);
    firsts.insert(id.substr(0, id.find('.')));
  }
  CAF_CHECK_EQUAL(ids.size(), 10000u);
  // A node prefix would make this 1: each half is random on its own.
  CAF_CHECK_GREATER(firsts.size(), 9990u);
}

CAF_TEST(counting ids number sockets after a prefix) {
  auto next = counting_socket_ids(42);
  CAF_CHECK_EQUAL(next().to_string(), "42.1");
  CAF_CHECK_EQUAL(next().to_string(), "42.2");
}
