// Unit tests for pusher/frame: client frame parsing (valid,
// malformed, truncated, corrupted), system event data, and the exact bytes of
// every server frame.
#define CAF_SUITE pusher_frame
#include <caf/test/unit_test.hpp>

#include "pusher/frame.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace starling::pusher;
using json = nlohmann::json;

namespace {

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

client_frame frame_of(const std::string& text) {
  auto parsed = parse_client_frame(text);
  if (!parsed) {
    CAF_FAIL("fixture frame does not parse: " << text);
  }
  return *parsed;
}

std::string nested(std::size_t depth) {
  return R"({"event":"e","data":)" + std::string(depth, '[')
    + std::string(depth, ']') + "}";
}

} // namespace

// -- parse_client_frame -------------------------------------------------------

CAF_TEST(parse_client_frame reads event channel and data) {
  struct frame_case {
    std::string text;
    std::string event;
    std::string channel;
    std::string data;
    std::optional<std::string> data_string;
  };
  const frame_case cases[] = {
    {R"({"event":"pusher:subscribe","data":{"auth":"","channel":"my-channel"}})",
     "pusher:subscribe", "", R"({"auth":"","channel":"my-channel"})",
     std::nullopt},
    {R"({"event":"client-typing","channel":"private-chat","data":{"who":"ann"}})",
     "client-typing", "private-chat", R"({"who":"ann"})", std::nullopt},
    {R"({"event":"pusher:ping","data":{}})", "pusher:ping", "", "{}",
     std::nullopt},
    {R"({"event":"pusher:ping"})", "pusher:ping", "", "", std::nullopt},
    {R"({"event":"my-event","data":"{\"a\":1}"})", "my-event", "",
     R"("{\"a\":1}")", std::string{R"({"a":1})"}},
    {R"({"event":"e","data":""})", "e", "", R"("")", std::string{}},
    {R"({"event":"e","data":null})", "e", "", "null", std::nullopt},
    {R"({"event":"e","data":[1,2.5,"x",true]})", "e", "", R"([1,2.5,"x",true])",
     std::nullopt},
    {R"({"event":"e","data":42})", "e", "", "42", std::nullopt},
    // Whitespace goes; objects come back with their keys sorted.
    {" {\n \"data\" : { \"b\" : 1 , \"a\" : [ ] } ,\t\"event\" : \"e\" } ", "e",
     "", R"({"a":[],"b":1})", std::nullopt},
    {R"({"event":"e","data":"caf\u00e9 \ud83d\ude00"})", "e", "",
     "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
     std::string{"caf\xc3\xa9 \xf0\x9f\x98\x80"}},
    {R"({"event":"e","data":"a\"b\\c\n"})", "e", "", R"("a\"b\\c\n")",
     std::string{"a\"b\\c\n"}},
    {R"({"event":"e","channel":null})", "e", "", "", std::nullopt},
    {R"({"event":"App\\Events\\Foo","user_id":"x","extra":1})",
     "App\\Events\\Foo", "", "", std::nullopt},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("frame " << c.text);
    auto parsed = parse_client_frame(c.text);
    CAF_REQUIRE(parsed);
    CAF_CHECK_EQUAL(parsed->event, c.event);
    CAF_CHECK_EQUAL(parsed->channel, c.channel);
    CAF_CHECK_EQUAL(parsed->data, c.data);
    CAF_CHECK(parsed->data_string == c.data_string);
  }
}

CAF_TEST(parse_client_frame rejects malformed input with a code null error) {
  struct bad_case {
    std::string text;
    std::string message_prefix;
  };
  const bad_case cases[] = {
    {"", "Invalid JSON"},
    {" ", "Invalid JSON"},
    {"{", "Invalid JSON"},
    {R"({"event":"x")", "Invalid JSON"},
    {R"({"event":"x",})", "Invalid JSON"},
    {R"({'event':'x'})", "Invalid JSON"},
    {R"({event:"x"})", "Invalid JSON"},
    {R"({"event":"x"} trailing)", "Invalid JSON"},
    {R"({"event":"x"}{"event":"y"})", "Invalid JSON"},
    {R"({"event":"x","data":NaN})", "Invalid JSON"},
    {R"({"event":"x"/* comment */})", "Invalid JSON"},
    {R"({"event":"x","data":01})", "Invalid JSON"},
    {"{\"event\":\"a\tb\"}", "Invalid JSON"},
    {std::string("\0\x01\x02\xff\xfe", 5), "Invalid JSON"},
    {"\xef\xbb\xbf\xff{}", "Invalid JSON"},
    {std::string("{\"event\":\"x\"}\0", 14), "Invalid JSON"},
    {"{\"event\":\"\xff\"}", "Invalid JSON"},
    {"{\"event\":\"\xc3\"}", "Invalid JSON"},
    {"{\"event\":\"\xc0\xaf\"}", "Invalid JSON"},
    {"{\"event\":\"\xed\xa0\x80\"}", "Invalid JSON"},
    {R"({"event":"\ud800"})", "Invalid JSON"},
    {R"({"event":"\u12"})", "Invalid JSON"},
    {nested(100000), "Invalid JSON: nested deeper than 128 levels"},
    {"[]", "Frame must be a JSON object"},
    {R"([{"event":"x"}])", "Frame must be a JSON object"},
    {"42", "Frame must be a JSON object"},
    {"-1.5e3", "Frame must be a JSON object"},
    {R"("pusher:ping")", "Frame must be a JSON object"},
    {"null", "Frame must be a JSON object"},
    {"true", "Frame must be a JSON object"},
    {"{}", "Missing event"},
    {R"({"event":1})", "Missing event"},
    {R"({"event":null})", "Missing event"},
    {R"({"event":{"name":"x"}})", "Missing event"},
    {R"({"Event":"x"})", "Missing event"},
    {R"({"data":{},"channel":"c"})", "Missing event"},
    {R"({"event":"x","channel":5})", "Channel must be a string"},
    {R"({"event":"x","channel":["a"]})", "Channel must be a string"},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("frame of " << c.text.size() << " bytes");
    auto parsed = parse_client_frame(c.text);
    CAF_CHECK(!parsed);
    CAF_CHECK_EQUAL(parsed.error.code, 0);
    CAF_CHECK(starts_with(parsed.error.message, c.message_prefix));
  }
}

CAF_TEST(parse_client_frame reports the byte where JSON broke) {
  auto parsed = parse_client_frame(R"({"event":"x",})");
  CAF_CHECK_EQUAL(parsed.error.message,
                  "Invalid JSON: syntax error at byte 14");
}

CAF_TEST(parse_client_frame accepts nesting up to the depth limit) {
  CAF_CHECK(parse_client_frame(nested(127)));
  CAF_CHECK(!parse_client_frame(nested(128)));
  // Brackets inside strings do not count as nesting.
  auto in_string = R"({"event":"e","data":")" + std::string(1000, '[') + "\"}";
  CAF_CHECK(parse_client_frame(in_string));
}

CAF_TEST(a frame truncated at any byte never parses and never crashes) {
  const std::string frames[] = {
    R"({"event":"pusher:subscribe","data":{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4","channel":"private-foobar"}})",
    R"({"event":"pusher:subscribe","data":{"auth":"k:s","channel_data":"{\"user_id\":10,\"user_info\":{\"name\":\"Mr. Channels\"}}","channel":"presence-room"}})",
    R"({"event":"client-typing","channel":"private-chat","data":{"n":-12.5e-3,"ok":true,"none":null,"s":"\u00e9\n"}})",
    R"({"event":"pusher:signin","data":"{\"auth\":\"k:s\",\"user_data\":\"{\\\"id\\\":\\\"1\\\"}\"}"})",
  };
  for (const auto& full : frames) {
    for (std::size_t len = 0; len <= full.size(); ++len) {
      auto parsed = parse_client_frame(full.substr(0, len));
      if (len < full.size()) {
        CAF_CHECK(!parsed);
        CAF_CHECK(starts_with(parsed.error.message, "Invalid JSON"));
      } else {
        CAF_CHECK(parsed);
      }
    }
  }
}

CAF_TEST(a frame with any one byte corrupted never crashes the parsers) {
  const std::string full
    = R"({"event":"pusher:subscribe","data":{"auth":"k:s","channel_data":"{\"user_id\":\"1\"}","channel":"presence-x"}})";
  const char garbage[] = {'"', '\\', '{',    '}',    '[', ':',
                          ',', '\0', '\x80', '\xff', '\n'};
  std::size_t parsed_ok = 0;
  for (std::size_t i = 0; i < full.size(); ++i) {
    for (auto g : garbage) {
      auto text = full;
      text[i] = g;
      auto parsed = parse_client_frame(text);
      if (!parsed) {
        CAF_CHECK(!parsed.error.message.empty());
        continue;
      }
      ++parsed_ok;
      // Whatever parsed must also go through the data parsers and encoders.
      CAF_CHECK(is_valid_json(parsed->data) || parsed->data.empty());
      if (auto sub = parse_subscribe(*parsed); sub && sub->channel_data)
        parse_channel_data(*sub->channel_data);
      CAF_CHECK(is_valid_json(encode_event(
        parsed->event, parsed->channel, parsed->data, data_format::as_string)));
    }
  }
  CAF_CHECK_GREATER(parsed_ok, 0u);
}

// -- system event data --------------------------------------------------------

CAF_TEST(parse_subscribe reads object and data string forms) {
  struct sub_case {
    std::string text;
    std::string channel;
    std::string auth;
    std::optional<std::string> channel_data;
  };
  const sub_case cases[] = {
    {R"({"event":"pusher:subscribe","data":{"auth":"","channel":"my-channel"}})",
     "my-channel", "", std::nullopt},
    {R"({"event":"pusher:subscribe","data":{"channel":"my-channel"}})",
     "my-channel", "", std::nullopt},
    {R"({"event":"pusher:subscribe","data":{"auth":null,"channel":"c"}})", "c",
     "", std::nullopt},
    {R"({"event":"pusher:subscribe","data":{"auth":"key:abc","channel":"private-foo"}})",
     "private-foo", "key:abc", std::nullopt},
    // channel_data is kept byte for byte, spaces and key order included.
    {R"({"event":"pusher:subscribe","data":{"auth":"k:s","channel_data":"{\"user_info\": {\"name\":\"Mr. Channels\"}, \"user_id\": 10}","channel":"presence-room"}})",
     "presence-room", "k:s",
     std::string{R"({"user_info": {"name":"Mr. Channels"}, "user_id": 10})"}},
    {R"({"event":"pusher:subscribe","data":{"channel":"presence-x","channel_data":null}})",
     "presence-x", "", std::nullopt},
    // Some clients send an object; it is re-serialized compactly.
    {R"({"event":"pusher:subscribe","data":{"channel":"presence-x","channel_data":{"user_id":"1", "user_info":{}}}})",
     "presence-x", "", std::string{R"({"user_id":"1","user_info":{}})"}},
    {R"({"event":"pusher:subscribe","data":"{\"channel\":\"private-y\",\"auth\":\"k:s\"}"})",
     "private-y", "k:s", std::nullopt},
    {R"({"event":"pusher:subscribe","data":"{\"channel\":\"presence-z\",\"channel_data\":\"{\\\"user_id\\\":\\\"7\\\"}\"}"})",
     "presence-z", "", std::string{R"({"user_id":"7"})"}},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("frame " << c.text);
    auto sub = parse_subscribe(frame_of(c.text));
    CAF_REQUIRE(sub);
    CAF_CHECK_EQUAL(sub->channel, c.channel);
    CAF_CHECK_EQUAL(sub->auth, c.auth);
    CAF_CHECK(sub->channel_data == c.channel_data);
  }
}

CAF_TEST(parse_subscribe rejects data without a usable channel) {
  struct bad_case {
    std::string text;
    std::string message;
  };
  const bad_case cases[] = {
    {R"({"event":"pusher:subscribe"})", "pusher:subscribe has no data"},
    {R"({"event":"pusher:subscribe","data":""})",
     "pusher:subscribe has no data"},
    {R"({"event":"pusher:subscribe","data":["c"]})",
     "pusher:subscribe data must be a JSON object"},
    {R"({"event":"pusher:subscribe","data":null})",
     "pusher:subscribe data must be a JSON object"},
    {R"({"event":"pusher:subscribe","data":"[1]"})",
     "pusher:subscribe data must be a JSON object"},
    {R"({"event":"pusher:subscribe","data":"{\"channel\":"})",
     "pusher:subscribe data: Invalid JSON: syntax error at byte 12"},
    {R"({"event":"pusher:subscribe","data":{}})",
     "pusher:subscribe data has no string channel"},
    {R"({"event":"pusher:subscribe","data":{"channel":7}})",
     "pusher:subscribe data has no string channel"},
    {R"({"event":"pusher:subscribe","data":{"channel":"c","auth":1}})",
     "pusher:subscribe auth must be a string"},
    {R"({"event":"pusher:subscribe","data":{"channel":"c","channel_data":10}})",
     "pusher:subscribe channel_data must be a string"},
    {R"({"event":"pusher:subscribe","data":{"channel":"c","channel_data":["x"]}})",
     "pusher:subscribe channel_data must be a string"},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("frame " << c.text);
    auto sub = parse_subscribe(frame_of(c.text));
    CAF_CHECK(!sub);
    CAF_CHECK_EQUAL(sub.error.code, 0);
    CAF_CHECK_EQUAL(sub.error.message, c.message);
  }
}

CAF_TEST(parse_unsubscribe reads the channel) {
  auto ok = parse_unsubscribe(frame_of(
    R"({"event":"pusher:unsubscribe","data":{"channel":"my-channel"}})"));
  CAF_REQUIRE(ok);
  CAF_CHECK_EQUAL(*ok, "my-channel");
  auto as_string = parse_unsubscribe(
    frame_of(R"({"event":"pusher:unsubscribe","data":"{\"channel\":\"c\"}"})"));
  CAF_REQUIRE(as_string);
  CAF_CHECK_EQUAL(*as_string, "c");
  const std::string bad[] = {
    R"({"event":"pusher:unsubscribe"})",
    R"({"event":"pusher:unsubscribe","data":{}})",
    R"({"event":"pusher:unsubscribe","data":{"channel":1}})",
    R"({"event":"pusher:unsubscribe","data":"x"})",
    R"({"event":"pusher:unsubscribe","channel":"c"})",
  };
  for (const auto& text : bad)
    CAF_CHECK(!parse_unsubscribe(frame_of(text)));
}

CAF_TEST(parse_signin keeps user_data byte for byte) {
  auto ok = parse_signin(frame_of(
    R"({"event":"pusher:signin","data":{"auth":"k:s","user_data":"{\"id\":\"12345\", \"watchlist\":[\"7\"]}"}})"));
  CAF_REQUIRE(ok);
  CAF_CHECK_EQUAL(ok->auth, "k:s");
  CAF_CHECK_EQUAL(ok->user_data, R"({"id":"12345", "watchlist":["7"]})");
  auto as_string = parse_signin(frame_of(
    R"({"event":"pusher:signin","data":"{\"auth\":\"k:s\",\"user_data\":\"{}\"}"})"));
  CAF_REQUIRE(as_string);
  CAF_CHECK_EQUAL(as_string->user_data, "{}");
  struct bad_case {
    std::string text;
    std::string message;
  };
  const bad_case bad[] = {
    {R"({"event":"pusher:signin","data":{"user_data":"{}"}})",
     "pusher:signin data has no string auth"},
    {R"({"event":"pusher:signin","data":{"auth":"k:s"}})",
     "pusher:signin data has no string user_data"},
    {R"({"event":"pusher:signin","data":{"auth":"k:s","user_data":{"id":"1"}}})",
     "pusher:signin data has no string user_data"},
    {R"({"event":"pusher:signin","data":[]})",
     "pusher:signin data must be a JSON object"},
  };
  for (const auto& c : bad) {
    auto res = parse_signin(frame_of(c.text));
    CAF_CHECK(!res);
    CAF_CHECK_EQUAL(res.error.message, c.message);
  }
}

CAF_TEST(parse_channel_data reads user_id as a string and user_info as JSON) {
  struct data_case {
    std::string text;
    std::string user_id;
    std::string user_info;
  };
  const data_case cases[] = {
    {R"({"user_id":"42","user_info":{"name":"Ann"}})", "42",
     R"({"name":"Ann"})"},
    {R"({"user_id":10,"user_info":{"name":"Mr. Channels"}})", "10",
     R"({"name":"Mr. Channels"})"},
    {R"({"user_id":-5})", "-5", ""},
    {R"({"user_id":18446744073709551615})", "18446744073709551615", ""},
    {R"({"user_id":"x","user_info":null})", "x", "null"},
    {R"({"user_id":"x","user_info":"plain"})", "x", R"("plain")"},
    {R"({ "user_info" : [ 1 , 2 ] , "user_id" : "x" })", "x", "[1,2]"},
    {R"({"user_id":")" + std::string(128, 'u') + R"("})", std::string(128, 'u'),
     ""},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("channel_data " << c.text);
    auto member = parse_channel_data(c.text);
    CAF_REQUIRE(member);
    CAF_CHECK_EQUAL(member->user_id, c.user_id);
    CAF_CHECK_EQUAL(member->user_info, c.user_info);
  }
}

CAF_TEST(parse_channel_data rejects bad ids and oversized data) {
  struct bad_case {
    std::string text;
    std::string message_prefix;
  };
  const bad_case cases[] = {
    {"", "channel_data: Invalid JSON"},
    {"{\"user_id\":", "channel_data: Invalid JSON"},
    {"\xff\xfe", "channel_data: Invalid JSON"},
    {R"(["user_id"])", "channel_data must be a JSON object"},
    {R"("{\"user_id\":\"1\"}")", "channel_data must be a JSON object"},
    {R"({})", "channel_data has no user_id"},
    {R"({"id":"1"})", "channel_data has no user_id"},
    {R"({"user_id":""})", "user_id is empty"},
    {R"({"user_id":1.5})", "user_id must be a string or an integer"},
    {R"({"user_id":true})", "user_id must be a string or an integer"},
    {R"({"user_id":null})", "user_id must be a string or an integer"},
    {R"({"user_id":{"id":1}})", "user_id must be a string or an integer"},
    {R"({"user_id":["1"]})", "user_id must be a string or an integer"},
    {R"({"user_id":")" + std::string(129, 'u') + R"("})",
     "user_id is longer than 128 characters"},
    {R"({"user_id":"1","user_info":")" + std::string(1024, 'i') + R"("})",
     "channel_data is longer than 1024 bytes"},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("channel_data " << c.text.substr(0, 60));
    auto member = parse_channel_data(c.text);
    CAF_CHECK(!member);
    CAF_CHECK_EQUAL(member.error.code, 0);
    CAF_CHECK(starts_with(member.error.message, c.message_prefix));
  }
}

CAF_TEST(parse_channel_data honours custom limits) {
  CAF_CHECK(parse_channel_data(R"({"user_id":"abcd"})", 4, 18));
  CAF_CHECK(!parse_channel_data(R"({"user_id":"abcde"})", 4, 100));
  CAF_CHECK(!parse_channel_data(R"({"user_id":"abcd"})", 4, 17));
  CAF_CHECK(!parse_channel_data(R"({"user_id":12345})", 4, 100));
}

CAF_TEST(parse_user_data_id needs a non empty string id) {
  auto ok = parse_user_data_id(R"({"id":"12345","user_info":{"name":"Ann"}})");
  CAF_REQUIRE(ok);
  CAF_CHECK_EQUAL(*ok, "12345");
  const std::string bad[] = {
    "",
    "{",
    "[]",
    R"("12345")",
    R"({})",
    R"({"id":""})",
    R"({"id":12345})",
    R"({"id":null})",
    R"({"user_id":"1"})",
  };
  for (const auto& text : bad) {
    CAF_MESSAGE("user_data " << text);
    CAF_CHECK(!parse_user_data_id(text));
  }
}

// -- encoders -----------------------------------------------------------------

CAF_TEST(system frames have the exact Pusher shapes) {
  struct encode_case {
    std::string actual;
    std::string expected;
  };
  std::vector<presence_member> members{{"1", R"({"name":"a"})"}, {"2", ""}};
  const encode_case cases[] = {
    {encode_connection_established("1.2", 120),
     R"({"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"})"},
    {encode_error(4001, "App key x not in this cluster"),
     R"({"event":"pusher:error","data":{"code":4001,"message":"App key x not in this cluster"}})"},
    {encode_error(0, "Existing subscription to channel x"),
     R"({"event":"pusher:error","data":{"code":null,"message":"Existing subscription to channel x"}})"},
    {encode_error(4009, "bad", "private-x"),
     R"({"event":"pusher:error","channel":"private-x","data":{"code":4009,"message":"bad"}})"},
    {encode_error(4301, "say \"hi\"\n"),
     R"({"event":"pusher:error","data":{"code":4301,"message":"say \"hi\"\n"}})"},
    {encode_ping(), R"({"event":"pusher:ping","data":{}})"},
    {encode_pong(), R"({"event":"pusher:pong","data":{}})"},
    {encode_subscription_succeeded("c", "{}"),
     R"({"event":"pusher_internal:subscription_succeeded","channel":"c","data":"{}"})"},
    {encode_presence_data(members),
     R"({"presence":{"ids":["1","2"],"hash":{"1":{"name":"a"},"2":null},"count":2}})"},
    {encode_presence_data({}),
     R"({"presence":{"ids":[],"hash":{},"count":0}})"},
    {encode_subscription_succeeded("presence-room",
                                   encode_presence_data(members)),
     R"({"event":"pusher_internal:subscription_succeeded","channel":"presence-room","data":"{\"presence\":{\"ids\":[\"1\",\"2\"],\"hash\":{\"1\":{\"name\":\"a\"},\"2\":null},\"count\":2}}"})"},
    {encode_subscription_error("c", "AuthError", "msg", 401),
     R"({"event":"pusher:subscription_error","channel":"c","data":{"type":"AuthError","error":"msg","status":401}})"},
    {encode_member_added("presence-room", {"42", R"({"name":"Ann"})"}),
     R"({"event":"pusher_internal:member_added","channel":"presence-room","data":"{\"user_id\":\"42\",\"user_info\":{\"name\":\"Ann\"}}"})"},
    {encode_member_added("presence-room", {"42", ""}),
     R"({"event":"pusher_internal:member_added","channel":"presence-room","data":"{\"user_id\":\"42\"}"})"},
    {encode_member_removed("presence-room", "42"),
     R"({"event":"pusher_internal:member_removed","channel":"presence-room","data":"{\"user_id\":\"42\"}"})"},
    {encode_cache_miss("cache-prices"),
     R"({"event":"pusher:cache_miss","channel":"cache-prices","data":"{}"})"},
    {encode_subscription_count("my-channel", 3),
     R"({"event":"pusher_internal:subscription_count","channel":"my-channel","data":"{\"subscription_count\":3}"})"},
    {encode_signin_success(R"({"id":"12345"})"),
     R"({"event":"pusher:signin_success","data":"{\"user_data\":\"{\\\"id\\\":\\\"12345\\\"}\"}"})"},
  };
  for (const auto& c : cases) {
    CAF_CHECK_EQUAL(c.actual, c.expected);
    CAF_CHECK(is_valid_json(c.actual));
  }
}

CAF_TEST(encode_event writes data as a string or as raw JSON) {
  struct event_case {
    std::string actual;
    std::string expected;
  };
  const event_case cases[] = {
    {encode_event("my-event", "my-channel", R"({"hello":"world"})",
                  data_format::as_string),
     R"({"event":"my-event","channel":"my-channel","data":"{\"hello\":\"world\"}"})"},
    {encode_event("price-updated", "cache-prices", R"({"p":1})",
                  data_format::as_string),
     R"({"event":"price-updated","channel":"cache-prices","data":"{\"p\":1}"})"},
    {encode_event("e", "c", "plain text", data_format::as_string),
     R"({"event":"e","channel":"c","data":"plain text"})"},
    {encode_event("e", "c", "", data_format::as_string),
     R"({"event":"e","channel":"c","data":""})"},
    {encode_event("client-typing", "private-chat", R"({"who":"ann"})",
                  data_format::as_json),
     R"({"event":"client-typing","channel":"private-chat","data":{"who":"ann"}})"},
    {encode_event("client-typing", "presence-room", R"({"who":"ann"})",
                  data_format::as_json, "42"),
     R"({"event":"client-typing","channel":"presence-room","data":{"who":"ann"},"user_id":"42"})"},
    {encode_event("client-x", "presence-room", R"("str")", data_format::as_json,
                  "42"),
     R"({"event":"client-x","channel":"presence-room","data":"str","user_id":"42"})"},
    {encode_event("client-x", "private-c", "", data_format::as_json),
     R"({"event":"client-x","channel":"private-c"})"},
    {encode_event("user-event", "", "hi", data_format::as_string),
     R"({"event":"user-event","data":"hi"})"},
    {encode_event("App\\Events\\Foo", "c", "d", data_format::as_string),
     R"({"event":"App\\Events\\Foo","channel":"c","data":"d"})"},
    {encode_event("e", "c", "d", data_format::as_string, "u\"1"),
     R"({"event":"e","channel":"c","data":"d","user_id":"u\"1"})"},
  };
  for (const auto& c : cases) {
    CAF_CHECK_EQUAL(c.actual, c.expected);
    CAF_CHECK(is_valid_json(c.actual));
  }
}

CAF_TEST(encoded frames decode back to their inputs) {
  const std::string nasty[] = {
    "",
    "plain",
    "quote\" backslash\\ slash/",
    "\b\f\n\r\t",
    std::string("nul\0byte", 8),
    "\x01\x1f\x7f",
    "caf\xc3\xa9 \xf0\x9f\x98\x80",
    R"({"json":"inside","n":[1,2]})",
  };
  for (const auto& s : nasty) {
    auto event = json::parse(encode_event(s, s, s, data_format::as_string, s));
    CAF_CHECK_EQUAL(event["event"].get<std::string>(), s);
    CAF_CHECK_EQUAL(event["data"].get<std::string>(), s);
    auto error = json::parse(encode_error(4301, s, "c"));
    CAF_CHECK_EQUAL(error["data"]["message"].get<std::string>(), s);
    auto signin = json::parse(encode_signin_success(s));
    auto data = json::parse(signin["data"].get<std::string>());
    CAF_CHECK_EQUAL(data["user_data"].get<std::string>(), s);
    auto removed = json::parse(encode_member_removed("presence-x", s));
    auto removed_data = json::parse(removed["data"].get<std::string>());
    CAF_CHECK_EQUAL(removed_data["user_id"].get<std::string>(), s);
  }
}

CAF_TEST(json_quote escapes quotes backslashes and control characters) {
  struct quote_case {
    std::string in;
    std::string out;
  };
  const quote_case cases[] = {
    {"", R"("")"},
    {"abc", R"("abc")"},
    {"a\"b", R"("a\"b")"},
    {"a\\b", R"("a\\b")"},
    {"a/b", R"("a/b")"},
    {"\n\r\t\b\f", R"("\n\r\t\b\f")"},
    {std::string("\0", 1), R"("\u0000")"},
    {"\x01\x1f", R"("\u0001\u001f")"},
    {"\x7f", "\"\x7f\""},
    {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
    {"\xff", "\"\xff\""},
    {R"({"a":"b"})", R"("{\"a\":\"b\"}")"},
  };
  for (const auto& c : cases)
    CAF_CHECK_EQUAL(json_quote(c.in), c.out);
}

CAF_TEST(is_valid_json accepts exactly one JSON value) {
  struct valid_case {
    std::string text;
    bool valid;
  };
  const valid_case cases[] = {
    {"{}", true},        {"[]", true},
    {R"("str")", true},  {"42", true},
    {"-1.5e10", true},   {"null", true},
    {" true ", true},    {R"({"a":[1,{"b":null}]})", true},
    {"", false},         {"{", false},
    {"{}{}", false},     {"{} x", false},
    {"'a'", false},      {"NaN", false},
    {"01", false},       {"plain text", false},
    {"\"\xff\"", false}, {std::string("{}\0", 3), false},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("text " << c.text);
    CAF_CHECK_EQUAL(is_valid_json(c.text), c.valid);
  }
}

CAF_TEST(presence data ids come back from encode_presence_data) {
  std::vector<presence_member> members{{"1", R"({"name":"a"})"}, {"two", ""}};
  CAF_CHECK_EQUAL(presence_data_ids(encode_presence_data(members)),
                  (std::vector<std::string>{"1", "two"}));
  CAF_CHECK(presence_data_ids(encode_presence_data({})).empty());
  for (auto bad : {"", "{}", "[]", R"({"presence":1})", R"({"presence":{"ids":3}})",
                   "{\"presence\":{\"ids\":[\"a\""})
    CAF_CHECK(presence_data_ids(bad).empty());
}

CAF_TEST(member data user ids come back from member events) {
  CAF_CHECK_EQUAL(member_data_user_id(R"({"user_id":"42","user_info":{"a":1}})"),
                  "42");
  CAF_CHECK_EQUAL(member_data_user_id(R"({"user_id":"x\"y"})"), "x\"y");
  for (auto bad : {"", "{}", R"({"user_id":4})", "[", "null"})
    CAF_CHECK_EQUAL(member_data_user_id(bad), "");
}
