// Unit tests for pusher/socket_id: formatting and the `^\d+\.\d+$`
// check the server SDKs apply.
#define CAF_SUITE pusher_socket_id
#include <caf/test/unit_test.hpp>

#include "pusher/socket_id.hpp"

#include <cstdint>
#include <limits>
#include <string>

using namespace starling::pusher;

CAF_TEST(make_socket_id joins high and low with a dot) {
  CAF_CHECK_EQUAL(make_socket_id(1, 2), "1.2");
  CAF_CHECK_EQUAL(make_socket_id(0, 0), "0.0");
  CAF_CHECK_EQUAL(make_socket_id(123456, 7890123), "123456.7890123");
  auto max = std::numeric_limits<uint64_t>::max();
  CAF_CHECK_EQUAL(make_socket_id(max, max),
                  "18446744073709551615.18446744073709551615");
}

CAF_TEST(made socket ids are valid) {
  const uint64_t values[] = {
    0, 1, 9, 10, 4294967296u, std::numeric_limits<uint64_t>::max()};
  for (auto high : values)
    for (auto low : values)
      CAF_CHECK(is_valid_socket_id(make_socket_id(high, low)));
}

CAF_TEST(is_valid_socket_id accepts two digit runs only) {
  struct id_case {
    std::string id;
    bool valid;
  };
  const id_case cases[] = {
    {"1.2", true},
    {"1234.1234", true},
    {"0.0", true},
    {"00012.0340", true},
    {"12345678901234567890.1", true},
    {"123456789012345678901.1", false},
    {"1.123456789012345678901", false},
    {"", false},
    {".", false},
    {"1.", false},
    {".1", false},
    {"12", false},
    {"1.2.3", false},
    {"1..2", false},
    {"-1.2", false},
    {"+1.2", false},
    {"1.-2", false},
    {" 1.2", false},
    {"1.2 ", false},
    {"1.2\n", false},
    {"a.b", false},
    {"1,2", false},
    {"1.2x", false},
    {std::string("1.2\0", 4), false},
    {"\xd9\xa1.\xd9\xa2", false}, // Arabic-Indic digits are not \d here
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("socket id '" << c.id << "'");
    CAF_CHECK_EQUAL(is_valid_socket_id(c.id), c.valid);
  }
}

CAF_TEST(a made socket id parses back to its numbers and its text) {
  const uint64_t values[] = {
    0, 1, 9, 10, 4294967296u, std::numeric_limits<uint64_t>::max()};
  for (auto high : values)
    for (auto low : values) {
      auto parsed = parse_socket_id(make_socket_id(high, low));
      CAF_REQUIRE(parsed.has_value());
      CAF_CHECK_EQUAL(parsed->high, high);
      CAF_CHECK_EQUAL(parsed->low, low);
      CAF_CHECK_EQUAL(parsed->to_string(), make_socket_id(high, low));
    }
}

CAF_TEST(text no made socket id has does not parse) {
  // Valid for the SDKs, but never ours: leading zeros, past 64 bits.
  for (auto text : {"01.2", "1.02", "00.0", "18446744073709551616.1",
                    "1.99999999999999999999", "", ".", "1.", ".1", "1.2.3",
                    "a.1", "1.-2", "+1.2", " 1.2"})
    CAF_CHECK(!parse_socket_id(text).has_value());
  CAF_CHECK(parse_socket_id("123.456") == (compact_socket_id{123, 456}));
  CAF_CHECK(parse_socket_id("123.456") != (compact_socket_id{123, 457}));
}
