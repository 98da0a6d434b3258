// WebSocket session: Beast stream, bounded outbound queue, inbound flow
// control and liveness. All stream work runs on the single I/O thread;
// actors reach it only through session_link, which posts there.
#include "transport/websocket_session.hpp"

#include <atomic>
#include <vector>

#include <boost/asio/post.hpp>
#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/session_link.hpp"
#include "transport/codec/error_code.hpp"
#include "transport/codec/frame.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

namespace {

// Inbound frames waiting at the actor before reading pauses.
constexpr int max_inflight = 64;

// A close that has not finished this long after it was asked for (a client
// that stopped reading) ends with a hard socket close.
constexpr uint32_t close_grace_s = 3;

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

} // namespace

/// One WebSocket connection: the socket side of a connection actor.
class websocket_session final
  : public session_link,
    public std::enable_shared_from_this<websocket_session> {
public:
  websocket_session(std::shared_ptr<server_context> ctx, tcp::socket socket)
    : ctx_(std::move(ctx)), ws_(std::move(socket)) {
    // nop
  }

  ~websocket_session() override {
    // Runs on the I/O thread (see start_websocket_session).
    if (phase_ == phase::open || phase_ == phase::closing)
      --ctx_->metrics.connections_open;
    link_out();
  }

  /// Accepts the upgrade request. Runs on the I/O thread.
  void run(http::request<http::string_body> req) {
    auto& server = ctx_->settings.server;
    path_ok_ = parse_app_path(req.target(), server.path_prefix, app_key_,
                              query_);
    link_in();
    ws_.set_option(websocket::stream_base::timeout{
      std::chrono::seconds(10), websocket::stream_base::none(), false});
    ws_.read_message_max(server.max_frame_bytes);
    ws_.auto_fragment(false);
    ws_.async_accept(req, beast::bind_front_handler(&websocket_session::on_accept,
                                                    shared_from_this()));
  }

  // -- session_link (any thread) ----------------------------------------------

  send_result send(frame_ptr frame) override {
    if (dropping_.load(std::memory_order_relaxed))
      return send_result::dropped;
    auto& server = ctx_->settings.server;
    auto size = static_cast<uint32_t>(frame->size());
    auto bytes = queued_bytes_.fetch_add(size, std::memory_order_relaxed) + size;
    auto frames = queued_frames_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (bytes > server.max_outbound_bytes || frames > server.max_outbound_frames) {
      queued_bytes_.fetch_sub(size, std::memory_order_relaxed);
      queued_frames_.fetch_sub(1, std::memory_order_relaxed);
      if (!dropping_.exchange(true))
        net::post(ctx_->ioc, [self = shared_from_this()] {
          self->on_slow_consumer();
        });
      return send_result::dropped;
    }
    net::post(ctx_->ioc, [self = shared_from_this(), f = std::move(frame)]() mutable {
      self->enqueue(std::move(f));
    });
    return bytes * 2 > server.max_outbound_bytes ? send_result::backpressure
                                                 : send_result::queued;
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
      if (self->phase_ != phase::open)
        return; // Already closed: the actor learns it below.
      self->actor_ = std::move(conn);
      self->do_read();
    });
  }

  void consumed() override {
    if (inflight_.fetch_sub(1) == max_inflight)
      net::post(ctx_->ioc, [self = shared_from_this()] {
        if (self->phase_ == phase::open && self->actor_)
          self->do_read();
      });
  }

  // -- liveness (I/O thread) ------------------------------------------------------

  /// One step of the liveness sweep for this session.
  void sweep(uint32_t now) {
    auto& server = ctx_->settings.server;
    if (close_requested_) {
      if (now - closing_since_s_ >= close_grace_s)
        hard_close();
      return;
    }
    if (phase_ != phase::open || !actor_)
      return;
    if (!ping_outstanding_ && now - last_seen_s_ >= server.activity_timeout_s) {
      // Pusher protocol §1.4: ping after activity_timeout of silence.
      static const frame_ptr ping = make_frame(codec::encode_ping());
      ping_outstanding_ = true;
      ping_sent_s_ = now;
      queued_bytes_ += static_cast<uint32_t>(ping->size());
      ++queued_frames_;
      enqueue(ping);
    } else if (ping_outstanding_ && now - ping_sent_s_ >= server.pong_timeout_s) {
      ++ctx_->metrics.pong_timeouts;
      auto code = codec::to_int(codec::pusher_error::pong_not_received);
      request_close(code, "Pong reply not received",
                    make_frame(codec::encode_error(code, "Pong reply not received")));
    }
  }

  /// Starts a close with `code` (graceful shutdown of the node).
  void request_close(uint16_t code, std::string reason, frame_ptr final_frame) {
    if (close_requested_ || phase_ == phase::closed)
      return;
    close_requested_ = true;
    closing_since_s_ = ctx_->now_s();
    close_code_ = code;
    close_reason_ = clip_reason(std::move(reason));
    if (final_frame && phase_ == phase::open)
      push(std::move(final_frame));
    if (phase_ == phase::handshake)
      return; // on_accept closes.
    if (!writing_) {
      if (out_head_ < outq_.size())
        do_write();
      else
        do_close();
    }
  }

  websocket_session* prev_ = nullptr; ///< Registry list (I/O thread).
  websocket_session* next_ = nullptr; ///< Registry list (I/O thread).

private:
  enum class phase : uint8_t { handshake, open, closing, closed };

  void link_in() {
    auto& reg = ctx_->sessions;
    next_ = reg.head;
    if (reg.head != nullptr)
      reg.head->prev_ = this;
    reg.head = this;
    ++reg.size;
  }

  void link_out() {
    auto& reg = ctx_->sessions;
    if (prev_ != nullptr)
      prev_->next_ = next_;
    else if (reg.head == this)
      reg.head = next_;
    else
      return; // Not linked.
    if (next_ != nullptr)
      next_->prev_ = prev_;
    prev_ = next_ = nullptr;
    --reg.size;
  }

  void on_accept(beast::error_code ec) {
    if (ec)
      return shutdown();
    phase_ = phase::open;
    last_seen_s_ = ctx_->now_s();
    ++ctx_->metrics.connections_open;
    ++ctx_->metrics.connections_total;
    if (close_requested_) {
      close_requested_ = false;
      request_close(close_code_, close_reason_, nullptr);
      return;
    }
    if (!path_ok_) {
      auto code = codec::to_int(codec::pusher_error::path_not_found);
      request_close(code, "Path not found",
                    make_frame(codec::encode_error(
                      code, "Path not found; connect to /app/<key>")));
      return;
    }
    caf::anon_send(ctx_->node,
                   ws_opened{std::move(app_key_), std::move(query_),
                             shared_from_this()});
  }

  void do_read() {
    ws_.async_read(buf_, beast::bind_front_handler(&websocket_session::on_read,
                                                   shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return shutdown();
    ++ctx_->metrics.frames_in;
    last_seen_s_ = ctx_->now_s();
    ping_outstanding_ = false;
    auto text = beast::buffers_to_string(buf_.data());
    buf_.consume(buf_.size());
    // Idle connections keep no read buffer: memory per connection matters
    // more than one allocation per inbound frame.
    buf_.shrink_to_fit();
    caf::anon_send(actor_, ws_frame_atom::value, std::move(text),
                   !ws_.got_text());
    if (inflight_.fetch_add(1) + 1 < max_inflight && !close_requested_)
      do_read();
  }

  void push(frame_ptr frame) {
    outq_.push_back(std::move(frame));
  }

  void enqueue(frame_ptr frame) {
    if (phase_ != phase::open || close_requested_) {
      forget(*frame);
      return;
    }
    push(std::move(frame));
    if (!writing_)
      do_write();
  }

  void forget(const std::string& frame) {
    queued_bytes_.fetch_sub(static_cast<uint32_t>(frame.size()),
                            std::memory_order_relaxed);
    queued_frames_.fetch_sub(1, std::memory_order_relaxed);
  }

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*outq_[out_head_]),
                    beast::bind_front_handler(&websocket_session::on_write,
                                              shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t bytes) {
    writing_ = false;
    auto& frame = outq_[out_head_];
    forget(*frame);
    frame.reset();
    if (++out_head_ == outq_.size()) {
      outq_.clear();
      out_head_ = 0;
      if (outq_.capacity() > 64)
        outq_.shrink_to_fit();
    }
    if (ec)
      return shutdown();
    ++ctx_->metrics.frames_out;
    ctx_->metrics.bytes_out += bytes;
    if (out_head_ < outq_.size())
      do_write();
    else if (close_requested_)
      do_close();
  }

  void on_slow_consumer() {
    ++ctx_->metrics.slow_consumer_drops;
    // Drop what is not in flight; a client that does not read cannot take it.
    auto keep = out_head_ + (writing_ ? 1 : 0);
    for (auto i = keep; i < outq_.size(); ++i)
      forget(*outq_[i]);
    outq_.resize(keep);
    auto code = codec::to_int(codec::pusher_error::over_capacity);
    request_close(code, "Client too slow: outbound queue full", nullptr);
  }

  void do_close() {
    if (phase_ != phase::open)
      return;
    phase_ = phase::closing;
    ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_reason_),
                    beast::bind_front_handler(&websocket_session::on_closed,
                                              shared_from_this()));
  }

  void on_closed(beast::error_code) {
    shutdown();
  }

  void hard_close() {
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
    shutdown();
  }

  void shutdown() {
    if (phase_ == phase::closed)
      return;
    if (phase_ != phase::handshake)
      --ctx_->metrics.connections_open;
    phase_ = phase::closed;
    link_out();
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
    for (auto i = out_head_; i < outq_.size(); ++i)
      if (outq_[i])
        forget(*outq_[i]);
    outq_.clear();
    out_head_ = 0;
    dropping_ = true;
    if (actor_) {
      caf::anon_send(actor_, ws_closed_atom::value);
      actor_ = nullptr; // Breaks the session <-> actor cycle.
    }
  }

  std::shared_ptr<server_context> ctx_;
  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buf_;
  std::vector<frame_ptr> outq_;
  std::size_t out_head_ = 0;
  std::atomic<uint32_t> queued_bytes_{0};
  std::atomic<uint32_t> queued_frames_{0};
  std::atomic<int> inflight_{0};
  std::atomic<bool> dropping_{false};
  caf::actor actor_;
  std::string app_key_;
  std::string query_;
  std::string close_reason_;
  uint32_t last_seen_s_ = 0;
  uint32_t ping_sent_s_ = 0;
  uint32_t closing_since_s_ = 0;
  uint16_t close_code_ = 1000;
  phase phase_ = phase::handshake;
  bool writing_ = false;
  bool close_requested_ = false;
  bool ping_outstanding_ = false;
  bool path_ok_ = false;
};

void start_websocket_session(const std::shared_ptr<server_context>& ctx,
                             tcp::socket socket,
                             http::request<http::string_body> req) {
  auto* raw = new websocket_session(ctx, std::move(socket));
  // Actors may drop the last reference on a CAF thread; the Beast stream
  // must die on the I/O thread, so deletion is posted there.
  auto& ioc = ctx->ioc;
  std::shared_ptr<websocket_session> session{raw, [&ioc](websocket_session* p) {
    if (ioc.get_executor().running_in_this_thread())
      delete p;
    else
      net::post(ioc, [p] { delete p; });
  }};
  session->run(std::move(req));
}

void sweep_websocket_sessions(server_context& ctx) {
  auto now = ctx.now_s();
  for (auto* s = ctx.sessions.head; s != nullptr;) {
    auto* next = s->next_; // sweep() may unlink s.
    s->sweep(now);
    s = next;
  }
}

void close_all_websocket_sessions(server_context& ctx, uint16_t code,
                                  const std::string& reason) {
  for (auto* s = ctx.sessions.head; s != nullptr;) {
    auto* next = s->next_;
    s->request_close(code, reason, make_frame(codec::encode_error(code, reason)));
    s = next;
  }
}

} // namespace starling::transport
