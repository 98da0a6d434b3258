// Fuzz target: a client's WebSocket text frame through the Pusher frame
// parser and the parsers of what its data carries (subscribe, signin,
// presence channel_data, user_data), then back through the encoder.

#include "tests/fuzz/check.hpp"

#include <string>
#include <string_view>

#include "pusher/frame.hpp"

using namespace starling::pusher;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  // The data parsers also see raw bytes: the owner parses channel_data and
  // user_data that came in as strings, not only as parts of a frame.
  parse_channel_data(text);
  parse_user_data(text);
  presence_data_ids(text);
  member_data_user_id(text);
  auto frame = parse_client_frame(text);
  if (!frame) {
    STARLING_FUZZ_CHECK(frame.error.code != 0 || !frame.error.message.empty());
    return 0;
  }
  parse_subscribe(*frame);
  parse_unsubscribe(*frame);
  parse_signin(*frame);
  if (frame->data_string) {
    parse_channel_data(*frame->data_string);
    parse_user_data(*frame->data_string);
  }
  // Everything the parser returns came out of valid JSON, so re-encoding it
  // must give valid JSON again: what a relayed client event looks like.
  STARLING_FUZZ_CHECK(frame->data.empty() || is_valid_json(frame->data));
  auto relayed = encode_event(frame->event, frame->channel,
                              frame->data.empty() ? "{}" : frame->data,
                              data_format::as_json);
  STARLING_FUZZ_CHECK(is_valid_json(relayed));
  auto published = encode_event(frame->event, frame->channel, frame->data,
                                data_format::as_string);
  STARLING_FUZZ_CHECK(is_valid_json(published));
  return 0;
}
