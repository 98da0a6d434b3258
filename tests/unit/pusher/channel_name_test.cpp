// Unit tests for pusher/channel_name: channel and event name validation.
#define CAF_SUITE pusher_channel_name
#include <caf/test/unit_test.hpp>

#include "pusher/channel_name.hpp"

#include <string>

using namespace starling::pusher;

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
