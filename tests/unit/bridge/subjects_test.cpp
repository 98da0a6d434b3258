// Unit tests for bridge/subjects: the channel token encoding (legal, one
// token, reversible, injective) and the subject layout.
#define CAF_SUITE bridge_subjects
#include <caf/test/unit_test.hpp>

#include "bridge/subjects.hpp"

#include <set>
#include <string>
#include <vector>

using namespace starling::bridge;

namespace {

struct token_case {
  std::string channel;
  std::string token;
};

// Legal Pusher names (charset [A-Za-z0-9_\-=@,.;] and #server-to-user-<id>)
// and the exact token each must get: the token is wire format between nodes.
const token_case token_cases[] = {
  {"my-channel", "my-channel"},
  {"private-foo", "private-foo"},
  {"presence-room_1", "presence-room_1"},
  {"a..b", "a%2E%2Eb"},
  {"a.", "a%2E"},
  {".", "%2E"},
  {";=@,", ";=@,"},
  {"#server-to-user-42", "%23server-to-user-42"},
  {"private-encrypted-cache-x.y", "private-encrypted-cache-x%2Ey"},
  {"UPPER_lower-09=@,.;", "UPPER_lower-09=@,%2E;"},
};

std::vector<std::string> tricky_channels() {
  std::vector<std::string> names;
  for (const auto& c : token_cases)
    names.push_back(c.channel);
  names.push_back(std::string(164, 'x'));
  names.push_back(std::string(164, '.'));
  names.push_back(std::string(200, 'x'));
  names.push_back(std::string(200, '.'));
  names.push_back("#server-to-user-" + std::string(184, ';'));
  // Not legal Pusher names, but the encoding must stay a legal, reversible
  // token for any bytes (app ids and node ids go through it too).
  names.push_back("a b\tc\nd");
  names.push_back("*");
  names.push_back(">");
  names.push_back("a.*.>");
  names.push_back("%2E");
  names.push_back("%");
  names.push_back("caf\xC3\xA9");
  names.push_back(std::string("nul\0byte", 8));
  names.push_back("$SYS");
  return names;
}

} // namespace

CAF_TEST(legal channel names get their exact tokens) {
  for (const auto& c : token_cases) {
    CAF_MESSAGE("channel '" << c.channel << "'");
    CAF_CHECK_EQUAL(channel_token(c.channel), c.token);
  }
}

CAF_TEST(every token is one legal NATS token) {
  for (const auto& name : tricky_channels()) {
    CAF_MESSAGE("channel '" << name << "'");
    auto token = channel_token(name);
    CAF_CHECK(is_subject_token(token));
    CAF_CHECK_LESS_OR_EQUAL(token.size(), 3 * name.size());
  }
}

CAF_TEST(tokens decode back to their names) {
  for (const auto& name : tricky_channels()) {
    CAF_MESSAGE("channel '" << name << "'");
    auto decoded = decode_channel_token(channel_token(name));
    CAF_REQUIRE(decoded.has_value());
    CAF_CHECK_EQUAL(*decoded, name);
  }
}

CAF_TEST(distinct names get distinct tokens) {
  auto names = tricky_channels();
  for (const auto& extra : {"a.b", "a%2Eb", "a%b", "ab", "a..", "a.b.", "#42",
                            "%2342", "a", "A"})
    names.emplace_back(extra);
  std::set<std::string> distinct_names(names.begin(), names.end());
  std::set<std::string> tokens;
  for (const auto& name : distinct_names)
    tokens.insert(channel_token(name));
  CAF_CHECK_EQUAL(tokens.size(), distinct_names.size());
}

CAF_TEST(every single byte round trips and distinct bytes stay distinct) {
  std::set<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    std::string name(1, static_cast<char>(b));
    auto token = channel_token(name);
    CAF_CHECK(is_subject_token(token));
    CAF_CHECK(decode_channel_token(token) == name);
    tokens.insert(token);
  }
  CAF_CHECK_EQUAL(tokens.size(), 256u);
}

CAF_TEST(the empty name has a token of its own) {
  CAF_CHECK_EQUAL(channel_token(""), "%");
  CAF_CHECK(is_subject_token(channel_token("")));
  CAF_CHECK(decode_channel_token("%") == std::string{});
}

CAF_TEST(strings the encoder never makes do not decode) {
  const char* rejected[] = {
    "",      // empty token: the empty name is "%"
    "a.b",   // '.' must be escaped
    "a b",   // whitespace must be escaped
    "a*",    // '*' must be escaped
    "%2e",   // lowercase hex: one name would get two tokens
    "%2",    // truncated escape
    "a%",    // truncated escape
    "%%",    // escape of nothing
    "%G0",   // not hex
    "%41",   // 'A' needs no escape
    "%2D",   // '-' needs no escape
    "%3B",   // ';' needs no escape
  };
  for (auto token : rejected) {
    CAF_MESSAGE("token '" << token << "'");
    CAF_CHECK(!decode_channel_token(token).has_value());
  }
}

CAF_TEST(subjects follow the documented layout) {
  CAF_CHECK_EQUAL(event_subject("starling", "app-1", "a..b"),
                  "starling.ev.app-1.a%2E%2Eb");
  CAF_CHECK_EQUAL(event_subject("starling", "app.1", "#server-to-user-42"),
                  "starling.ev.app%2E1.%23server-to-user-42");
  CAF_CHECK_EQUAL(event_subject("prod.starling", "1", "a."),
                  "prod.starling.ev.1.a%2E");
  CAF_CHECK_EQUAL(members_subject("starling"), "starling.members");
  CAF_CHECK_EQUAL(node_subject("starling", "node-7"), "starling.node.node-7");
  CAF_CHECK_EQUAL(node_subject("starling", "n.1"), "starling.node.n%2E1");
}

CAF_TEST(an event subject has exactly four tokens after a one-token prefix) {
  for (const auto& name : tricky_channels()) {
    auto subject = event_subject("starling", "app-1", name);
    std::vector<std::string> tokens;
    std::string::size_type start = 0;
    for (;;) {
      auto dot = subject.find('.', start);
      tokens.push_back(subject.substr(start, dot - start));
      if (dot == std::string::npos)
        break;
      start = dot + 1;
    }
    CAF_REQUIRE_EQUAL(tokens.size(), 4u);
    for (const auto& token : tokens)
      CAF_CHECK(is_subject_token(token));
    CAF_CHECK(decode_channel_token(tokens[3]) == name);
  }
}

CAF_TEST(is_subject_token rejects what splits or matches subjects) {
  CAF_CHECK(is_subject_token("abc"));
  CAF_CHECK(is_subject_token("%2E"));
  CAF_CHECK(!is_subject_token(""));
  CAF_CHECK(!is_subject_token("a.b"));
  CAF_CHECK(!is_subject_token("*"));
  CAF_CHECK(!is_subject_token(">"));
  CAF_CHECK(!is_subject_token("a b"));
  CAF_CHECK(!is_subject_token("a\tb"));
  CAF_CHECK(!is_subject_token(std::string("a\0b", 3)));
}
