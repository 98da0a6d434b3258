// WebSocket session, inbound side (session.hpp): reading with flow
// control, frames to the connection actor, the close handshake and
// protocol violations. Runs on the I/O thread.
#include "transport/ws/session.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <boost/asio/post.hpp>
#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "transport/server_context.hpp"
#include "transport/tls_channel.hpp"

namespace starling::transport {

namespace {

using ws::ws_invalid_payload;
using ws::ws_normal;
using ws::ws_protocol_error;
using ws::ws_too_big;

// Reads per readiness event before yielding to other sessions.
constexpr int max_reads_per_wakeup = 16;

// Shared read buffer of the I/O thread: sessions keep no buffer of their own.
thread_local std::array<char, 65536> read_buffer;

// While dropping the rest of a refused message we cannot parse frames; a
// masked close frame ending the read is the client's answer.
bool ends_with_close_frame(const char* data, std::size_t n) {
  auto* p = reinterpret_cast<const uint8_t*>(data);
  for (std::size_t len = 0; len <= 125; ++len) {
    auto frame = 2 + 4 + len;
    if (frame > n)
      break;
    auto k = n - frame;
    if (p[k] == 0x88 && p[k + 1] == (0x80 | len))
      return true;
  }
  return false;
}

} // namespace

void websocket_session::wait_read() {
  if (reading_ || !actor_ || phase_ == phase::closed
      || phase_ == phase::shutting_down)
    return;
  if (inflight_.load() >= max_inflight && phase_ == phase::open)
    return; // Paused; consumed() resumes.
  reading_ = true;
  if (tls_ && tls_->buffered()) {
    // Decrypted bytes wait inside OpenSSL: the socket will not wake us.
    net::post(worker_.ioc, [self = shared_from_this()] {
      self->reading_ = false;
      if (self->phase_ != phase::closed)
        self->on_readable();
    });
    return;
  }
  bool want_write = tls_ && tls_->read_wants_write();
  sock_.async_wait(want_write ? tcp_socket::wait_write
                              : tcp_socket::wait_read,
                   [self = shared_from_this()](beast::error_code ec) {
                     self->reading_ = false;
                     if (ec)
                       return self->shutdown();
                     self->on_readable();
                   });
}

void websocket_session::on_readable() {
  for (int i = 0; i < max_reads_per_wakeup; ++i) {
    beast::error_code ec;
    auto n = tls_ ? tls_->read(read_buffer.data(), read_buffer.size(), ec)
                  : sock_.read_some(net::buffer(read_buffer), ec);
    if (ec == net::error::would_block || ec == net::error::try_again)
      break;
    if (ec)
      return shutdown(); // EOF or reset.
    if (phase_ == phase::discarding) {
      if (ends_with_close_frame(read_buffer.data(), n))
        return shutdown();
      continue;
    }
    std::vector<ws_message> messages;
    bool was_partial = parser_.mid_message();
    auto error = parser_.feed(read_buffer.data(), n, messages);
    // The sweep closes messages left unfinished past fragment_timeout_s.
    // (Control frames between fragments do not count as progress.)
    if (!was_partial
        || std::any_of(messages.begin(), messages.end(), [](auto& m) {
             return m.opcode == ws_opcode::text || m.opcode == ws_opcode::binary;
           }))
      partial_since_s_ = ctx_->now_s();
    for (auto& m : messages)
      on_message(m);
    if (error != 0) {
      fail(error);
      continue;
    }
    if (phase_ == phase::closed || phase_ == phase::shutting_down)
      return;
    if (inflight_.load() >= max_inflight && phase_ == phase::open)
      return; // Paused.
  }
  wait_read();
}

void websocket_session::on_message(ws_message& m) {
  if (phase_ == phase::closed || phase_ == phase::shutting_down)
    return;
  last_seen_s_ = ctx_->now_s();
  ping_outstanding_ = false;
  switch (m.opcode) {
    case ws_opcode::ping:
      outq_.push(ws_opcode::pong, make_frame(std::move(m.payload)), false);
      flush();
      return;
    case ws_opcode::pong:
      return;
    case ws_opcode::close:
      return on_close_frame(m.payload);
    default:
      break;
  }
  if (phase_ != phase::open)
    return;
  ++ctx_->metrics.frames_in;
  if (counters_) {
    counters_->messages_in.fetch_add(1, std::memory_order_relaxed);
    counters_->bytes_in.fetch_add(m.payload.size(), std::memory_order_relaxed);
  }
  inflight_.fetch_add(1);
  caf::anon_send(actor_, ws_frame_atom::value, std::move(m.payload),
                 m.opcode == ws_opcode::binary);
}

void websocket_session::on_close_frame(const std::string& payload) {
  if (phase_ == phase::closing) {
    // The client answered our close: done once our bytes are out.
    phase_ = phase::shutting_down;
    if (outq_.empty())
      shutdown();
    return;
  }
  // RFC 6455 §5.5.1: echo the status code, then close the connection.
  uint16_t code = ws_normal;
  if (payload.size() >= 2)
    code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8)
                                 | static_cast<uint8_t>(payload[1]));
  // RFC 6455 §7.4: 1005, 1006 and 1015 never go on the wire; a one-byte
  // payload or an unassigned code is a protocol error.
  bool valid = payload.size() != 1
               && ((code >= 1000 && code <= 1003)
                   || (code >= 1007 && code <= 1014)
                   || (code >= 3000 && code <= 4999));
  if (!valid)
    code = ws_protocol_error;
  if (close_code_ == 0)
    close_code_ = code;
  closing_since_s_ = ctx_->now_s();
  phase_ = phase::shutting_down;
  outq_.push(ws_opcode::close, close_payload(code, {}), false);
  flush();
}

// A protocol violation: close with `code` at once (1002, 1007, 1009), and
// keep reading (and dropping) what the client is still sending: closing a
// socket with unread data resets it, and the client would never see our
// close code. The sweep ends it after the grace period.
void websocket_session::fail(uint16_t code) {
  const char* reason = code == ws_too_big ? "Message too big"
                       : code == ws_invalid_payload
                         ? "Text frame is not valid UTF-8"
                       : code == ws::ws_policy_violation
                         ? "Message not completed in time"
                         : "WebSocket protocol error";
  if (phase_ == phase::open)
    request_close(code, reason, nullptr);
  if (phase_ == phase::closing || phase_ == phase::open)
    phase_ = phase::discarding;
  flush();
}

} // namespace starling::transport
