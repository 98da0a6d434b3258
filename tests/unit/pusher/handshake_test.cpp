// Unit tests for pusher/handshake: the connect path `<prefix>/app/<key>` and
// the protocol and version checks of its query (Pusher protocol §1.1), as
// tables of literal inputs. (These checks moved here from the node.)
#define CAF_SUITE pusher_handshake
#include <caf/test/unit_test.hpp>

#include "pusher/handshake.hpp"

#include <string>

using namespace starling::pusher;

CAF_TEST(connect queries are accepted or refused with the right code) {
  struct row {
    const char* query;
    int code; // 0: accepted
  };
  const row rows[] = {
    // A missing protocol means v7; 5 to 7 are spoken.
    {"", 0},
    {"client=js", 0},
    {"protocol=7&client=js&version=8.4.0", 0},
    {"protocol=5", 0},
    {"protocol=6", 0},
    {"version=8.0.0-rc.1+build&protocol=7", 0},
    // Unsupported or not a number: 4007.
    {"protocol=3", 4007},
    {"protocol=4", 4007},
    {"protocol=8", 4007},
    {"protocol=seven", 4007},
    {"protocol=-7", 4007},
    {"protocol=7.0", 4007},
    {"protocol=99999999999999999999", 4007},
    // Supplied but empty: 4008.
    {"protocol=", 4008},
    {"protocol", 4008},
    // A version with other characters than [A-Za-z0-9.+-]: 4006.
    {"protocol=7&version=8.0%20beta", 4006},
    {"protocol=7&version=8.0/1", 4006},
    {"protocol=7&version=%22", 4006},
    // The protocol is checked before the version.
    {"protocol=3&version=bad%20one", 4007},
  };
  for (auto& r : rows) {
    CAF_MESSAGE("query: " << r.query);
    auto refusal = check_connect_query(r.query);
    if (r.code == 0) {
      CAF_CHECK(!refusal);
      continue;
    }
    CAF_REQUIRE(refusal.has_value());
    CAF_CHECK_EQUAL(to_int(refusal->code), r.code);
    CAF_CHECK(!refusal->message.empty());
  }
}

CAF_TEST(connect paths name an app key after the prefix) {
  struct row {
    const char* target;
    const char* prefix;
    const char* key;   // nullptr: not a connect path
    const char* query;
  };
  const row rows[] = {
    {"/app/app-key", "", "app-key", ""},
    {"/app/app-key/", "", "app-key", ""},
    {"/app/app-key?protocol=7&client=js", "", "app-key",
     "protocol=7&client=js"},
    {"/ws/app/k1?x=1", "/ws", "k1", "x=1"},
    {"/app/", "", nullptr, ""},
    {"/app", "", nullptr, ""},
    {"/apps/app-1/events", "", nullptr, ""},
    {"/app/a/b", "", nullptr, ""},
    {"/ws/app/k1", "", nullptr, ""},
    {"/app/k1", "/ws", nullptr, ""},
    {"", "", nullptr, ""},
  };
  for (auto& r : rows) {
    CAF_MESSAGE("target: " << r.target << " prefix: " << r.prefix);
    auto got = parse_connect_path(r.target, r.prefix);
    if (r.key == nullptr) {
      CAF_CHECK(!got);
      continue;
    }
    CAF_REQUIRE(got.has_value());
    CAF_CHECK_EQUAL(got->app_key, r.key);
    CAF_CHECK_EQUAL(got->query, r.query);
  }
}
