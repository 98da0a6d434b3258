// Unit tests for actors/user_registry: which connections of this node are
// signed in as which user, without any actor.
#define CAF_SUITE actors_user_registry
#include <caf/test/unit_test.hpp>

#include "actors/user_registry.hpp"

#include <algorithm>
#include <string>
#include <vector>

using starling::user_registry;
using strings = std::vector<std::string>;

namespace {

strings sorted(strings xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

} // namespace

CAF_TEST(an empty registry knows nobody) {
  user_registry r;
  CAF_CHECK_EQUAL(r.users(), 0u);
  CAF_CHECK_EQUAL(r.connections(), 0u);
  CAF_CHECK(r.connections_of("u1").empty());
  CAF_CHECK(!r.sign_out("1.1").has_value());
}

CAF_TEST(sign-ins are counted per user and per connection) {
  struct step {
    const char* socket_id;
    const char* user_id;
    bool first;       // sign_in() result
    size_t users;     // distinct users afterwards
    size_t conns;     // signed-in connections afterwards
  };
  const step steps[] = {
    {"1.1", "u1", true, 1, 1},
    {"1.2", "u1", true, 1, 2},
    {"1.3", "u2", true, 2, 3},
    // A connection signs in as one user only; again changes nothing.
    {"1.1", "u1", false, 2, 3},
    {"1.1", "u3", false, 2, 3},
  };
  user_registry r;
  for (auto& s : steps) {
    CAF_MESSAGE(s.socket_id << " as " << s.user_id);
    CAF_CHECK_EQUAL(r.sign_in(s.socket_id, s.user_id), s.first);
    CAF_CHECK_EQUAL(r.users(), s.users);
    CAF_CHECK_EQUAL(r.connections(), s.conns);
  }
  CAF_CHECK_EQUAL(sorted(r.connections_of("u1")), strings({"1.1", "1.2"}));
  CAF_CHECK_EQUAL(r.connections_of("u2"), strings({"1.3"}));
  CAF_CHECK(r.connections_of("u3").empty());
}

CAF_TEST(signing out returns the user and forgets it with its last connection) {
  user_registry r;
  r.sign_in("1.1", "u1");
  r.sign_in("1.2", "u1");
  r.sign_in("1.3", "u2");
  auto who = r.sign_out("1.1");
  CAF_REQUIRE(who.has_value());
  CAF_CHECK_EQUAL(*who, "u1");
  CAF_CHECK_EQUAL(r.connections_of("u1"), strings({"1.2"}));
  CAF_CHECK_EQUAL(r.users(), 2u);
  CAF_CHECK_EQUAL(r.sign_out("1.2").value_or(""), "u1");
  CAF_CHECK(r.connections_of("u1").empty());
  CAF_CHECK_EQUAL(r.users(), 1u);
  CAF_CHECK_EQUAL(r.connections(), 1u);
  // Unknown or already gone: nothing.
  CAF_CHECK(!r.sign_out("1.2").has_value());
  CAF_CHECK(!r.sign_out("9.9").has_value());
  CAF_CHECK_EQUAL(r.connections(), 1u);
}

CAF_TEST(a connection signs in again after signing out) {
  user_registry r;
  CAF_CHECK(r.sign_in("1.1", "u1"));
  CAF_CHECK(r.sign_out("1.1").has_value());
  CAF_CHECK(r.sign_in("1.1", "u2"));
  CAF_CHECK_EQUAL(r.connections_of("u2"), strings({"1.1"}));
  CAF_CHECK(r.connections_of("u1").empty());
}
