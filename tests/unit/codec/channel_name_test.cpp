// Unit tests for transport/codec/channel_name: prefix classification, name
// and event name validation, user channel ids.
#define CAF_SUITE codec_channel_name
#include <caf/test/unit_test.hpp>

#include "transport/codec/channel_name.hpp"

#include <string>

using namespace starling::codec;

namespace {

struct classify_case {
  const char* name;
  channel_kind kind;
  bool cached;
  bool requires_auth;
  bool client_events;
};

constexpr auto pub = channel_kind::public_channel;
constexpr auto priv = channel_kind::private_channel;
constexpr auto enc = channel_kind::encrypted_channel;
constexpr auto pres = channel_kind::presence_channel;
constexpr auto user = channel_kind::user_channel;

const classify_case classify_cases[] = {
  // name, kind, cached, requires_auth, allows_client_events
  {"my-channel", pub, false, false, false},
  {"", pub, false, false, false},
  {"chat-cache-1", pub, false, false, false},
  {"public-private-x", pub, false, false, false},
  {"Private-x", pub, false, false, false},
  {"private", pub, false, false, false},
  {"private-foo", priv, false, true, true},
  {"private-", priv, false, true, true},
  {"private-cache-x", priv, true, true, true},
  {"private-encrypted-foo", enc, false, true, false},
  {"private-encrypted-cache-x", enc, true, true, false},
  {"private-encryptedfoo", priv, false, true, true},
  {"presence-room", pres, false, true, true},
  {"presence-cache-x", pres, true, true, true},
  {"presence-private-x", pres, false, true, true},
  {"cache-prices", pub, true, false, false},
  {"cache-private-x", pub, true, false, false},
  {"#server-to-user-42", user, false, false, false},
  {"#server-to-user-", user, false, false, false},
  {"#server-to-users-42", pub, false, false, false},
};

} // namespace

CAF_TEST(classify_channel follows anchored prefixes longest first) {
  for (const auto& c : classify_cases) {
    CAF_MESSAGE("channel '" << c.name << "'");
    auto traits = classify_channel(c.name);
    CAF_CHECK(traits.kind == c.kind);
    CAF_CHECK_EQUAL(traits.cached, c.cached);
    CAF_CHECK_EQUAL(traits.requires_auth(), c.requires_auth);
    CAF_CHECK_EQUAL(traits.allows_client_events(), c.client_events);
    CAF_CHECK_EQUAL(traits.is_presence(), c.kind == pres);
  }
}

CAF_TEST(valid channel names pass) {
  const std::string names[] = {
    "a",
    "my-channel",
    "private-foo",
    "presence-room_1",
    "a..b",
    "a.",
    ";=@,",
    "private-encrypted-cache-x",
    "UPPER_lower-09=@,.;",
    std::string(164, 'x'),
    std::string(200, 'x'),
  };
  for (const auto& name : names) {
    CAF_MESSAGE("name '" << name << "'");
    CAF_CHECK_EQUAL(validate_channel_name(name, 200), "");
  }
}

CAF_TEST(invalid channel names are refused with a reason) {
  struct bad_case {
    std::string name;
    std::size_t max_length;
    const char* message;
  };
  const bad_case cases[] = {
    {"", 200, "Channel name is empty"},
    {std::string(201, 'x'), 200, "Channel name is longer than 200 characters"},
    {std::string(165, 'x'), 164, "Channel name is longer than 164 characters"},
    {"a%b", 200, "Channel name contains an invalid character '%'"},
    {"a b", 200, "Channel name contains an invalid character ' '"},
    {"a:b", 200, "Channel name contains an invalid character ':'"},
    {"a/b", 200, "Channel name contains an invalid character '/'"},
    {"#x", 200, "Channel name contains an invalid character '#'"},
    {"a#b", 200, "Channel name contains an invalid character '#'"},
    {"#server-to-user", 200, "Channel name contains an invalid character '#'"},
    {"caf\xc3\xa9", 200, "Channel name contains an invalid byte 0xc3"},
    {std::string("a\0b", 3), 200, "Channel name contains an invalid byte 0x00"},
    {"a\nb", 200, "Channel name contains an invalid byte 0x0a"},
    {"#server-to-user-", 200,
     "Channel name '#server-to-user-' has an empty user id"},
    {"#server-to-user-a b", 200,
     "User id of the channel name contains an invalid character ' '"},
    {"#server-to-user-a#b", 200,
     "User id of the channel name contains an invalid character '#'"},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("name '" << c.name << "'");
    CAF_CHECK_EQUAL(validate_channel_name(c.name, c.max_length), c.message);
  }
}

CAF_TEST(user channel names need allow_user_channel) {
  CAF_CHECK_EQUAL(validate_channel_name("#server-to-user-42", 200, true), "");
  CAF_CHECK_EQUAL(validate_channel_name("#server-to-user-a.b@c", 200), "");
  CAF_CHECK_EQUAL(validate_channel_name("#server-to-user-42", 200, false),
                  "Channel names starting with '#' are reserved");
  CAF_CHECK_EQUAL(validate_channel_name("#server-to-user-42", 10),
                  "Channel name is longer than 10 characters");
}

CAF_TEST(event names accept any non - empty text within the limit) {
  const std::string good[] = {
    "my-event",
    "App\\Events\\OrderShipped",
    ".custom.name",
    "client-typing",
    "pusher:subscribe",
    "with space and \xc3\xa9",
    std::string(200, 'e'),
  };
  for (const auto& name : good)
    CAF_CHECK_EQUAL(validate_event_name(name, 200), "");
  CAF_CHECK_EQUAL(validate_event_name("", 200), "Event name is empty");
  CAF_CHECK_EQUAL(validate_event_name(std::string(201, 'e'), 200),
                  "Event name is longer than 200 characters");
}

CAF_TEST(user_channel_id extracts the id of user channels only) {
  CAF_CHECK_EQUAL(user_channel_id("#server-to-user-42"), "42");
  CAF_CHECK_EQUAL(user_channel_id("#server-to-user-a-b"), "a-b");
  CAF_CHECK_EQUAL(user_channel_id("#server-to-user-"), "");
  CAF_CHECK_EQUAL(user_channel_id("private-42"), "");
  CAF_CHECK_EQUAL(user_channel_id("x#server-to-user-42"), "");
  CAF_CHECK_EQUAL(user_channel_id(""), "");
}
