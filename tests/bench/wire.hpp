// Bench wire helpers for starling_loadgen: minimal RFC 6455 client framing, the
// HTTP/1.1 upgrade and response heads, and Pusher REST signing. Pure, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace starling::bench {

/// WebSocket opcodes (RFC 6455 §5.2).
enum class ws_opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// Outcome of an incremental parse step.
enum class parse_status { ok, need_more, error };

/// One WebSocket frame; `payload` points into the parsed buffer.
struct ws_frame {
  bool fin = false;
  ws_opcode opcode = ws_opcode::text;
  std::string_view payload;
};

/// Largest frame payload the parser accepts; bench events are far smaller.
constexpr uint64_t max_frame_payload = 64u << 20;

/// Appends one frame with FIN set to `out`; masks the payload when `masked`
/// (clients must mask, RFC 6455 §5.3; servers must not).
void append_frame(std::string& out, ws_opcode op, std::string_view payload,
                  bool masked, uint32_t mask_key);

/// Parses one frame at the start of `data` and unmasks it in place if it is
/// masked. On ok, `consumed` is the frame's total size.
parse_status parse_frame(char* data, size_t size, ws_frame& frame,
                         size_t& consumed);

/// Returns the base64 Sec-WebSocket-Key for 16 random bytes given as two words.
std::string make_ws_key(uint64_t a, uint64_t b);

/// Returns the Sec-WebSocket-Accept a server must answer for `key` (§4.2.2).
std::string ws_accept_for(std::string_view key);

/// Returns the GET upgrade request for `target` on `host_port`.
std::string upgrade_request(std::string_view host_port, std::string_view target,
                            std::string_view key);

/// Head of an HTTP/1.1 response.
struct http_head {
  int status = 0;              ///< Status code, e.g. 101 or 200.
  int64_t content_length = -1; ///< -1 when absent.
  bool chunked = false;        ///< Transfer-Encoding: chunked.
  bool close = false;          ///< Connection: close.
  std::string_view accept;     ///< Sec-WebSocket-Accept value, if any.
  size_t head_size = 0;        ///< Bytes up to and including CRLFCRLF.
};

/// Parses a response head at the start of `in`.
parse_status parse_http_head(std::string_view in, http_head& head);

/// Measures a chunked body at the start of `in`; sets `consumed` on ok.
parse_status measure_chunked_body(std::string_view in, size_t& consumed);

/// Returns lowercase hex MD5 of `data`.
std::string hex_md5(std::string_view data);

/// Returns lowercase hex HMAC-SHA256 of `msg` under `key`.
std::string hex_hmac_sha256(std::string_view key, std::string_view msg);

/// Returns the signed request target for POST /apps/<id>/events with `body`
/// (Pusher REST auth, protocol reference §6.1): path plus sorted auth query.
std::string signed_events_target(std::string_view app_id, std::string_view key,
                                 std::string_view secret, std::string_view body,
                                 int64_t unix_seconds);

/// Returns the publish body {"name","channels":[..],"data":"<data string>"}
/// whose data string is `{"t":<t_ns>,"i":<seq>,"f":"xx.."}` padded to about
/// `payload_bytes` (never below the fixed part).
std::string make_event_body(std::string_view event, std::string_view channel,
                            int64_t t_ns, int64_t seq, int payload_bytes);

/// The same for several channels (one Pusher trigger, at most 100 channels).
std::string make_event_body(std::string_view event,
                            const std::vector<std::string_view>& channels,
                            int64_t t_ns, int64_t seq, int payload_bytes);

/// Finds the publisher's send time ("t":<ns>, plain or inside a data string)
/// in a delivered frame; returns false when absent.
bool extract_send_time(std::string_view frame, int64_t& t_ns);

/// Finds the publisher's sequence number ("i":<n>) in a delivered frame.
bool extract_seq(std::string_view frame, int64_t& seq);

/// Returns true when `hay` contains `needle` (memmem).
bool contains(std::string_view hay, std::string_view needle);

} // namespace starling::bench
