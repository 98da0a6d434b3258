// Unit tests for bridge/envelope: round trips, the pinned wire layout, and
// decoding of hostile input (garbage, every truncation, unknown versions and
// kinds, wrong types, oversized headers) without throwing.
#define CAF_SUITE bridge_envelope
#include <caf/test/unit_test.hpp>

#include "bridge/envelope.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

using namespace starling::bridge;
using namespace std::string_literals;

namespace {

event_envelope full_event() {
  event_envelope ev;
  ev.origin_node = "node-a";
  ev.app_id = "app-1";
  ev.channel = "presence-room.a..b;=@,";
  ev.seq = 0x1234567890ULL;
  ev.event = "client-typing";
  ev.data = R"({"text":"h\u00e9llo","n":[1,2,3]})";
  ev.kind = 1; // client event
  ev.user_id = "user-42";
  ev.count = 7;
  ev.exclude_socket_id = "123.456";
  ev.published_ns = 1796380000123456789ULL; // Field 12, for publish-to-flush.
  return ev;
}

event_envelope minimal_event() {
  event_envelope ev;
  ev.origin_node = "n";
  ev.app_id = "a";
  ev.channel = "c";
  ev.event = "e";
  return ev;
}

std::vector<envelope> samples() {
  event_envelope binary_data = minimal_event();
  binary_data.data = "\0\xff\xc1 not utf-8"s;
  event_envelope big = full_event();
  big.channel = std::string(200, '.');
  big.data = std::string(100000, 'x');
  big.seq = UINT64_MAX;
  return {
    full_event(),
    minimal_event(),
    binary_data,
    big,
    announce_envelope{"node-a", "10.1.2.3", 4242, 17},
    announce_envelope{"n", "", 0, 0},
    announce_envelope{"n", "::1", 65535, UINT64_MAX},
    goodbye_envelope{"node-a", 17},
  };
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values)
    out += static_cast<char>(v);
  return out;
}

// goodbye_envelope{"n1", 7}: [1, 3, {1: "n1", 2: 7}]
const std::string goodbye_n1_7
  = bytes({0x93, 0x01, 0x03, 0x82, 0x01, 0xa2, 'n', '1', 0x02, 0x07});

} // namespace

CAF_TEST(every kind of envelope round trips) {
  for (const auto& env : samples()) {
    CAF_MESSAGE("kind " << static_cast<int>(kind_of(env)));
    auto decoded = decode(encode(env));
    CAF_REQUIRE(decoded.has_value());
    CAF_CHECK(kind_of(*decoded) == kind_of(env));
    CAF_CHECK(*decoded == env);
  }
}

CAF_TEST(kind_of names the alternative) {
  CAF_CHECK(kind_of(event_envelope{}) == envelope_kind::event);
  CAF_CHECK(kind_of(announce_envelope{}) == envelope_kind::announce);
  CAF_CHECK(kind_of(goodbye_envelope{}) == envelope_kind::goodbye);
}

CAF_TEST(the wire layout is pinned) {
  // Version, kind, then a map of numbered fields, smallest integer forms.
  CAF_CHECK_EQUAL(encode(goodbye_envelope{"n1", 7}), goodbye_n1_7);
  CAF_CHECK_EQUAL(encode(announce_envelope{"n1", "h", 4000, 2}),
                  bytes({0x93, 0x01, 0x02, 0x84, 0x01, 0xa2, 'n', '1', 0x02,
                         0xa1, 'h', 0x03, 0xcd, 0x0f, 0xa0, 0x04, 0x02}));
  // Optional event fields at their defaults are left out.
  CAF_CHECK_EQUAL(encode(minimal_event()),
                  bytes({0x93, 0x01, 0x01, 0x85, 0x01, 0xa1, 'n', 0x02, 0xa1,
                         'a', 0x03, 0xa1, 'c', 0x04, 0x00, 0x05, 0xa1, 'e'}));
  auto decoded = decode(goodbye_n1_7);
  CAF_REQUIRE(decoded.has_value());
  CAF_CHECK(*decoded == envelope{goodbye_envelope{"n1", 7}});
}

CAF_TEST(every truncation of a valid envelope is rejected) {
  for (const auto& env : samples()) {
    auto encoded = encode(env);
    // The 100 kB sample would take long byte by byte; its framing is at both
    // ends, so cut it at every byte of the first and last 300 only.
    for (std::size_t n = 0; n < encoded.size(); ++n) {
      if (n > 300 && n + 300 < encoded.size())
        continue;
      if (decode(std::string_view{encoded}.substr(0, n)).has_value()) {
        CAF_FAIL("a prefix of " << n << " of " << encoded.size()
                                << " bytes decoded");
      }
    }
  }
}

CAF_TEST(trailing bytes are rejected) {
  CAF_CHECK(!decode(goodbye_n1_7 + '\0').has_value());
  CAF_CHECK(!decode(goodbye_n1_7 + goodbye_n1_7).has_value());
}

CAF_TEST(unknown versions and kinds are rejected) {
  auto with = [](std::size_t index, int value) {
    auto copy = goodbye_n1_7;
    copy[index] = static_cast<char>(value);
    return copy;
  };
  CAF_CHECK(decode(with(1, 0x01)).has_value());
  CAF_CHECK(!decode(with(1, 0x00)).has_value());
  CAF_CHECK(!decode(with(1, 0x02)).has_value());
  CAF_CHECK(!decode(with(1, 0x7f)).has_value());
  CAF_CHECK(!decode(with(1, 0xc0)).has_value()); // nil
  CAF_CHECK(!decode(with(1, 0xff)).has_value()); // -1
  CAF_CHECK(!decode(with(2, 0x00)).has_value());
  CAF_CHECK(!decode(with(2, 0x04)).has_value());
  CAF_CHECK(!decode(with(2, 0x7f)).has_value());
}

CAF_TEST(unknown fields are skipped) {
  // A newer node added field 16 ("x") and field 100 (a nested array).
  auto newer = bytes({0x93, 0x01, 0x03, 0x84, 0x01, 0xa2, 'n', '1', 0x10,
                      0xa1, 'x', 0x02, 0x07, 0x64, 0x92, 0x01, 0xc0});
  auto decoded = decode(newer);
  CAF_REQUIRE(decoded.has_value());
  CAF_CHECK(*decoded == envelope{goodbye_envelope{"n1", 7}});
}

CAF_TEST(event kinds round trip and unknown kinds are rejected) {
  for (uint8_t kind = 0; kind <= 4; ++kind) {
    auto ev = minimal_event();
    ev.kind = kind;
    ev.count = kind == 4 ? 12 : 0;
    auto decoded = decode(encode(ev));
    CAF_REQUIRE(decoded.has_value());
    CAF_CHECK(*decoded == envelope{ev});
  }
  // minimal_event() plus field 10 (kind) = 5: no kind this node knows.
  auto kind_5 = bytes({0x93, 0x01, 0x01, 0x86, 0x01, 0xa1, 'n', 0x02, 0xa1,
                       'a', 0x03, 0xa1, 'c', 0x04, 0x00, 0x05, 0xa1, 'e',
                       0x0a, 0x05});
  CAF_CHECK(!decode(kind_5).has_value());
  auto kind_4 = kind_5;
  kind_4.back() = 0x04;
  CAF_CHECK(decode(kind_4).has_value());
}

CAF_TEST(the retired data_is_json field still reads as a client event) {
  // minimal_event() plus field 7 (retired data_is_json) = true, as nodes of
  // the previous version send it.
  auto old = bytes({0x93, 0x01, 0x01, 0x86, 0x01, 0xa1, 'n', 0x02, 0xa1, 'a',
                    0x03, 0xa1, 'c', 0x04, 0x00, 0x05, 0xa1, 'e', 0x07, 0xc3});
  auto decoded = decode(old);
  CAF_REQUIRE(decoded.has_value());
  auto* ev = std::get_if<event_envelope>(&*decoded);
  CAF_REQUIRE(ev != nullptr);
  CAF_CHECK_EQUAL(ev->kind, 1u);
  old[old.size() - 1] = static_cast<char>(0xc2); // false: a published event
  decoded = decode(old);
  CAF_REQUIRE(decoded.has_value());
  CAF_CHECK_EQUAL(std::get<event_envelope>(*decoded).kind, 0u);
  // Never written any more: a client event is field 10 (kind) = 1.
  auto fresh = minimal_event();
  fresh.kind = 1;
  CAF_CHECK_EQUAL(encode(fresh),
                  bytes({0x93, 0x01, 0x01, 0x86, 0x01, 0xa1, 'n', 0x02, 0xa1,
                         'a', 0x03, 0xa1, 'c', 0x04, 0x00, 0x05, 0xa1, 'e',
                         0x0a, 0x01}));
}

struct malformed_case {
  const char* why;
  std::string bytes;
};

CAF_TEST(malformed envelopes are rejected) {
  const malformed_case cases[] = {
    {"empty", ""},
    {"reserved byte", bytes({0xc1})},
    {"nil", bytes({0xc0})},
    {"not an array", bytes({0x82, 0x01, 0x01, 0x02, 0x03})},
    {"array of two", bytes({0x92, 0x01, 0x03})},
    {"array of four",
     bytes({0x94, 0x01, 0x03, 0x82, 0x01, 0xa2, 'n', '1', 0x02, 0x07, 0xc0})},
    {"body not a map", bytes({0x93, 0x01, 0x03, 0x90})},
    {"missing epoch", bytes({0x93, 0x01, 0x03, 0x81, 0x01, 0xa2, 'n', '1'})},
    {"missing node id", bytes({0x93, 0x01, 0x03, 0x81, 0x02, 0x07})},
    {"epoch as string",
     bytes({0x93, 0x01, 0x03, 0x82, 0x01, 0xa2, 'n', '1', 0x02, 0xa1, '7'})},
    {"negative epoch",
     bytes({0x93, 0x01, 0x03, 0x82, 0x01, 0xa2, 'n', '1', 0x02, 0xff})},
    {"node id as integer",
     bytes({0x93, 0x01, 0x03, 0x82, 0x01, 0x05, 0x02, 0x07})},
    {"string key",
     bytes({0x93, 0x01, 0x03, 0x82, 0xa1, '1', 0xa2, 'n', '1', 0x02, 0x07})},
    {"negative key",
     bytes({0x93, 0x01, 0x03, 0x83, 0x01, 0xa2, 'n', '1', 0x02, 0x07, 0xff,
            0x00})},
    {"duplicate field",
     bytes({0x93, 0x01, 0x03, 0x83, 0x01, 0xa2, 'n', '1', 0x02, 0x07, 0x02,
            0x08})},
    {"port above 65535",
     bytes({0x93, 0x01, 0x02, 0x84, 0x01, 0xa1, 'n', 0x02, 0xa1, 'h', 0x03,
            0xce, 0x00, 0x01, 0x00, 0x00, 0x04, 0x01})},
    {"retired data_is_json as integer",
     bytes({0x93, 0x01, 0x01, 0x86, 0x01, 0xa1, 'n', 0x02, 0xa1, 'a', 0x03,
            0xa1, 'c', 0x04, 0x00, 0x05, 0xa1, 'e', 0x07, 0x01})},
    {"event without seq",
     bytes({0x93, 0x01, 0x01, 0x84, 0x01, 0xa1, 'n', 0x02, 0xa1, 'a', 0x03,
            0xa1, 'c', 0x05, 0xa1, 'e'})},
    {"array header of 4 billion", bytes({0xdd, 0xff, 0xff, 0xff, 0xff})},
    {"map header of 4 billion",
     bytes({0x93, 0x01, 0x03, 0xdf, 0xff, 0xff, 0xff, 0xff})},
    {"string header of 4 GiB",
     bytes({0x93, 0x01, 0x03, 0x81, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff})},
    {"deep nesting", std::string(1000, '\x91')},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE(c.why);
    CAF_CHECK(!decode(c.bytes).has_value());
  }
}

CAF_TEST(random garbage never decodes and never throws) {
  std::mt19937_64 rng{20240601};
  for (int i = 0; i < 20000; ++i) {
    std::string garbage(rng() % 64, '\0');
    for (auto& c : garbage)
      c = static_cast<char>(rng());
    // decode is noexcept: an escaping exception would terminate the test.
    CAF_CHECK(!decode(garbage).has_value());
  }
}

CAF_TEST(flipped bytes of a valid envelope never throw) {
  auto encoded = encode(full_event());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    for (int value : {0x00, 0x7f, 0x80, 0xc1, 0xdd, 0xff}) {
      auto copy = encoded;
      copy[i] = static_cast<char>(value);
      // Some flips still make a valid envelope (a changed letter); what
      // matters is that none throws or crashes.
      static_cast<void>(decode(copy));
    }
  }
  CAF_CHECK(decode(encoded).has_value());
}
