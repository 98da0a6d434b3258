// RFC 6455 server-side framing: the handshake accept key, frame headers,
// and an incremental parser of client frames. Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace starling::transport::ws {

/// WebSocket opcodes (RFC 6455 §5.2).
enum class ws_opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// Close codes the parser reports (RFC 6455 §7.4.1).
enum ws_close_code : uint16_t {
  ws_normal = 1000,          ///< Normal closure.
  ws_protocol_error = 1002,  ///< Malformed or unmasked frame.
  ws_invalid_payload = 1007, ///< Text that is not UTF-8.
  ws_policy_violation = 1008, ///< E.g. a message left unfinished too long.
  ws_too_big = 1009,         ///< Message over the limit.
};

/// Returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key (§4.2.2).
std::string websocket_accept(std::string_view key);

/// Writes a server frame header (FIN set, unmasked) for a payload of `size`
/// bytes into `out`; returns its length (2, 4 or 10).
std::size_t websocket_header(ws_opcode opcode, uint64_t size, uint8_t out[10]);

/// Returns whether `text` is valid UTF-8 (no overlongs, no surrogates).
bool is_valid_utf8(std::string_view text);

/// One complete client message, or one control frame.
struct ws_message {
  ws_opcode opcode = ws_opcode::text; ///< text, binary, close, ping or pong.
  std::string payload;                ///< Unmasked payload.
};

/// Incremental parser of client frames: requires masking, joins fragments,
/// enforces the message size limit, checks UTF-8 of text messages. Keeps no
/// buffer between frames unless a frame arrives split.
class websocket_parser {
public:
  /// Messages over `max_message` bytes fail with 1009.
  explicit websocket_parser(std::size_t max_message)
    : max_message_(max_message) {
    // nop
  }

  /// Feeds `len` bytes; appends each complete message or control frame to
  /// `out`. Returns 0, or the close code of the first violation (after
  /// which the parser must not be fed again).
  uint16_t feed(const char* data, std::size_t len, std::vector<ws_message>& out);

  /// True while a message is partly received (fragments or a split frame).
  bool mid_message() const {
    return in_message_ || (partial_ && !partial_->pending.empty());
  }

private:
  // Parses whole frames from [data, data+len); returns bytes consumed, or
  // sets `error`.
  std::size_t parse(const char* data, std::size_t len,
                    std::vector<ws_message>& out, uint16_t& error);

  // What a split frame or message leaves between reads; most connections
  // never have one, so it is allocated on first use and freed after.
  struct partial {
    std::string pending;   // A frame split across reads.
    std::string fragments; // A message split across frames.
  };

  partial& partial_buffers();
  void release_if_done();

  std::size_t max_message_;
  std::unique_ptr<partial> partial_; // Null while nothing is split.
  ws_opcode fragment_opcode_ = ws_opcode::text;
  bool in_message_ = false;
};

} // namespace starling::transport::ws
