// WebSocket session: RFC 6455 framing over a plain Asio socket (the Pusher
// transport/ws/framing does the bytes), a bounded outbound queue written
// with non-blocking gather writes, inbound flow control and liveness.
//
// Why not beast::websocket::stream: its per-connection state (a 1.5 KB
// static read buffer, a timer, a composed operation per write) cost about
// 3 KB per idle connection and one syscall per frame; here an idle
// connection holds no buffer, and queued frames leave in one writev.
//
// Everything below runs on the single I/O thread, except the session_link
// entry points, which post there.
#include "transport/websocket_session.hpp"

#include <array>
#include <atomic>
#include <vector>

#include <boost/asio/post.hpp>
#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/session_link.hpp"
#include "pusher/error_code.hpp"
#include "pusher/frame.hpp"
#include "transport/ws/framing.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

namespace {

using ws::ws_opcode;

// Inbound frames waiting at the actor before reading pauses.
constexpr int max_inflight = 64;

// A close that has not finished this long after it was asked for (a client
// that stopped reading) ends with a hard socket close.
constexpr uint32_t close_grace_s = 3;

// Buffers handed to one writev.
constexpr std::size_t max_gather = 64;

// Reads per readiness event before yielding to other sessions.
constexpr int max_reads_per_wakeup = 16;

// Shared read buffer of the I/O thread: sessions keep no buffer of their own.
thread_local std::array<char, 65536> read_buffer;

// WebSocket close reasons are at most 123 bytes (RFC 6455 §5.5.1).
std::string clip_reason(std::string reason) {
  if (reason.size() > 123)
    reason.resize(123);
  return reason;
}

// Splits "<prefix>/app/<key>?<query>". Returns false for any other path.
bool parse_app_path(beast::string_view target, const std::string& prefix,
                    std::string& key, std::string& query) {
  auto path = target;
  auto q = target.find('?');
  if (q != beast::string_view::npos) {
    path = target.substr(0, q);
    query = std::string(target.substr(q + 1));
  }
  if (path.substr(0, prefix.size()) != prefix)
    return false;
  path.remove_prefix(prefix.size());
  beast::string_view app = "/app/";
  if (path.substr(0, app.size()) != app)
    return false;
  path.remove_prefix(app.size());
  if (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  if (path.empty() || path.find('/') != beast::string_view::npos)
    return false;
  key = std::string(path);
  return true;
}

// A view of the first n buffers of an array: a ConstBufferSequence that
// needs no allocation.
struct buffer_span {
  const net::const_buffer* first;
  const net::const_buffer* last;
  const net::const_buffer* begin() const { return first; }
  const net::const_buffer* end() const { return last; }
};

// One queued outbound item: a shared payload and its own frame header
// (empty for raw bytes such as the handshake response).
struct out_item {
  frame_ptr payload;
  std::array<uint8_t, 10> header{};
  uint8_t header_size = 0;
  bool counted = false; // Counted against the outbound bound.

  std::size_t size() const {
    return header_size + payload->size();
  }
};

} // namespace

/// One WebSocket connection: the socket side of a connection actor.
class websocket_session final
  : public session_link,
    public std::enable_shared_from_this<websocket_session> {
public:
  websocket_session(std::shared_ptr<server_context> ctx, tcp::socket socket)
    : ctx_(std::move(ctx)),
      sock_(std::move(socket)),
      parser_(ctx_->settings.server.max_frame_bytes) {
    // nop
  }

  ~websocket_session() override {
    // Runs on the I/O thread (see start_websocket_session).
    if (phase_ == phase::open || phase_ == phase::closing)
      --ctx_->metrics.connections_open;
    link_out();
  }

  /// Answers the upgrade request. Runs on the I/O thread.
  void run(const http::request<http::string_body>& req) {
    auto& server = ctx_->settings.server;
    path_ok_ = parse_app_path(req.target(), server.path_prefix, app_key_,
                              query_);
    link_in();
    beast::error_code ec;
    sock_.non_blocking(true, ec);
    if (ec)
      return shutdown();
    // Bound the kernel's send queue too (it doubles the value): without
    // this, loopback autotuning lets a stalled client hold megabytes there
    // before our own bound is ever reached.
    sock_.set_option(net::socket_base::send_buffer_size(
                       static_cast<int>(server.max_outbound_bytes)),
                     ec);
    auto key = req[http::field::sec_websocket_key];
    auto version = req[http::field::sec_websocket_version];
    if (key.empty() || version != "13") {
      // RFC 6455 §4.2.2: tell the client which version we speak.
      push_raw("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
               "Content-Length: 0\r\nConnection: close\r\n\r\n");
      close_after_flush_ = true;
      flush();
      return;
    }
    push_raw("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: "
             + ws::websocket_accept(std::string(key)) + "\r\n\r\n");
    phase_ = phase::open;
    last_seen_s_ = ctx_->now_s();
    ++ctx_->metrics.connections_open;
    ++ctx_->metrics.connections_total;
    flush();
    if (phase_ != phase::open)
      return;
    if (!path_ok_) {
      auto code = pusher::to_int(pusher::pusher_error::path_not_found);
      request_close(code, "Path not found",
                    make_frame(pusher::encode_error(
                      code, "Path not found; connect to /app/<key>")));
      return;
    }
    caf::anon_send(ctx_->node,
                   ws_opened{std::move(app_key_), std::move(query_),
                             shared_from_this()});
  }

  // -- session_link (any thread) ----------------------------------------------

  send_result send(frame_ptr frame) override {
    if (dropping_.load(std::memory_order_relaxed))
      return send_result::dropped;
    auto result = reserve(frame->size());
    if (result == send_result::dropped)
      return result;
    net::post(ctx_->ioc, [self = shared_from_this(), f = std::move(frame)]() mutable {
      self->enqueue_reserved(std::move(f));
    });
    return result;
  }

  void send_to_all(const frame_ptr& frame, const session_list& targets,
                   const session_link* exclude) override {
    // One hand-off for the whole fan-out; the per-session work happens on
    // the I/O thread, with no allocation per recipient.
    net::post(ctx_->ioc, [frame, targets, exclude] {
      for (auto& target : *targets) {
        if (target.get() == exclude)
          continue;
        if (auto* ws = dynamic_cast<websocket_session*>(target.get()))
          ws->enqueue_deferred(frame);
        else
          target->send(frame);
      }
    });
  }

  void close(uint16_t code, std::string reason, frame_ptr final_frame) override {
    net::post(ctx_->ioc, [self = shared_from_this(), code,
                          reason = std::move(reason),
                          f = std::move(final_frame)]() mutable {
      self->request_close(code, std::move(reason), std::move(f));
    });
  }

  void bind(caf::actor connection) override {
    net::post(ctx_->ioc, [self = shared_from_this(),
                          conn = std::move(connection)]() mutable {
      if (self->phase_ != phase::open || self->close_requested_)
        return; // Closing: the actor learns it from ws_closed.
      self->actor_ = std::move(conn);
      self->wait_read();
    });
  }

  void consumed() override {
    if (inflight_.fetch_sub(1) == max_inflight)
      net::post(ctx_->ioc, [self = shared_from_this()] { self->wait_read(); });
  }

  // -- liveness (I/O thread) ------------------------------------------------------

  /// One step of the liveness sweep for this session.
  void sweep(uint32_t now) {
    auto& server = ctx_->settings.server;
    if (close_requested_ || phase_ == phase::closing) {
      if (now - closing_since_s_ >= close_grace_s)
        shutdown();
      return;
    }
    if (phase_ != phase::open || !actor_)
      return;
    if (!ping_outstanding_ && now - last_seen_s_ >= server.activity_timeout_s) {
      // Pusher protocol §1.4: ping after activity_timeout of silence.
      static const frame_ptr ping = make_frame(pusher::encode_ping());
      ping_outstanding_ = true;
      ping_sent_s_ = now;
      if (enqueue_counted(ping))
        flush();
    } else if (ping_outstanding_ && now - ping_sent_s_ >= server.pong_timeout_s) {
      ++ctx_->metrics.pong_timeouts;
      auto code = pusher::to_int(pusher::pusher_error::pong_not_received);
      request_close(code, "Pong reply not received",
                    make_frame(pusher::encode_error(code, "Pong reply not received")));
    }
  }

  /// Sends `final_frame` (if any) and a close frame with `code`; the socket
  /// closes when the client answers or after the grace period.
  bool request_close(uint16_t code, std::string reason, frame_ptr final_frame) {
    if (close_requested_ || phase_ != phase::open)
      return false;
    close_requested_ = true;
    closing_since_s_ = ctx_->now_s();
    if (final_frame)
      push(ws_opcode::text, std::move(final_frame), false);
    push(ws_opcode::close, make_close_payload(code, clip_reason(std::move(reason))),
         false);
    phase_ = phase::closing;
    flush();
    return true;
  }

  websocket_session* prev_ = nullptr; ///< Registry list (I/O thread).
  websocket_session* next_ = nullptr; ///< Registry list (I/O thread).

private:
  enum class phase : uint8_t { handshake, open, closing, closed };

  static frame_ptr make_close_payload(uint16_t code, const std::string& reason) {
    std::string payload;
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code & 0xFF);
    payload += reason;
    return make_frame(std::move(payload));
  }

  void link_in() {
    auto& reg = ctx_->sessions;
    next_ = reg.head;
    if (reg.head != nullptr)
      reg.head->prev_ = this;
    reg.head = this;
    ++reg.size;
    linked_ = true;
  }

  void link_out() {
    if (!linked_)
      return;
    linked_ = false;
    auto& reg = ctx_->sessions;
    if (prev_ != nullptr)
      prev_->next_ = next_;
    else
      reg.head = next_;
    if (next_ != nullptr)
      next_->prev_ = prev_;
    prev_ = next_ = nullptr;
    --reg.size;
  }

  // -- outbound ---------------------------------------------------------------------

  // Counts `size` bytes against the bound; any thread.
  send_result reserve(std::size_t size) {
    auto& server = ctx_->settings.server;
    auto bytes = queued_bytes_.fetch_add(static_cast<uint32_t>(size),
                                         std::memory_order_relaxed)
                 + size;
    auto frames = queued_frames_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (bytes > server.max_outbound_bytes || frames > server.max_outbound_frames) {
      release(size);
      if (!dropping_.exchange(true))
        net::post(ctx_->ioc, [self = shared_from_this()] {
          self->on_slow_consumer();
        });
      return send_result::dropped;
    }
    return bytes * 2 > server.max_outbound_bytes ? send_result::backpressure
                                                 : send_result::queued;
  }

  void release(std::size_t size) {
    queued_bytes_.fetch_sub(static_cast<uint32_t>(size), std::memory_order_relaxed);
    queued_frames_.fetch_sub(1, std::memory_order_relaxed);
  }

  // A data frame already counted by send().
  void enqueue_reserved(frame_ptr frame) {
    if (phase_ != phase::open || close_requested_) {
      release(frame->size());
      return;
    }
    push(ws_opcode::text, std::move(frame), true);
    flush();
  }

  // A data frame from the I/O thread: counted here. Returns false when it
  // was not queued (closing, or over the outbound bound).
  bool enqueue_counted(const frame_ptr& frame) {
    if (phase_ != phase::open || close_requested_
        || dropping_.load(std::memory_order_relaxed))
      return false;
    // Over the bound only because deferred frames were not written yet: let
    // the socket take what it can before calling the client slow. A client
    // is slow when its kernel buffer is full too (writing_).
    auto& server = ctx_->settings.server;
    if (!writing_
        && (queued_bytes_.load(std::memory_order_relaxed) + frame->size()
              > server.max_outbound_bytes
            || queued_frames_.load(std::memory_order_relaxed) + 1
                 > server.max_outbound_frames))
      flush();
    if (reserve(frame->size()) == send_result::dropped)
      return false;
    push(ws_opcode::text, frame, true);
    return true;
  }

  // A fan-out frame: queued now, written by the next flush_dirty(), after
  // the hand-offs already waiting on the I/O thread (so one writev carries
  // a burst of events).
  void enqueue_deferred(const frame_ptr& frame) {
    if (!enqueue_counted(frame) || dirty_ || writing_)
      return; // Not queued, or a flush is already due.
    dirty_ = true;
    auto& d = ctx_->dirty;
    d.sessions.push_back(shared_from_this());
    if (!d.flush_posted) {
      d.flush_posted = true;
      auto ctx = ctx_;
      net::post(ctx_->ioc, [ctx] { flush_dirty(*ctx); });
    }
  }

  static void flush_dirty(server_context& ctx) {
    auto sessions = std::move(ctx.dirty.sessions);
    ctx.dirty.sessions.clear();
    ctx.dirty.flush_posted = false;
    for (auto& s : sessions) {
      s->dirty_ = false;
      s->flush();
    }
  }

  void push(ws_opcode opcode, frame_ptr payload, bool counted) {
    out_item item;
    item.header_size = static_cast<uint8_t>(
      ws::websocket_header(opcode, payload->size(), item.header.data()));
    item.payload = std::move(payload);
    item.counted = counted;
    outq_.push_back(std::move(item));
  }

  void push_raw(std::string bytes) {
    out_item item;
    item.payload = make_frame(std::move(bytes));
    outq_.push_back(std::move(item));
  }

  // Writes as much as the socket takes now; waits for writability for the
  // rest. Frames queued meanwhile leave together in one writev.
  void flush() {
    if (writing_ || phase_ == phase::closed)
      return;
    while (out_head_ < outq_.size()) {
      std::array<net::const_buffer, max_gather> bufs;
      std::size_t n = 0;
      auto offset = out_offset_;
      for (auto i = out_head_; i < outq_.size() && n + 2 <= max_gather; ++i) {
        auto& item = outq_[i];
        if (offset < item.header_size)
          bufs[n++] = net::buffer(item.header.data() + offset,
                                  item.header_size - offset);
        auto body_offset = offset > item.header_size ? offset - item.header_size
                                                     : 0;
        if (body_offset < item.payload->size())
          bufs[n++] = net::buffer(item.payload->data() + body_offset,
                                  item.payload->size() - body_offset);
        offset = 0;
      }
      beast::error_code ec;
      auto written = sock_.write_some(buffer_span{bufs.data(), bufs.data() + n},
                                      ec);
      if (ec == net::error::would_block || ec == net::error::try_again) {
        writing_ = true;
        sock_.async_wait(tcp::socket::wait_write,
                         [self = shared_from_this()](beast::error_code e) {
                           self->writing_ = false;
                           if (e)
                             return self->shutdown();
                           self->flush();
                         });
        return;
      }
      if (ec)
        return shutdown();
      ctx_->metrics.bytes_out += written;
      consume(written);
    }
    // Everything is out.
    outq_.clear();
    out_head_ = 0;
    out_offset_ = 0;
    if (outq_.capacity() > 64)
      outq_.shrink_to_fit();
    if (close_after_flush_) {
      shutdown();
    } else if (phase_ == phase::closing && close_received_) {
      shutdown();
    } else if (phase_ == phase::closing) {
      // Our close frame is out: wait for the client's (no FIN yet: Node
      // clients end their side on FIN and could not send it).
      wait_read();
    }
  }

  void consume(std::size_t written) {
    while (written > 0 && out_head_ < outq_.size()) {
      auto& item = outq_[out_head_];
      auto left = item.size() - out_offset_;
      if (written < left) {
        out_offset_ += written;
        return;
      }
      written -= left;
      if (item.counted) {
        release(item.payload->size());
        ++ctx_->metrics.frames_out;
      }
      item.payload.reset();
      out_offset_ = 0;
      ++out_head_;
    }
  }

  void on_slow_consumer() {
    ++ctx_->metrics.slow_consumer_drops;
    // Drop whatever has not started to leave; a client that does not read
    // cannot take it. Pusher: 4100 = over capacity, reconnect with back-off.
    auto keep = out_head_ + (out_offset_ > 0 ? 1 : 0);
    for (auto i = keep; i < outq_.size(); ++i)
      if (outq_[i].counted)
        release(outq_[i].payload->size());
    outq_.resize(std::max(keep, out_head_));
    auto code = pusher::to_int(pusher::pusher_error::over_capacity);
    request_close(code, "Client too slow: outbound queue full", nullptr);
  }

  // -- inbound ----------------------------------------------------------------------

  void wait_read() {
    if (reading_ || phase_ == phase::closed || !actor_)
      return;
    if (inflight_.load() >= max_inflight && phase_ == phase::open
        && !close_requested_)
      return; // Paused; consumed() resumes.
    reading_ = true;
    sock_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](beast::error_code ec) {
                       self->reading_ = false;
                       if (ec)
                         return self->shutdown();
                       self->on_readable();
                     });
  }

  void on_readable() {
    for (int i = 0; i < max_reads_per_wakeup; ++i) {
      beast::error_code ec;
      auto n = sock_.read_some(net::buffer(read_buffer), ec);
      if (ec == net::error::would_block || ec == net::error::try_again)
        break;
      if (ec)
        return shutdown(); // EOF or reset.
      if (discard_input_) {
        if (ends_with_close_frame(read_buffer.data(), n))
          return shutdown();
        continue;
      }
      std::vector<ws::ws_message> messages;
      auto error = parser_.feed(read_buffer.data(), n, messages);
      for (auto& m : messages)
        on_message(m);
      if (error != 0) {
        fail(error);
        continue;
      }
      if (phase_ == phase::closed || close_received_)
        return;
      if (inflight_.load() >= max_inflight && phase_ == phase::open)
        return; // Paused.
    }
    wait_read();
  }

  void on_message(ws::ws_message& m) {
    if (phase_ == phase::closed || close_received_)
      return;
    last_seen_s_ = ctx_->now_s();
    ping_outstanding_ = false;
    switch (m.opcode) {
      case ws_opcode::ping:
        push(ws_opcode::pong, make_frame(std::move(m.payload)), false);
        flush();
        return;
      case ws_opcode::pong:
        return;
      case ws_opcode::close:
        return on_close_frame(m.payload);
      default:
        break;
    }
    if (phase_ != phase::open || close_requested_)
      return;
    ++ctx_->metrics.frames_in;
    inflight_.fetch_add(1);
    caf::anon_send(actor_, ws_frame_atom::value, std::move(m.payload),
                   m.opcode == ws_opcode::binary);
  }

  void on_close_frame(const std::string& payload) {
    close_received_ = true;
    if (phase_ == phase::closing) {
      // The client answered our close: done once our bytes are out.
      if (out_head_ == outq_.size())
        shutdown();
      return;
    }
    // RFC 6455 §5.5.1: echo the status code, then close the connection.
    uint16_t code = ws::ws_normal;
    if (payload.size() >= 2)
      code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8)
                                   | static_cast<uint8_t>(payload[1]));
    // RFC 6455 §7.4: 1005, 1006 and 1015 never go on the wire; a one-byte
    // payload or an unassigned code is a protocol error.
    bool valid = payload.size() != 1
                 && ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
                     || (code >= 3000 && code <= 4999));
    if (!valid)
      code = ws::ws_protocol_error;
    close_requested_ = true;
    closing_since_s_ = ctx_->now_s();
    phase_ = phase::closing;
    push(ws_opcode::close, make_close_payload(code, {}), false);
    close_after_flush_ = true;
    flush();
  }

  // While dropping the rest of a refused message we cannot parse frames;
  // a masked close frame ending the read is the client's answer.
  static bool ends_with_close_frame(const char* data, std::size_t n) {
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

  // A protocol violation: close with `code` at once (1002, 1007, 1009).
  void fail(uint16_t code) {
    const char* reason = code == ws::ws_too_big ? "Message too big"
                         : code == ws::ws_invalid_payload
                           ? "Text frame is not valid UTF-8"
                           : "WebSocket protocol error";
    // Keep reading (and dropping) what the client is still sending: closing
    // a socket with unread data resets it, and the client would never see
    // our close code. The sweep ends it after the grace period.
    discard_input_ = true;
    if (phase_ == phase::open && !close_requested_)
      request_close(code, reason, nullptr);
    else
      close_after_flush_ = true;
    flush();
  }

  void shutdown() {
    if (phase_ == phase::closed)
      return;
    if (phase_ != phase::handshake)
      --ctx_->metrics.connections_open;
    phase_ = phase::closed;
    link_out();
    beast::error_code ignored;
    sock_.close(ignored);
    for (auto i = out_head_; i < outq_.size(); ++i)
      if (outq_[i].counted && outq_[i].payload)
        release(outq_[i].payload->size());
    outq_.clear();
    out_head_ = 0;
    out_offset_ = 0;
    dropping_ = true;
    if (actor_) {
      caf::anon_send(actor_, ws_closed_atom::value);
      actor_ = nullptr; // Breaks the session <-> actor cycle.
    }
  }

  std::shared_ptr<server_context> ctx_;
  tcp::socket sock_;
  ws::websocket_parser parser_;
  std::vector<out_item> outq_;
  std::size_t out_head_ = 0;
  std::size_t out_offset_ = 0;
  std::atomic<uint32_t> queued_bytes_{0};
  std::atomic<uint32_t> queued_frames_{0};
  std::atomic<int> inflight_{0};
  std::atomic<bool> dropping_{false};
  caf::actor actor_;
  std::string app_key_;
  std::string query_;
  uint32_t last_seen_s_ = 0;
  uint32_t ping_sent_s_ = 0;
  uint32_t closing_since_s_ = 0;
  phase phase_ = phase::handshake;
  bool linked_ = false;
  bool writing_ = false;
  bool reading_ = false;
  bool close_requested_ = false;
  bool close_after_flush_ = false;
  bool close_received_ = false;
  bool ping_outstanding_ = false;
  bool path_ok_ = false;
  bool discard_input_ = false;
  bool dirty_ = false;
};

void start_websocket_session(const std::shared_ptr<server_context>& ctx,
                             tcp::socket socket,
                             http::request<http::string_body> req) {
  auto* raw = new websocket_session(ctx, std::move(socket));
  // Actors may drop the last reference on a CAF thread; the socket must die
  // on the I/O thread, so deletion is posted there.
  auto& ioc = ctx->ioc;
  std::shared_ptr<websocket_session> session{raw, [&ioc](websocket_session* p) {
    if (ioc.get_executor().running_in_this_thread())
      delete p;
    else
      net::post(ioc, [p] { delete p; });
  }};
  session->run(req);
}

void sweep_websocket_sessions(server_context& ctx) {
  auto now = ctx.now_s();
  for (auto* s = ctx.sessions.head; s != nullptr;) {
    auto* next = s->next_; // sweep() may unlink s.
    s->sweep(now);
    s = next;
  }
}

void close_websocket_sessions(server_context& ctx, uint16_t code,
                              const std::string& reason, std::size_t max) {
  auto frame = make_frame(pusher::encode_error(code, reason));
  std::size_t started = 0;
  for (auto* s = ctx.sessions.head; s != nullptr && started < max;) {
    auto* next = s->next_;
    if (s->request_close(code, reason, frame))
      ++started;
    s = next;
  }
}

} // namespace starling::transport
