// Fuzz target: a name a client or publisher gave through channel and event
// name validation, channel classification, and the reversible encoding of
// names into NATS subject tokens.

#include "tests/fuzz/check.hpp"

#include <string>
#include <string_view>

#include "bridge/subjects.hpp"
#include "pusher/channel_kind.hpp"
#include "pusher/channel_name.hpp"

using namespace starling;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view name{reinterpret_cast<const char*>(data), size};
  bool valid = pusher::validate_channel_name(name, 200).empty();
  if (valid)
    STARLING_FUZZ_CHECK(!name.empty() && name.size() <= 200);
  // A name legal without the user form is legal with it.
  if (pusher::validate_channel_name(name, 200, false).empty())
    STARLING_FUZZ_CHECK(valid);
  pusher::validate_event_name(name, 200);
  auto traits = pusher::classify_channel(name);
  traits.needs_auth();
  traits.has_roster();
  traits.is_internal();
  pusher::user_channel_id(name);
  auto watched = pusher::watchlist_user_id(name);
  if (!watched.empty())
    STARLING_FUZZ_CHECK(pusher::watchlist_channel(watched) == name);

  // Any string maps to one legal token and back (app ids and node ids too).
  auto token = bridge::channel_token(name);
  STARLING_FUZZ_CHECK(bridge::is_subject_token(token));
  STARLING_FUZZ_CHECK(token.size() <= 3 * name.size() + 1);
  auto back = bridge::decode_channel_token(token);
  STARLING_FUZZ_CHECK(back && *back == name);
  // And the input read as a token decodes only to a name that encodes to it.
  if (auto decoded = bridge::decode_channel_token(name))
    STARLING_FUZZ_CHECK(bridge::channel_token(*decoded) == name);
  return 0;
}
