// Unit tests for pusher/signature: hashes, the Pusher test vectors
// for channel auth, sign-in, REST and webhooks, and REST request checks.
#define CAF_SUITE pusher_signature
#include <caf/test/unit_test.hpp>

#include "pusher/signature.hpp"

#include <set>
#include <string>

using namespace starling::pusher;

namespace {

// Pusher protocol §3 test credentials.
constexpr std::string_view key = "278d425bdf160c739803";
constexpr std::string_view secret = "7ad3773142a6692b25b8";
constexpr std::string_view socket = "1234.1234";
constexpr int64_t ts = 1353088179;

std::string auth_of(std::string_view signature) {
  return std::string{key} + ":" + std::string{signature};
}

// The body of the §6.1 trigger vector.
const std::string trigger_body
  = R"({"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"})";

} // namespace

// -- primitives ---------------------------------------------------------------

CAF_TEST(hmac_sha256_hex matches RFC 4231 and the webhook vector) {
  CAF_CHECK_EQUAL(
    hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CAF_CHECK_EQUAL(
    hmac_sha256_hex("", ""),
    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  // Pusher protocol §7.1: X-Pusher-Signature over the raw webhook body.
  CAF_CHECK_EQUAL(
    hmac_sha256_hex(
      secret,
      R"({"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test-channel"}]})"),
    "5dd6562a9f744b72a688bcdfea41c14c2c56d12c44c99e32c08face4cc1e8aeb");
}

CAF_TEST(md5_hex matches RFC 1321 and the REST body vectors) {
  CAF_CHECK_EQUAL(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  CAF_CHECK_EQUAL(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  CAF_CHECK_EQUAL(md5_hex("{}"), "99914b932bd37a50b983c5e7c90ae93b");
  CAF_CHECK_EQUAL(md5_hex(trigger_body), "ec365a775a4cd0599faeb73354201b6f");
}

CAF_TEST(constant_time_equal compares content and length) {
  CAF_CHECK(constant_time_equal("", ""));
  CAF_CHECK(constant_time_equal("abc", "abc"));
  CAF_CHECK(!constant_time_equal("abc", "abd"));
  CAF_CHECK(!constant_time_equal("abc", "ab"));
  CAF_CHECK(!constant_time_equal("", "a"));
  CAF_CHECK(!constant_time_equal("abc", "ABC"));
  CAF_CHECK(
    constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  CAF_CHECK(
    !constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

// -- channel and user auth ----------------------------------------------------

CAF_TEST(channel auth test vectors verify) {
  // Private: the Pusher docs' own vector.
  CAF_CHECK_EQUAL(
    hmac_sha256_hex(secret, "1234.1234:private-foobar"),
    "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4");
  CAF_CHECK(verify_channel_auth(
    key, secret, socket, "private-foobar", "", false,
    auth_of(
      "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4")));
  // Presence: channel_data is signed byte for byte.
  CAF_CHECK(verify_channel_auth(
    key, secret, socket, "presence-foobar",
    R"({"user_id":10,"user_info":{"name":"Mr. Channels"}})", true,
    auth_of(
      "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80")));
  // Encrypted: signed like private (§2.10).
  CAF_CHECK(verify_channel_auth(
    key, secret, socket, "private-encrypted-foo", "", false,
    auth_of(
      "e85caab4331194145d44feae15aea9539ea50631afacbc593a9555ceadc42357")));
}

CAF_TEST(channel auth fails on any mismatch) {
  const std::string sig
    = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4";
  const std::string bad_auths[] = {
    "",
    sig,
    ":" + sig,
    "wrongkey:" + sig,
    std::string{key} + sig,
    auth_of(""),
    auth_of(sig.substr(1)),
    auth_of(sig + "0"),
    auth_of(sig + " "),
    auth_of("58DF8B0C36D6982B82C3ECF6B4662E34FE8C25BBA48F5369F135BF843651C3A4"),
    auth_of("68df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"),
    std::string{key} + "::user::" + sig,
  };
  for (const auto& auth : bad_auths) {
    CAF_MESSAGE("auth " << auth);
    CAF_CHECK(!verify_channel_auth(key, secret, socket, "private-foobar", "",
                                   false, auth));
  }
  // Right auth, wrong context.
  auto good = auth_of(sig);
  CAF_CHECK(!verify_channel_auth(key, secret, "1234.1235", "private-foobar", "",
                                 false, good));
  CAF_CHECK(!verify_channel_auth(key, secret, socket, "private-foobaz", "",
                                 false, good));
  CAF_CHECK(!verify_channel_auth(key, "other-secret", socket, "private-foobar",
                                 "", false, good));
  CAF_CHECK(!verify_channel_auth(key, secret, socket, "private-foobar", "",
                                 true, good));
  // Re-serialized channel_data no longer matches the signature.
  CAF_CHECK(!verify_channel_auth(
    key, secret, socket, "presence-foobar",
    R"({"user_id":10,"user_info":{"name":"Mr. Pusher"}})", true,
    auth_of(
      "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80")));
  CAF_CHECK(!verify_channel_auth(
    key, secret, socket, "presence-foobar",
    R"({"user_id": 10,"user_info":{"name":"Mr. Channels"}})", true,
    auth_of(
      "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80")));
}

CAF_TEST(user auth test vector verifies) {
  const std::string sig
    = "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba";
  CAF_CHECK_EQUAL(hmac_sha256_hex(secret, R"(1234.1234::user::{"id":"12345"})"),
                  sig);
  CAF_CHECK(
    verify_user_auth(key, secret, socket, R"({"id":"12345"})", auth_of(sig)));
  CAF_CHECK(
    !verify_user_auth(key, secret, socket, R"({"id":"12346"})", auth_of(sig)));
  CAF_CHECK(
    !verify_user_auth(key, secret, "1.2", R"({"id":"12345"})", auth_of(sig)));
  CAF_CHECK(!verify_user_auth("otherkey", secret, socket, R"({"id":"12345"})",
                              auth_of(sig)));
  // The protocol page's "<key>::user::<sig>" form is a documentation error.
  CAF_CHECK(!verify_user_auth(key, secret, socket, R"({"id":"12345"})",
                              std::string{key} + "::user::" + sig));
}

// -- REST ---------------------------------------------------------------------

CAF_TEST(parse_query splits and percent decodes) {
  struct query_case {
    std::string query;
    query_params params;
  };
  const query_case cases[] = {
    {"", {}},
    {"a=1&b=%2C", {{"a", "1"}, {"b", ","}}},
    {"a", {{"a", ""}}},
    {"a=", {{"a", ""}}},
    {"=x", {{"", "x"}}},
    {"a=1=2", {{"a", "1=2"}}},
    {"&&a=1&", {{"a", "1"}}},
    {"a+b=c+d", {{"a+b", "c+d"}}},
    {"%41%62=%63%2c%2C", {{"Ab", "c,,"}}},
    {"a=%zz&b=%4&c=%", {{"a", "%zz"}, {"b", "%4"}, {"c", "%"}}},
    {"a=%2", {{"a", "%2"}}},
    {"a=%%41", {{"a", "%A"}}},
    {"a=%26b", {{"a", "&b"}}},
    {"channels[]=a&channels[]=b", {{"channels[]", "a"}, {"channels[]", "b"}}},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("query " << c.query);
    CAF_CHECK(parse_query(c.query) == c.params);
  }
}

CAF_TEST(find_param returns the first value or null) {
  auto params = parse_query("a=1&b=2&a=3");
  CAF_REQUIRE(find_param(params, "a") != nullptr);
  CAF_CHECK_EQUAL(*find_param(params, "a"), "1");
  CAF_CHECK_EQUAL(*find_param(params, "b"), "2");
  CAF_CHECK(find_param(params, "c") == nullptr);
  CAF_CHECK(find_param(params, "A") == nullptr);
}

CAF_TEST(rest_string_to_sign sorts lowercased keys and drops the signature) {
  auto params = parse_query(
    "info=user_count&auth_signature=xyz&auth_version=1.0"
    "&filter_by_prefix=presence-"
    "&auth_key=278d425bdf160c739803"
    "&auth_timestamp=1353088179");
  CAF_CHECK_EQUAL(rest_string_to_sign("GET", "/apps/3/channels", params),
                  "GET\n/apps/3/channels\nauth_key=278d425bdf160c739803"
                  "&auth_timestamp=1353088179&auth_version=1.0"
                  "&filter_by_prefix=presence-&info=user_count");
  CAF_CHECK_EQUAL(rest_string_to_sign("post", "/p", parse_query("B=2&a=1&b=1")),
                  "POST\n/p\na=1&b=2&b=1");
  CAF_CHECK_EQUAL(rest_string_to_sign(
                    "GET", "/p", parse_query("info=a%2Cb&Auth_Signature=x")),
                  "GET\n/p\ninfo=a,b");
  CAF_CHECK_EQUAL(rest_string_to_sign("GET", "/p", {}), "GET\n/p\n");
}

CAF_TEST(REST test vectors verify) {
  struct rest_case {
    std::string method;
    std::string path;
    std::string query;
    std::string body;
    std::string signature;
  };
  const std::string auth = "auth_key=278d425bdf160c739803"
                           "&auth_timestamp=1353088179&auth_version=1.0";
  const rest_case cases[] = {
    {"POST", "/apps/3/events",
     auth + "&body_md5=ec365a775a4cd0599faeb73354201b6f", trigger_body,
     "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"},
    {"GET", "/apps/3/channels",
     "filter_by_prefix=presence-&info=user_count&" + auth, "",
     "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"},
    {"POST", "/apps/3/users/12345/terminate_connections",
     auth + "&body_md5=99914b932bd37a50b983c5e7c90ae93b", "{}",
     "01fa634edeb0cae84115307cad5c23f65a46cd286461b1c89637a3b5871a8f0e"},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE(c.method << " " << c.path);
    auto params = parse_query(c.query + "&auth_signature=" + c.signature);
    CAF_CHECK_EQUAL(
      hmac_sha256_hex(secret, rest_string_to_sign(c.method, c.path, params)),
      c.signature);
    auto result = verify_rest_request(c.method, c.path, params, c.body, key,
                                      secret, ts);
    CAF_CHECK(result == rest_auth_error::none);
  }
}

CAF_TEST(verify_rest_request names what is wrong) {
  // Fragments of the §6.1 trigger vector's query, to vary one at a time.
  const std::string k = "auth_key=278d425bdf160c739803";
  const std::string t = "&auth_timestamp=1353088179";
  const std::string v = "&auth_version=1.0";
  const std::string m = "&body_md5=ec365a775a4cd0599faeb73354201b6f";
  const std::string sig
    = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c";
  const std::string s = "&auth_signature=" + sig;
  const std::string good = k + t + v + m + s;
  struct verify_case {
    std::string query;
    std::string body;
    int64_t now;
    rest_auth_error expected;
  };
  using e = rest_auth_error;
  const verify_case cases[] = {
    {good, trigger_body, ts, e::none},
    {s + m + v + t + "&" + k, trigger_body, ts, e::none},
    {good, trigger_body, ts + 600, e::none},
    {good, trigger_body, ts - 600, e::none},
    {good, trigger_body, ts + 601, e::stale_timestamp},
    {good, trigger_body, ts - 601, e::stale_timestamp},
    {"", trigger_body, ts, e::missing_param},
    {t + v + m + s, trigger_body, ts, e::missing_param},
    {k + v + m + s, trigger_body, ts, e::missing_param},
    {k + t + m + s, trigger_body, ts, e::missing_param},
    {k + t + v + m, trigger_body, ts, e::missing_param},
    {"AUTH_KEY=278d425bdf160c739803" + t + v + m + s, trigger_body, ts,
     e::missing_param},
    {"auth_key=otherkey" + t + v + m + s, trigger_body, ts, e::wrong_key},
    {k + t + "&auth_version=2.0" + m + s, trigger_body, ts, e::bad_version},
    {k + t + "&auth_version=1" + m + s, trigger_body, ts, e::bad_version},
    {k + "&auth_timestamp=soon" + v + m + s, trigger_body, ts,
     e::stale_timestamp},
    {k + "&auth_timestamp=-1" + v + m + s, trigger_body, ts,
     e::stale_timestamp},
    {k + "&auth_timestamp=" + v + m + s, trigger_body, ts, e::stale_timestamp},
    {k + "&auth_timestamp=99999999999999999999999" + v + m + s, trigger_body,
     ts, e::stale_timestamp},
    {good, trigger_body + " ", ts, e::bad_body_md5},
    {good, "", ts, e::bad_body_md5},
    {k + t + v + s, trigger_body, ts, e::bad_body_md5},
    {k + t + v + "&body_md5=EC365A775A4CD0599FAEB73354201B6F" + s, trigger_body,
     ts, e::bad_body_md5},
    {k + t + v + m + "&auth_signature=" + sig.substr(0, 63) + "d", trigger_body,
     ts, e::bad_signature},
    {k + t + v + m + "&auth_signature=" + sig.substr(0, 63), trigger_body, ts,
     e::bad_signature},
    {good + "&extra=1", trigger_body, ts, e::bad_signature},
  };
  for (const auto& c : cases) {
    CAF_MESSAGE("query " << c.query);
    auto result = verify_rest_request("POST", "/apps/3/events",
                                      parse_query(c.query), c.body, key, secret,
                                      c.now);
    CAF_CHECK_EQUAL(describe(result), describe(c.expected));
  }
  // The same request on another path or method fails the signature.
  auto params = parse_query(good);
  CAF_CHECK(verify_rest_request("POST", "/apps/4/events", params, trigger_body,
                                key, secret, ts)
            == e::bad_signature);
  CAF_CHECK(verify_rest_request("PUT", "/apps/3/events", params, trigger_body,
                                key, secret, ts)
            == e::bad_signature);
  // A narrower window.
  CAF_CHECK(verify_rest_request("POST", "/apps/3/events", params, trigger_body,
                                key, secret, ts + 31, 30)
            == e::stale_timestamp);
}

CAF_TEST(verify_rest_request decodes escaped values before signing) {
  // The SDK signs `info=user_count,subscription_count`; a proxy escaped it.
  const std::string signed_query
    = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179"
      "&auth_version=1.0&info=user_count,subscription_count";
  auto sig = hmac_sha256_hex(
    secret, "GET\n/apps/3/channels/presence-x\n" + signed_query);
  auto params = parse_query(
    "info=user_count%2Csubscription_count&auth_key=278d425bdf160c739803"
    "&auth_timestamp=1353088179&auth_version=1.0&auth_signature="
    + sig);
  CAF_CHECK(verify_rest_request("GET", "/apps/3/channels/presence-x", params,
                                "", key, secret, ts)
            == rest_auth_error::none);
}

CAF_TEST(verify_rest_request checks body_md5 on an empty body when present) {
  auto sign = [](const std::string& query) {
    return query + "&auth_signature="
      + hmac_sha256_hex(secret, "GET\n/apps/3/channels\n" + query);
  };
  const std::string base = "auth_key=278d425bdf160c739803"
                           "&auth_timestamp=1353088179&auth_version=1.0";
  auto empty_md5 = parse_query(
    sign(base + "&body_md5=d41d8cd98f00b204e9800998ecf8427e"));
  CAF_CHECK(verify_rest_request("GET", "/apps/3/channels", empty_md5, "", key,
                                secret, ts)
            == rest_auth_error::none);
  auto wrong_md5 = parse_query(
    sign(base + "&body_md5=99914b932bd37a50b983c5e7c90ae93b"));
  CAF_CHECK(verify_rest_request("GET", "/apps/3/channels", wrong_md5, "", key,
                                secret, ts)
            == rest_auth_error::bad_body_md5);
}

CAF_TEST(describe gives a distinct message for every error) {
  const rest_auth_error errors[] = {
    rest_auth_error::none,
    rest_auth_error::missing_param,
    rest_auth_error::wrong_key,
    rest_auth_error::bad_version,
    rest_auth_error::stale_timestamp,
    rest_auth_error::bad_body_md5,
    rest_auth_error::bad_signature,
  };
  std::set<std::string> messages;
  for (auto error : errors) {
    auto message = describe(error);
    CAF_CHECK(!message.empty());
    messages.insert(message);
  }
  CAF_CHECK_EQUAL(messages.size(), 7u);
  CAF_CHECK(describe(rest_auth_error::bad_signature).find("auth_signature")
            != std::string::npos);
  CAF_CHECK(describe(rest_auth_error::bad_body_md5).find("body_md5")
            != std::string::npos);
}
