#define CAF_SUITE transport_ws_framing
#include <caf/test/unit_test.hpp>

// Unit tests for pusher/websocket_frame: the handshake accept key,
// server frame headers, UTF-8 validation, and the incremental parser of
// client frames (masking, fragmentation, control frames, limits, close codes).

#include "transport/ws/framing.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

using namespace starling::transport::ws;

namespace {

// The masking key of the RFC 6455 §5.7 examples.
constexpr uint8_t default_key[4] = {0x37, 0xfa, 0x21, 0x3d};

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (auto v : values)
    out.push_back(static_cast<char>(v));
  return out;
}

// Builds a client frame: `first` is the whole first byte (FIN, RSV, opcode),
// the length uses the shortest encoding, and the payload is masked with `key`.
std::string client_frame(uint8_t first, const std::string& payload,
                         const uint8_t (&key)[4] = default_key) {
  std::string out;
  out.push_back(static_cast<char>(first));
  auto size = static_cast<uint64_t>(payload.size());
  if (size < 126) {
    out.push_back(static_cast<char>(0x80 | size));
  } else if (size <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>(size >> (56 - 8 * i)));
  }
  for (auto k : key)
    out.push_back(static_cast<char>(k));
  for (std::size_t i = 0; i < payload.size(); ++i)
    out.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
  return out;
}

// First bytes of client frames.
constexpr uint8_t fin = 0x80;
constexpr uint8_t op_cont = 0x0;
constexpr uint8_t op_text = 0x1;
constexpr uint8_t op_binary = 0x2;
constexpr uint8_t op_close = 0x8;
constexpr uint8_t op_ping = 0x9;
constexpr uint8_t op_pong = 0xA;

struct result {
  uint16_t code = 0;
  std::vector<ws_message> messages;
};

// Feeds `input` in one call to a fresh parser.
result feed_all(const std::string& input, std::size_t max_message = 1 << 20) {
  websocket_parser parser{max_message};
  result res;
  res.code = parser.feed(input.data(), input.size(), res.messages);
  return res;
}

// Feeds `input` in chunks ending at each of `cuts`, then the rest; stops at
// the first error (the parser must not be fed again after one).
result feed_cut(const std::string& input, const std::vector<std::size_t>& cuts,
                std::size_t max_message = 1 << 20) {
  websocket_parser parser{max_message};
  result res;
  std::size_t pos = 0;
  auto ends = cuts;
  ends.push_back(input.size());
  for (auto end : ends) {
    res.code = parser.feed(input.data() + pos, end - pos, res.messages);
    pos = end;
    if (res.code != 0)
      break;
  }
  return res;
}

// Feeds `input` one byte at a time.
result feed_bytewise(const std::string& input,
                     std::size_t max_message = 1 << 20) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < input.size(); ++i)
    cuts.push_back(i);
  return feed_cut(input, cuts, max_message);
}

struct expected_message {
  ws_opcode opcode;
  std::string payload;
};

bool same(const std::vector<ws_message>& got,
          const std::vector<expected_message>& want) {
  if (got.size() != want.size())
    return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i].opcode != want[i].opcode || got[i].payload != want[i].payload)
      return false;
  return true;
}

std::string describe(const std::vector<ws_message>& msgs) {
  std::string out = "[";
  for (const auto& m : msgs) {
    out += "(" + std::to_string(static_cast<int>(m.opcode)) + ", "
           + std::to_string(m.payload.size()) + " bytes)";
  }
  return out + "]";
}

#define CHECK_MESSAGES(res, ...)                                               \
  do {                                                                         \
    const std::vector<expected_message> want_ = __VA_ARGS__;                   \
    if (!same((res).messages, want_))                                          \
      CAF_MESSAGE("got messages " << describe((res).messages));                \
    CAF_CHECK(same((res).messages, want_));                                    \
  } while (false)

std::string repeat(std::size_t n, char c = 'x') {
  return std::string(n, c);
}

// A pattern of all byte values, so masking mistakes show.
std::string pattern(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>((i * 7 + 3) & 0xFF);
  return out;
}

} // namespace

// -- websocket_accept ---------------------------------------------------------

CAF_TEST(websocket_accept matches known handshakes) {
  struct accept_case {
    std::string key;
    std::string accept;
  };
  const accept_case cases[] = {
    // RFC 6455 §1.3 (and §4.2.2).
    {"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
    {"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
    // base64(SHA-1(GUID)).
    {"", "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w="},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("key " << c.key);
    CAF_CHECK_EQUAL(websocket_accept(c.key), c.accept);
  }
}

// -- websocket_header ---------------------------------------------------------

CAF_TEST(websocket_header writes the shortest length encoding) {
  struct header_case {
    ws_opcode opcode;
    uint64_t size;
    std::string expected;
  };
  const header_case cases[] = {
    {ws_opcode::text, 0, bytes({0x81, 0x00})},
    {ws_opcode::text, 5, bytes({0x81, 0x05})},
    {ws_opcode::text, 125, bytes({0x81, 0x7D})},
    {ws_opcode::text, 126, bytes({0x81, 0x7E, 0x00, 0x7E})},
    {ws_opcode::binary, 256, bytes({0x82, 0x7E, 0x01, 0x00})},
    {ws_opcode::text, 65535, bytes({0x81, 0x7E, 0xFF, 0xFF})},
    {ws_opcode::binary, 65536,
     bytes({0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00})},
    {ws_opcode::text, 0x0102030405060708ull,
     bytes({0x81, 0x7F, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08})},
    {ws_opcode::close, 2, bytes({0x88, 0x02})},
    {ws_opcode::ping, 0, bytes({0x89, 0x00})},
    {ws_opcode::pong, 125, bytes({0x8A, 0x7D})},
    {ws_opcode::continuation, 1, bytes({0x80, 0x01})},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("opcode " << static_cast<int>(c.opcode) << " size " << c.size);
    uint8_t out[10] = {0xEE, 0xEE, 0xEE, 0xEE, 0xEE,
                       0xEE, 0xEE, 0xEE, 0xEE, 0xEE};
    auto n = websocket_header(c.opcode, c.size, out);
    CAF_REQUIRE_EQUAL(n, c.expected.size());
    CAF_CHECK_EQUAL(std::string(reinterpret_cast<char*>(out), n), c.expected);
    // Nothing past the header is touched.
    for (std::size_t i = n; i < 10; ++i)
      CAF_CHECK_EQUAL(out[i], 0xEE);
  }
}

// -- is_valid_utf8 ------------------------------------------------------------

CAF_TEST(is_valid_utf8 accepts well formed text) {
  const std::string cases[] = {
    "",
    "hello",
    std::string("\0", 1),
    "\x7F",
    "\xC2\x80",                 // U+0080
    "\xC3\xA9",                 // é
    "\xDF\xBF",                 // U+07FF
    "\xE0\xA0\x80",             // U+0800
    "\xE2\x82\xAC",             // €
    "\xED\x9F\xBF",             // U+D7FF, just below the surrogates
    "\xEE\x80\x80",             // U+E000, just above them
    "\xEF\xBF\xBF",             // U+FFFF
    "\xF0\x90\x80\x80",         // U+10000
    "\xF0\x9F\x98\x80",         // 😀
    "\xF4\x8F\xBF\xBF",         // U+10FFFF
    "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80!",
  };
  for (const auto& text : cases) {
    CAF_MESSAGE("text of " << text.size() << " bytes");
    CAF_CHECK(is_valid_utf8(text));
  }
}

CAF_TEST(is_valid_utf8 rejects malformed text) {
  const std::string cases[] = {
    // Overlong forms.
    "\xC0\x80",
    "\xC0\xAF",
    "\xC1\xBF",
    "\xE0\x80\x80",
    "\xE0\x9F\xBF",
    "\xF0\x80\x80\x80",
    "\xF0\x8F\xBF\xBF",
    // UTF-16 surrogates.
    "\xED\xA0\x80",
    "\xED\xBF\xBF",
    "\xED\xA0\xBD\xED\xB8\x80",
    // Past U+10FFFF, and lead bytes that cannot occur.
    "\xF4\x90\x80\x80",
    "\xF5\x80\x80\x80",
    "\xF7\xBF\xBF\xBF",
    "\xF8\x88\x80\x80\x80",
    "\xFC\x84\x80\x80\x80\x80",
    "\xFE",
    "\xFF",
    // Truncated sequences, at the end and before other characters.
    "\xC3",
    "\xE2\x82",
    "\xF0\x9F\x98",
    "a\xC3",
    "ab\xE2\x82",
    "\xE2\x82" "a",
    "\xF0\x9F\x98 ",
    "\xC3\xC3\xA9",
    // Lone and extra continuation bytes.
    "\x80",
    "\xBF",
    "a\x80" "b",
    "\xC3\xA9\xA9",
    "\xE2\x82\xAC\x80",
  };
  for (const auto& text : cases) {
    CAF_MESSAGE("text of " << text.size() << " bytes, first "
                           << static_cast<int>(static_cast<uint8_t>(text[0])));
    CAF_CHECK(!is_valid_utf8(text));
  }
}

// -- websocket_parser: valid frames -------------------------------------------

CAF_TEST(the client frame helper reproduces the RFC 6455 example) {
  // §5.7: a single-frame masked text message containing "Hello".
  CAF_CHECK_EQUAL(client_frame(fin | op_text, "Hello"),
                  bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d,
                         0x51, 0x58}));
}

CAF_TEST(a masked text frame yields one message) {
  auto res = feed_all(bytes(
    {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  CAF_CHECK_EQUAL(res.code, 0);
  CHECK_MESSAGES(res, {{ws_opcode::text, "Hello"}});
}

CAF_TEST(the unmasking uses all four key bytes in turn) {
  const uint8_t keys[][4] = {
    {0x00, 0x00, 0x00, 0x00},
    {0xFF, 0xFF, 0xFF, 0xFF},
    {0x01, 0x02, 0x03, 0x04},
    {0xA5, 0x5A, 0x00, 0xFF},
  };
  const auto payload = pattern(37);
  for (const auto& key : keys) {
    auto res = feed_all(client_frame(fin | op_binary, payload, key));
    CAF_CHECK_EQUAL(res.code, 0);
    CHECK_MESSAGES(res, {{ws_opcode::binary, payload}});
  }
}

CAF_TEST(empty data and control frames are delivered) {
  struct empty_case {
    uint8_t first;
    ws_opcode opcode;
  };
  const empty_case cases[] = {
    {fin | op_text, ws_opcode::text},   {fin | op_binary, ws_opcode::binary},
    {fin | op_ping, ws_opcode::ping},   {fin | op_pong, ws_opcode::pong},
    {fin | op_close, ws_opcode::close},
  };
  for (const auto& c : cases) {
    auto res = feed_all(client_frame(c.first, ""));
    CAF_CHECK_EQUAL(res.code, 0);
    CHECK_MESSAGES(res, {{c.opcode, ""}});
  }
}

CAF_TEST(a frame split at any byte yields the same single message) {
  const std::string frames[] = {
    client_frame(fin | op_text, "Hello"),
    client_frame(fin | op_text, "caf\xC3\xA9 \xF0\x9F\x98\x80"),
    client_frame(fin | op_binary, pattern(200)), // 16-bit length
    client_frame(fin | op_ping, "ping!"),
  };
  for (const auto& frame : frames) {
    auto whole = feed_all(frame);
    CAF_REQUIRE_EQUAL(whole.code, 0);
    CAF_REQUIRE_EQUAL(whole.messages.size(), 1u);
    auto bytewise = feed_bytewise(frame);
    CAF_CHECK_EQUAL(bytewise.code, 0);
    CAF_CHECK_EQUAL(bytewise.messages.size(), 1u);
    if (bytewise.messages.size() == 1u) {
      CAF_CHECK(bytewise.messages[0].opcode == whole.messages[0].opcode);
      CAF_CHECK_EQUAL(bytewise.messages[0].payload, whole.messages[0].payload);
    }
    for (std::size_t cut = 0; cut <= frame.size(); ++cut) {
      auto res = feed_cut(frame, {cut});
      CAF_CHECK_EQUAL(res.code, 0);
      CAF_CHECK_EQUAL(res.messages.size(), 1u);
      if (res.messages.size() == 1u) {
        CAF_CHECK(res.messages[0].opcode == whole.messages[0].opcode);
        CAF_CHECK_EQUAL(res.messages[0].payload, whole.messages[0].payload);
      }
    }
  }
}

CAF_TEST(no message comes out before the last byte of a frame) {
  const auto frame = client_frame(fin | op_text, "Hello");
  websocket_parser parser{1024};
  std::vector<ws_message> out;
  for (std::size_t i = 0; i + 1 < frame.size(); ++i) {
    CAF_CHECK_EQUAL(parser.feed(frame.data() + i, 1, out), 0);
    CAF_CHECK(out.empty());
  }
  CAF_CHECK_EQUAL(parser.feed(frame.data() + frame.size() - 1, 1, out), 0);
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out[0].payload, "Hello");
  // Empty feeds are harmless.
  CAF_CHECK_EQUAL(parser.feed(frame.data(), 0, out), 0);
  CAF_CHECK_EQUAL(out.size(), 1u);
}

CAF_TEST(several frames in one feed come out in order) {
  const std::string stream = client_frame(fin | op_text, "one")
                             + client_frame(fin | op_binary, bytes({0, 1, 2}))
                             + client_frame(fin | op_pong, "p")
                             + client_frame(fin | op_text, "")
                             + client_frame(fin | op_text, "two");
  const std::vector<expected_message> want = {
    {ws_opcode::text, "one"},
    {ws_opcode::binary, bytes({0, 1, 2})},
    {ws_opcode::pong, "p"},
    {ws_opcode::text, ""},
    {ws_opcode::text, "two"},
  };
  auto res = feed_all(stream);
  CAF_CHECK_EQUAL(res.code, 0);
  CHECK_MESSAGES(res, want);
  auto bytewise = feed_bytewise(stream);
  CAF_CHECK_EQUAL(bytewise.code, 0);
  CHECK_MESSAGES(bytewise, want);
  // A feed that ends inside the second frame keeps the rest for later.
  auto cut = feed_cut(stream, {client_frame(fin | op_text, "one").size() + 3});
  CAF_CHECK_EQUAL(cut.code, 0);
  CHECK_MESSAGES(cut, want);
}

CAF_TEST(a fragmented message is assembled) {
  struct fragment_case {
    std::string stream;
    expected_message message;
  };
  const fragment_case cases[] = {
    {client_frame(op_text, "Hel") + client_frame(op_cont, "lo ")
       + client_frame(fin | op_cont, "world"),
     {ws_opcode::text, "Hello world"}},
    {client_frame(op_binary, bytes({0xFF})) + client_frame(fin | op_cont, bytes({0x00, 0xC0})),
     {ws_opcode::binary, bytes({0xFF, 0x00, 0xC0})}},
    // Empty fragments count.
    {client_frame(op_text, "") + client_frame(op_cont, "")
       + client_frame(fin | op_cont, ""),
     {ws_opcode::text, ""}},
    // A character split across fragments is valid once joined (€ = E2 82 AC).
    {client_frame(op_text, "\xE2") + client_frame(op_cont, "\x82")
       + client_frame(fin | op_cont, "\xAC"),
     {ws_opcode::text, "\xE2\x82\xAC"}},
  };
  for (const auto& c : cases) {
    auto res = feed_all(c.stream);
    CAF_CHECK_EQUAL(res.code, 0);
    CHECK_MESSAGES(res, {c.message});
    auto bytewise = feed_bytewise(c.stream);
    CAF_CHECK_EQUAL(bytewise.code, 0);
    CHECK_MESSAGES(bytewise, {c.message});
  }
}

CAF_TEST(a fragmented message can follow another one) {
  const std::string stream =
    client_frame(op_text, "a") + client_frame(fin | op_cont, "b")
    + client_frame(op_binary, "c") + client_frame(fin | op_cont, "d")
    + client_frame(fin | op_text, "e");
  auto res = feed_all(stream);
  CAF_CHECK_EQUAL(res.code, 0);
  CHECK_MESSAGES(res, {{ws_opcode::text, "ab"},
                       {ws_opcode::binary, "cd"},
                       {ws_opcode::text, "e"}});
}

CAF_TEST(control frames between fragments are delivered at once) {
  const std::string stream =
    client_frame(op_text, "Hello ") + client_frame(fin | op_ping, "are you there")
    + client_frame(op_cont, "wor") + client_frame(fin | op_pong, "")
    + client_frame(fin | op_cont, "ld");
  const std::vector<expected_message> want = {
    {ws_opcode::ping, "are you there"},
    {ws_opcode::pong, ""},
    {ws_opcode::text, "Hello world"},
  };
  auto res = feed_all(stream);
  CAF_CHECK_EQUAL(res.code, 0);
  CHECK_MESSAGES(res, want);
  // The same at every split into two and into three pieces.
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    auto two = feed_cut(stream, {i});
    CAF_CHECK_EQUAL(two.code, 0);
    CHECK_MESSAGES(two, want);
    for (std::size_t j = i; j <= stream.size(); j += 3) {
      auto three = feed_cut(stream, {i, j});
      CAF_CHECK_EQUAL(three.code, 0);
      CHECK_MESSAGES(three, want);
    }
  }
}

CAF_TEST(a close frame between fragments is delivered) {
  auto res = feed_all(client_frame(op_text, "Hel")
                      + client_frame(fin | op_close, bytes({0x03, 0xE8})));
  CAF_CHECK_EQUAL(res.code, 0);
  CHECK_MESSAGES(res, {{ws_opcode::close, bytes({0x03, 0xE8})}});
}

CAF_TEST(16 and 64 bit lengths are read) {
  struct length_case {
    std::size_t size;
    std::string header; // First bytes of the client frame.
  };
  const length_case cases[] = {
    {125, bytes({0x82, 0xFD})},
    {126, bytes({0x82, 0xFE, 0x00, 0x7E})},
    {300, bytes({0x82, 0xFE, 0x01, 0x2C})},
    {65535, bytes({0x82, 0xFE, 0xFF, 0xFF})},
    {65536, bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00})},
    {70000, bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70})},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("payload of " << c.size << " bytes");
    const auto payload = pattern(c.size);
    const auto frame = client_frame(fin | op_binary, payload);
    CAF_REQUIRE_EQUAL(frame.compare(0, c.header.size(), c.header), 0);
    auto res = feed_all(frame);
    CAF_CHECK_EQUAL(res.code, 0);
    CHECK_MESSAGES(res, {{ws_opcode::binary, payload}});
    // Split inside the extended length, the mask, and the payload.
    for (std::size_t cut = 1; cut <= c.header.size() + 6; ++cut) {
      auto split = feed_cut(frame, {cut, frame.size() - 1});
      CAF_CHECK_EQUAL(split.code, 0);
      CHECK_MESSAGES(split, {{ws_opcode::binary, payload}});
    }
  }
}

CAF_TEST(a text message with a 16 bit length is checked as UTF-8) {
  std::string text;
  while (text.size() < 1000)
    text += "caf\xC3\xA9 \xF0\x9F\x98\x80 ";
  auto res = feed_all(client_frame(fin | op_text, text));
  CAF_CHECK_EQUAL(res.code, 0);
  CHECK_MESSAGES(res, {{ws_opcode::text, text}});
}

CAF_TEST(messages up to the limit pass) {
  auto exact = feed_all(client_frame(fin | op_binary, repeat(100)), 100);
  CAF_CHECK_EQUAL(exact.code, 0);
  CHECK_MESSAGES(exact, {{ws_opcode::binary, repeat(100)}});
  auto fragments = feed_all(client_frame(op_text, repeat(60))
                              + client_frame(fin | op_cont, repeat(40)),
                            100);
  CAF_CHECK_EQUAL(fragments.code, 0);
  CHECK_MESSAGES(fragments, {{ws_opcode::text, repeat(100)}});
  // Control frames do not count against an open message.
  auto with_ping = feed_all(client_frame(op_text, repeat(90))
                              + client_frame(fin | op_ping, repeat(50))
                              + client_frame(fin | op_cont, repeat(10)),
                            100);
  CAF_CHECK_EQUAL(with_ping.code, 0);
  CHECK_MESSAGES(with_ping,
                 {{ws_opcode::ping, repeat(50)}, {ws_opcode::text, repeat(100)}});
}

CAF_TEST(binary messages may hold any bytes) {
  const std::string not_utf8[] = {
    "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC3", "\x80", "\xFF\xFE",
  };
  for (const auto& payload : not_utf8) {
    auto res = feed_all(client_frame(fin | op_binary, payload));
    CAF_CHECK_EQUAL(res.code, 0);
    CHECK_MESSAGES(res, {{ws_opcode::binary, payload}});
  }
}

CAF_TEST(close frames pass their payload through) {
  struct close_case {
    std::string payload;
    uint16_t code;
    std::string reason;
  };
  const close_case cases[] = {
    {bytes({0x03, 0xE8}), 1000, ""},
    {bytes({0x03, 0xE9}) + "going away", 1001, "going away"},
    {bytes({0x0F, 0xA0}) + "caf\xC3\xA9", 4000, "caf\xC3\xA9"},
    {bytes({0x03, 0xF3}), 1011, ""},
  };
  for (const auto& c : cases) {
    auto res = feed_all(client_frame(fin | op_close, c.payload));
    CAF_CHECK_EQUAL(res.code, 0);
    CAF_REQUIRE_EQUAL(res.messages.size(), 1u);
    const auto& msg = res.messages[0];
    CAF_CHECK(msg.opcode == ws_opcode::close);
    CAF_CHECK_EQUAL(msg.payload, c.payload);
    CAF_REQUIRE_GREATER_OR_EQUAL(msg.payload.size(), 2u);
    auto code = static_cast<uint16_t>(
      (static_cast<uint8_t>(msg.payload[0]) << 8)
      | static_cast<uint8_t>(msg.payload[1]));
    CAF_CHECK_EQUAL(code, c.code);
    CAF_CHECK_EQUAL(msg.payload.substr(2), c.reason);
  }
}

CAF_TEST(nothing after a close frame in the same feed is delivered) {
  const std::string after[] = {
    client_frame(fin | op_text, "late"),
    client_frame(fin | op_ping, "late"),
    client_frame(fin | op_close, bytes({0x03, 0xE8})),
    // Even garbage that would be an error is not looked at.
    bytes({0x81, 0x04, 'l', 'a', 't', 'e'}),
    bytes({0xF1, 0x80}),
    client_frame(fin | op_text, "\xFF"),
  };
  for (const auto& tail : after) {
    auto res = feed_all(client_frame(fin | op_text, "first")
                        + client_frame(fin | op_close, bytes({0x03, 0xE8}))
                        + tail);
    CAF_CHECK_EQUAL(res.code, 0);
    CHECK_MESSAGES(res, {{ws_opcode::text, "first"},
                         {ws_opcode::close, bytes({0x03, 0xE8})}});
  }
}

// -- websocket_parser: violations ---------------------------------------------

CAF_TEST(protocol violations fail with 1002) {
  struct bad_case {
    const char* what;
    std::string stream;
  };
  const bad_case cases[] = {
    {"unmasked text frame",
     bytes({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'})},
    {"unmasked close frame", bytes({0x88, 0x02, 0x03, 0xE8})},
    {"unmasked ping", bytes({0x89, 0x00})},
    {"RSV1", client_frame(0xC1, "Hello")},
    {"RSV2", client_frame(0xA1, "Hello")},
    {"RSV3", client_frame(0x91, "Hello")},
    {"all RSV bits", client_frame(0xF2, "x")},
    {"RSV on a ping", client_frame(0xC9, "")},
    {"RSV on a continuation",
     client_frame(op_text, "a") + client_frame(0xC0, "b")},
    {"ping of 126 bytes", client_frame(fin | op_ping, repeat(126))},
    {"pong of 126 bytes", client_frame(fin | op_pong, repeat(126))},
    {"close of 126 bytes", client_frame(fin | op_close, repeat(126))},
    {"ping of 65536 bytes", client_frame(fin | op_ping, repeat(65536))},
    {"fragmented ping", client_frame(op_ping, "a")},
    {"fragmented pong", client_frame(op_pong, "a")},
    {"fragmented close", client_frame(op_close, bytes({0x03, 0xE8}))},
    {"fragmented ping inside a message",
     client_frame(op_text, "a") + client_frame(op_ping, "p")},
    {"final continuation without start", client_frame(fin | op_cont, "a")},
    {"continuation without start", client_frame(op_cont, "a")},
    {"continuation after a finished message",
     client_frame(op_text, "a") + client_frame(fin | op_cont, "b")
       + client_frame(fin | op_cont, "c")},
    {"text while a text message is open",
     client_frame(op_text, "a") + client_frame(fin | op_text, "b")},
    {"binary while a text message is open",
     client_frame(op_text, "a") + client_frame(fin | op_binary, "b")},
    {"unfinished text while a binary message is open",
     client_frame(op_binary, "a") + client_frame(op_text, "b")},
    {"opcode 3", client_frame(fin | 0x3, "x")},
    {"opcode 4", client_frame(fin | 0x4, "")},
    {"opcode 5", client_frame(fin | 0x5, "x")},
    {"opcode 6", client_frame(fin | 0x6, "x")},
    {"opcode 7", client_frame(fin | 0x7, "x")},
    {"opcode 0xB", client_frame(fin | 0xB, "x")},
    {"opcode 0xC", client_frame(fin | 0xC, "")},
    {"opcode 0xD", client_frame(fin | 0xD, "x")},
    {"opcode 0xE", client_frame(fin | 0xE, "x")},
    {"opcode 0xF", client_frame(fin | 0xF, "x")},
    {"64-bit length with the top bit set",
     bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x01, 0x37, 0xfa, 0x21, 0x3d,
            'x'})},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto res = feed_all(c.stream);
    CAF_CHECK_EQUAL(res.code, ws_protocol_error);
    auto bytewise = feed_bytewise(c.stream);
    CAF_CHECK_EQUAL(bytewise.code, ws_protocol_error);
  }
}

CAF_TEST(a bad header fails before its payload arrives) {
  struct header_case {
    const char* what;
    std::string header;
  };
  const header_case cases[] = {
    {"unmasked", bytes({0x81, 0x05})},
    {"RSV1", bytes({0xC1, 0x85})},
    {"ping of 126 bytes", bytes({0x89, 0xFE, 0x00, 0x7E})},
    {"fragmented ping", bytes({0x09, 0x85})},
    {"64-bit length with the top bit set",
     bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0x01})},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto res = feed_all(c.header);
    CAF_CHECK_EQUAL(res.code, ws_protocol_error);
    CAF_CHECK(res.messages.empty());
  }
}

CAF_TEST(messages before a violation are still delivered) {
  auto res = feed_all(client_frame(fin | op_text, "ok")
                      + client_frame(fin | op_ping, "p")
                      + bytes({0x81, 0x02, 'n', 'o'}));
  CAF_CHECK_EQUAL(res.code, ws_protocol_error);
  CHECK_MESSAGES(res, {{ws_opcode::text, "ok"}, {ws_opcode::ping, "p"}});
}

CAF_TEST(a header over the limit fails with 1009 before the payload) {
  struct big_case {
    const char* what;
    std::string header;
    std::size_t max_message;
  };
  const big_case cases[] = {
    {"7-bit length 101 over 100", bytes({0x82, 0xE5}), 100},
    {"7-bit length 1 over 0", bytes({0x81, 0x81}), 0},
    {"16-bit length 200 over 100", bytes({0x82, 0xFE, 0x00, 0xC8}), 100},
    {"16-bit length 65535 over 65534", bytes({0x81, 0xFE, 0xFF, 0xFF}), 65534},
    {"64-bit length 2^40 over 1 MiB",
     bytes({0x82, 0xFF, 0, 0, 0x01, 0, 0, 0, 0, 0}), 1 << 20},
    {"64-bit length 2^63-1 over 1 MiB",
     bytes({0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}),
     1 << 20},
    {"unfinished text over the limit", bytes({0x01, 0xE5}), 100},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE(c.what);
    // Just the header, then the header plus the mask: no payload at all.
    auto res = feed_all(c.header, c.max_message);
    CAF_CHECK_EQUAL(res.code, ws_too_big);
    CAF_CHECK(res.messages.empty());
    auto masked = feed_all(c.header + bytes({0x37, 0xfa, 0x21, 0x3d}),
                           c.max_message);
    CAF_CHECK_EQUAL(masked.code, ws_too_big);
    auto bytewise = feed_bytewise(c.header, c.max_message);
    CAF_CHECK_EQUAL(bytewise.code, ws_too_big);
  }
}

CAF_TEST(fragments over the limit fail with 1009) {
  struct big_case {
    const char* what;
    std::string stream;
    std::size_t max_message;
  };
  const big_case cases[] = {
    {"60 + 41 over 100",
     client_frame(op_text, repeat(60)) + client_frame(fin | op_cont, repeat(41)),
     100},
    {"three fragments of 40 over 100",
     client_frame(op_binary, repeat(40)) + client_frame(op_cont, repeat(40))
       + client_frame(fin | op_cont, repeat(40)),
     100},
    {"a full first fragment and one more byte",
     client_frame(op_text, repeat(100)) + client_frame(fin | op_cont, "x"), 100},
    {"fragments with a ping in between",
     client_frame(op_text, repeat(90)) + client_frame(fin | op_ping, "p")
       + client_frame(fin | op_cont, repeat(11)),
     100},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto res = feed_all(c.stream, c.max_message);
    CAF_CHECK_EQUAL(res.code, ws_too_big);
    for (const auto& m : res.messages)
      CAF_CHECK(m.opcode != ws_opcode::text && m.opcode != ws_opcode::binary);
    auto bytewise = feed_bytewise(c.stream, c.max_message);
    CAF_CHECK_EQUAL(bytewise.code, ws_too_big);
  }
  // The last fragment's header alone is enough to fail.
  auto header_only = feed_all(client_frame(op_text, repeat(60))
                                + bytes({0x80, 0xA9}),
                              100);
  CAF_CHECK_EQUAL(header_only.code, ws_too_big);
}

CAF_TEST(text that is not UTF-8 fails with 1007) {
  const std::string payloads[] = {
    "\xC0\x80",
    "\xED\xA0\x80",
    "\xF4\x90\x80\x80",
    "\xC3",
    "abc\xE2\x82",
    "\x80",
    "ok \xFF",
  };
  for (const auto& payload : payloads) {
    CAF_MESSAGE("payload of " << payload.size() << " bytes");
    auto res = feed_all(client_frame(fin | op_text, payload));
    CAF_CHECK_EQUAL(res.code, ws_invalid_payload);
    CAF_CHECK(res.messages.empty());
    auto bytewise = feed_bytewise(client_frame(fin | op_text, payload));
    CAF_CHECK_EQUAL(bytewise.code, ws_invalid_payload);
    // The same bytes as binary are fine.
    auto binary = feed_all(client_frame(fin | op_binary, payload));
    CAF_CHECK_EQUAL(binary.code, 0);
    CHECK_MESSAGES(binary, {{ws_opcode::binary, payload}});
  }
  // A fragmented text message is checked once joined.
  auto fragmented = feed_all(client_frame(op_text, "ok ")
                             + client_frame(op_cont, "\xED\xA0")
                             + client_frame(fin | op_cont, "\x80"));
  CAF_CHECK_EQUAL(fragmented.code, ws_invalid_payload);
  CAF_CHECK(fragmented.messages.empty());
  auto truncated = feed_all(client_frame(op_text, "ok ")
                            + client_frame(fin | op_cont, "\xE2\x82"));
  CAF_CHECK_EQUAL(truncated.code, ws_invalid_payload);
  // A fragmented binary message with the same bytes is fine.
  auto binary = feed_all(client_frame(op_binary, "ok ")
                         + client_frame(op_cont, "\xED\xA0")
                         + client_frame(fin | op_cont, "\x80"));
  CAF_CHECK_EQUAL(binary.code, 0);
  CHECK_MESSAGES(binary, {{ws_opcode::binary, "ok \xED\xA0\x80"}});
}
