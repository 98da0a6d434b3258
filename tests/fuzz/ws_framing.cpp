// Fuzz target: bytes from a client socket through the RFC 6455 frame parser,
// fed whole and then split at fuzzer-chosen points; both must agree.

#include "tests/fuzz/check.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include "transport/ws/framing.hpp"

using namespace starling::transport::ws;

namespace {

bool same(const std::vector<ws_message>& a, const std::vector<ws_message>& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].opcode != b[i].opcode || a[i].payload != b[i].payload)
      return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  // Byte 0: the message limit; byte 1: the chunk size of the split feed.
  if (size < 2)
    return 0;
  std::size_t max_message = 1 + (data[0] % 64) * 16;
  std::size_t chunk = 1 + data[1] % 16;
  auto bytes = reinterpret_cast<const char*>(data + 2);
  auto len = size - 2;

  websocket_parser whole{max_message};
  std::vector<ws_message> whole_out;
  auto whole_error = whole.feed(bytes, len, whole_out);
  STARLING_FUZZ_CHECK(whole_error == 0 || whole_error == ws_protocol_error
                      || whole_error == ws_invalid_payload
                      || whole_error == ws_too_big);
  for (const auto& m : whole_out) {
    if (m.opcode == ws_opcode::text || m.opcode == ws_opcode::binary)
      STARLING_FUZZ_CHECK(m.payload.size() <= max_message);
    else // RFC 6455 §5.5: control frames carry at most 125 bytes.
      STARLING_FUZZ_CHECK(m.payload.size() <= 125);
    if (m.opcode == ws_opcode::text)
      STARLING_FUZZ_CHECK(is_valid_utf8(m.payload));
  }

  // TCP splits anywhere: the same bytes in chunks give the same messages.
  websocket_parser split{max_message};
  std::vector<ws_message> split_out;
  uint16_t split_error = 0;
  // The session stops feeding after a close message or an error, as
  // session_input.cpp does; what follows a close is never parsed.
  auto closed = [&] {
    return !split_out.empty() && split_out.back().opcode == ws_opcode::close;
  };
  for (std::size_t at = 0; at < len && split_error == 0 && !closed();
       at += chunk)
    split_error = split.feed(bytes + at, std::min(chunk, len - at), split_out);
  STARLING_FUZZ_CHECK(split_error == whole_error);
  if (whole_error == 0)
    STARLING_FUZZ_CHECK(same(whole_out, split_out));

  is_valid_utf8(std::string_view{bytes, len});
  websocket_accept(std::string_view{bytes, std::min<std::size_t>(len, 64)});
  return 0;
}
