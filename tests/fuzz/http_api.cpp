// Fuzz target: one HTTP API request ("METHOD TARGET\n" then the body) through
// the pure steps rest_api::handle takes: routing, the signature check, the
// method check, the body and query decoders, and the error body encoder.

#include "tests/fuzz/check.hpp"

#include <string>
#include <string_view>

#include "pusher/http_api.hpp"
#include "pusher/signature.hpp"

using namespace starling::pusher;

namespace {

constexpr std::string_view app_key = "278d425bdf160c739803";
constexpr std::string_view app_secret = "7ad3773142a6692b25b8";
constexpr int64_t now_unix = 1353088179; // The protocol doc's example time.

// Every refusal ends as this body: it must encode, whatever the input was.
void check_error_body(const api_error& error) {
  STARLING_FUZZ_CHECK(error.status >= 400 && error.status < 500);
  auto body = encode_api_error(error);
  STARLING_FUZZ_CHECK(!body.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto line_end = input.find('\n');
  auto line = input.substr(0, line_end);
  auto body = line_end == std::string_view::npos ? std::string_view{}
                                                 : input.substr(line_end + 1);
  auto space = line.find(' ');
  if (space == std::string_view::npos)
    return 0;
  auto method = line.substr(0, space);
  auto target = line.substr(space + 1);
  // Targets under /p/ exercise the configured path prefix.
  auto prefix = target.substr(0, 3) == "/p/" ? std::string_view{"/p"}
                                             : std::string_view{};

  api_limits limits;
  if (auto ev = decode_trigger(body, limits); !ev)
    check_error_body(ev.error);
  if (auto batch = decode_batch(body, limits); !batch)
    check_error_body(batch.error);

  auto t = decode_target(target, prefix);
  if (!t) {
    check_error_body(t.error);
    return 0;
  }
  auto auth = verify_rest_request(method, t->path, t->params, body, app_key,
                                  app_secret, now_unix);
  STARLING_FUZZ_CHECK(!describe(auth).empty());
  // rest_api answers an unknown app id with the id in the message.
  check_error_body(api_error{404, "Unknown app id " + t->app_id});

  // Signed with the right secret, the signature is never what is wrong.
  auto signed_params = t->params;
  auto signature = hmac_sha256_hex(
    app_secret, rest_string_to_sign(method, t->path, signed_params));
  bool replaced = false;
  for (auto& [k, v] : signed_params)
    if (k == "auth_signature") {
      v = signature;
      replaced = true;
    }
  if (!replaced)
    signed_params.emplace_back("auth_signature", signature);
  auto resigned = verify_rest_request(method, t->path, signed_params, body,
                                      app_key, app_secret, now_unix);
  STARLING_FUZZ_CHECK(resigned != rest_auth_error::bad_signature);

  if (auto wrong = check_method(t->route, method))
    check_error_body(*wrong);
  if (auto q = decode_channels_query(t->params); !q)
    check_error_body(q.error);
  if (auto q = decode_channel_query(t->channel, t->params, limits); !q)
    check_error_body(q.error);
  if (auto problem = check_users_channel(t->channel, limits))
    check_error_body(*problem);
  return 0;
}
