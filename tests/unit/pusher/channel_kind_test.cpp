// Unit tests for pusher/channel_kind: prefix classification and what each
// kind can do, as one table.
#define CAF_SUITE pusher_channel_kind
#include <caf/test/unit_test.hpp>

#include "pusher/channel_kind.hpp"

#include <string>

using namespace starling::pusher;

namespace {

struct kind_case {
  const char* name;
  channel_kind kind;
  bool auth;          // needs_auth
  bool user;          // needs_user
  bool roster;        // has_roster
  bool last_event;    // keeps_last_event
  bool counts;        // counts_subscriptions
  bool client_events; // allows_client_events
  bool internal;      // is_internal
};

constexpr auto pub = channel_kind::public_channel;
constexpr auto priv = channel_kind::private_channel;
constexpr auto enc = channel_kind::encrypted_channel;
constexpr auto pres = channel_kind::presence_channel;
constexpr auto usr = channel_kind::user_channel;
constexpr auto wl = channel_kind::watchlist_channel;

const kind_case cases[] = {
  // name                      kind  auth   user   roster last   counts client internal
  {"my-channel",               pub,  false, false, false, false, true,  false, false},
  {"",                         pub,  false, false, false, false, true,  false, false},
  {"chat-cache-1",             pub,  false, false, false, false, true,  false, false},
  {"public-private-x",         pub,  false, false, false, false, true,  false, false},
  {"Private-x",                pub,  false, false, false, false, true,  false, false},
  {"private",                  pub,  false, false, false, false, true,  false, false},
  {"private-foo",              priv, true,  false, false, false, true,  true,  false},
  {"private-",                 priv, true,  false, false, false, true,  true,  false},
  {"private-cache-x",          priv, true,  false, false, true,  true,  true,  false},
  {"private-encrypted-foo",    enc,  true,  false, false, false, true,  false, false},
  {"private-encrypted-cache-x",enc,  true,  false, false, true,  true,  false, false},
  {"private-encryptedfoo",     priv, true,  false, false, false, true,  true,  false},
  {"presence-room",            pres, true,  false, true,  false, false, true,  false},
  {"presence-cache-x",         pres, true,  false, true,  true,  false, true,  false},
  {"presence-private-x",       pres, true,  false, true,  false, false, true,  false},
  {"cache-prices",             pub,  false, false, false, true,  true,  false, false},
  {"cache-private-x",          pub,  false, false, false, true,  true,  false, false},
  {"#server-to-user-42",       usr,  false, true,  false, false, true,  false, false},
  {"#server-to-user-",         usr,  false, true,  false, false, true,  false, false},
  {"#server-to-users-42",      pub,  false, false, false, false, true,  false, false},
  {"#watchlist-42",            wl,   false, false, true,  false, false, false, true},
};

} // namespace

CAF_TEST(every kind answers its capabilities from one table) {
  for (const auto& c : cases) {
    CAF_MESSAGE("channel '" << c.name << "'");
    auto t = classify_channel(c.name);
    CAF_CHECK(t.kind == c.kind);
    CAF_CHECK_EQUAL(t.needs_auth(), c.auth);
    CAF_CHECK_EQUAL(t.needs_user(), c.user);
    CAF_CHECK_EQUAL(t.has_roster(), c.roster);
    CAF_CHECK_EQUAL(t.keeps_last_event(), c.last_event);
    CAF_CHECK_EQUAL(t.counts_subscriptions(), c.counts);
    CAF_CHECK_EQUAL(t.allows_client_events(), c.client_events);
    CAF_CHECK_EQUAL(t.is_internal(), c.internal);
  }
}

CAF_TEST(user_channel_id extracts the id of user channels only) {
  CAF_CHECK_EQUAL(user_channel_id("#server-to-user-42"), "42");
  CAF_CHECK_EQUAL(user_channel_id("#server-to-user-a-b"), "a-b");
  CAF_CHECK_EQUAL(user_channel_id("#server-to-user-"), "");
  CAF_CHECK_EQUAL(user_channel_id("private-42"), "");
  CAF_CHECK_EQUAL(user_channel_id("x#server-to-user-42"), "");
  CAF_CHECK_EQUAL(user_channel_id(""), "");
}

CAF_TEST(watchlist channels name one user) {
  CAF_CHECK_EQUAL(watchlist_channel("42"), "#watchlist-42");
  // The id is a view into the name: keep the name alive (ASan found the
  // temporary destroyed before the comparison).
  auto channel = watchlist_channel("a b");
  CAF_CHECK_EQUAL(watchlist_user_id(channel), "a b");
  CAF_CHECK_EQUAL(watchlist_user_id("presence-42"), "");
}
