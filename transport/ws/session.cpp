// WebSocket session (session.hpp): handshake, outbound writes, inbound
// frames, liveness. Runs on the I/O thread, except the session_link entry
// points, which post there.
#include "transport/ws/session.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <boost/asio/post.hpp>
#include <caf/all.hpp>

#include "actors/logic_bindings.hpp"
#include "actors/messages.hpp"
#include "pusher/error_code.hpp"
#include "pusher/frame.hpp"
#include "pusher/handshake.hpp"
#include "transport/server_context.hpp"
#include "transport/tls_channel.hpp"

namespace starling::transport {

namespace {


// A close that has not finished this long after it was asked for (a client
// that stopped reading) ends with a hard socket close.
constexpr uint32_t close_grace_s = 3;

// Buffers handed to one writev.
constexpr std::size_t max_gather = 64;

// WebSocket close reasons are at most 123 bytes (RFC 6455 §5.5.1).
std::string clip_reason(std::string reason) {
  if (reason.size() > 123)
    reason.resize(123);
  return reason;
}


// A view of the first n buffers of an array: a ConstBufferSequence that
// needs no allocation.
struct buffer_span {
  const net::const_buffer* first;
  const net::const_buffer* last;
  const net::const_buffer* begin() const { return first; }
  const net::const_buffer* end() const { return last; }
};

} // namespace

websocket_session::websocket_session(std::shared_ptr<server_context> ctx,
                                     io_worker& worker, tcp_socket socket,
                                     std::unique_ptr<tls_channel> tls)
  : session_link(worker.index),
    ctx_(std::move(ctx)),
    worker_(worker),
    sock_(std::move(socket)),
    tls_(std::move(tls)),
    parser_(ctx_->settings.server.max_frame_bytes),
    budget_(ctx_->settings.server.max_outbound_bytes,
            ctx_->settings.server.max_outbound_frames) {
  // nop
}

websocket_session::~websocket_session() {
  // Runs on its I/O thread (see start_websocket_session).
  if (phase_ != phase::handshake && phase_ != phase::closed)
    --ctx_->metrics.connections_open;
  link_out();
}

void websocket_session::run(const http::request<http::string_body>& req) {
  auto& server = ctx_->settings.server;
  auto target = pusher::parse_connect_path(
    std::string_view{req.target().data(), req.target().size()},
    server.path_prefix);
  link_in();
  beast::error_code ec;
  sock_.non_blocking(true, ec);
  if (ec)
    return shutdown();
  // Bound the kernel's send queue too (it doubles the value): without this,
  // loopback autotuning lets a stalled client hold megabytes there before
  // our own bound is ever reached.
  sock_.set_option(net::socket_base::send_buffer_size(
                     static_cast<int>(server.max_outbound_bytes)),
                   ec);
  auto key = req[http::field::sec_websocket_key];
  auto version = req[http::field::sec_websocket_version];
  if (key.empty() || version != "13") {
    // RFC 6455 §4.2.2: tell the client which version we speak.
    outq_.push_raw(make_frame(
      "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
      "Content-Length: 0\r\nConnection: close\r\n\r\n"));
    // Still a handshake: on_flushed() closes once the refusal is out.
    flush();
    return;
  }
  outq_.push_raw(make_frame("HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
                            "websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: "
                            + ws::websocket_accept(std::string(key))
                            + "\r\n\r\n"));
  phase_ = phase::open;
  last_seen_s_ = ctx_->now_s();
  ++ctx_->metrics.connections_open;
  ++ctx_->metrics.connections_total;
  flush();
  if (phase_ != phase::open)
    return;
  if (!admit())
    return;
  if (!target)
    return refuse(pusher::to_int(pusher::pusher_error::path_not_found),
                  "Path not found; connect to /app/<key>");
  if (auto refusal = pusher::check_connect_query(target->query))
    return refuse(pusher::to_int(refusal->code), refusal->message);
  auto app = ctx_->apps->by_key(target->app_key);
  if (!app)
    return refuse(pusher::to_int(pusher::pusher_error::app_not_found),
                  "Application does not exist");
  if (app->status != app_status::running)
    return refuse(pusher::to_int(pusher::pusher_error::over_capacity),
                  "Application is unavailable; retry later");
  if (auto& allowed = app->ctx->app.allowed_origins; !allowed.empty()) {
    auto origin = req[http::field::origin];
    std::string_view o{origin.data(), origin.size()};
    if (std::none_of(allowed.begin(), allowed.end(),
                     [o](const std::string& p) { return glob_match(p, o); })) {
      ++ctx_->metrics.origin_refusals;
      return refuse(pusher::to_int(pusher::pusher_error::unauthorized),
                    "Origin not allowed");
    }
  }
  counters_ = app->ctx->counters;
  caf::anon_send(app->actor,
                 ws_opened{std::move(target->query), shared_from_this()});
}

// The node's own limits, before any app is involved: open connections and
// new connections per client address (4100: pusher-js backs off, retries).
bool websocket_session::admit() {
  auto& server = ctx_->settings.server;
  if (server.max_connections > 0
      && ctx_->metrics.connections_open.load() > server.max_connections) {
    ++ctx_->metrics.node_connection_limit;
    refuse(pusher::to_int(pusher::pusher_error::over_capacity),
           "Over capacity: this node has its maximum of connections");
    return false;
  }
  if (server.max_new_connections_per_ip_per_s > 0) {
    beast::error_code ec;
    auto peer = sock_.remote_endpoint(ec);
    if (!ec
        && !ctx_->new_connections
              .take(peer.address().to_string(),
                    server.max_new_connections_per_ip_per_s)
              .allowed) {
      ++ctx_->metrics.ip_rate_limit;
      refuse(pusher::to_int(pusher::pusher_error::over_capacity),
             "Too many new connections from your address; retry later");
      return false;
    }
  }
  return true;
}

// Refuses the connection the way Pusher servers do: pusher:error, then a
// close with the same code.
void websocket_session::refuse(int code, const std::string& message) {
  auto c = static_cast<uint16_t>(code);
  request_close(c, message, make_frame(pusher::encode_error(c, message)));
}

// -- session_link (any thread) ------------------------------------------------

send_result websocket_session::send(frame_ptr frame) {
  if (dropping_.load(std::memory_order_relaxed))
    return send_result::dropped;
  auto result = budget_.reserve(frame->size());
  if (result == send_result::dropped) {
    if (!dropping_.exchange(true))
      net::post(worker_.ioc, [self = shared_from_this()] {
        self->on_slow_consumer();
      });
    return result;
  }
  net::post(worker_.ioc, [self = shared_from_this(), f = std::move(frame)]() mutable {
    self->enqueue_reserved(std::move(f));
  });
  return result;
}

void websocket_session::close(uint16_t code, std::string reason,
                              frame_ptr final_frame) {
  net::post(worker_.ioc, [self = shared_from_this(), code,
                        reason = std::move(reason),
                        f = std::move(final_frame)]() mutable {
    self->request_close(code, std::move(reason), std::move(f));
  });
}

void websocket_session::bind(caf::actor connection) {
  net::post(worker_.ioc, [self = shared_from_this(),
                        conn = std::move(connection)]() mutable {
    if (self->phase_ != phase::open)
      return; // Closing: the actor learns it from ws_closed.
    self->actor_ = std::move(conn);
    self->wait_read();
  });
}

void websocket_session::consumed() {
  if (inflight_.fetch_sub(1) == max_inflight)
    net::post(worker_.ioc, [self = shared_from_this()] { self->wait_read(); });
}

// -- liveness --------------------------------------------------------------------

void websocket_session::sweep(uint32_t now) {
  auto& server = ctx_->settings.server;
  switch (phase_) {
    case phase::closing:
    case phase::discarding:
    case phase::shutting_down:
      if (now - closing_since_s_ >= close_grace_s)
        shutdown();
      return;
    case phase::open:
      break;
    default:
      return;
  }
  if (!actor_)
    return;
  if (!writing_)
    outq_.release_storage(); // At most one allocation a second per talker.
  if (parser_.mid_message()
      && now - partial_since_s_ >= server.fragment_timeout_s) {
    // An unfinished message holds its bytes here: bounded in time too.
    ++ctx_->metrics.fragment_timeouts;
    return fail(ws::ws_policy_violation);
  }
  if (!ping_outstanding_ && now - last_seen_s_ >= server.activity_timeout_s) {
    // Pusher protocol §1.4: ping after activity_timeout of silence.
    static const frame_ptr ping = make_frame(pusher::encode_ping());
    ping_outstanding_ = true;
    ping_sent_s_ = now;
    if (enqueue_counted(ping))
      flush();
  } else if (ping_outstanding_ && now - ping_sent_s_ >= server.pong_timeout_s) {
    ++ctx_->metrics.pong_timeouts;
    refuse(pusher::to_int(pusher::pusher_error::pong_not_received),
           "Pong reply not received");
  }
}

bool websocket_session::request_close(uint16_t code, std::string reason,
                                      frame_ptr final_frame) {
  if (phase_ != phase::open)
    return false;
  closing_since_s_ = ctx_->now_s();
  if (close_code_ == 0)
    close_code_ = code;
  if (final_frame)
    outq_.push(ws_opcode::text, std::move(final_frame), false);
  outq_.push(ws_opcode::close, close_payload(code, clip_reason(std::move(reason))),
             false);
  phase_ = phase::closing;
  flush();
  return true;
}

frame_ptr websocket_session::close_payload(uint16_t code,
                                           const std::string& reason) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload += reason;
  return make_frame(std::move(payload));
}

void websocket_session::link_in() {
  auto& reg = worker_.sessions;
  next_ = reg.head;
  if (reg.head != nullptr)
    reg.head->prev_ = this;
  reg.head = this;
  ++reg.size;
  linked_ = true;
}

void websocket_session::link_out() {
  if (!linked_)
    return;
  linked_ = false;
  auto& reg = worker_.sessions;
  if (prev_ != nullptr)
    prev_->next_ = next_;
  else
    reg.head = next_;
  if (next_ != nullptr)
    next_->prev_ = prev_;
  prev_ = next_ = nullptr;
  --reg.size;
}

// -- outbound -----------------------------------------------------------------------

void websocket_session::release(const released& r) {
  if (r.frames > 0)
    budget_.release(r.bytes, r.frames);
}

// A data frame already counted by send().
void websocket_session::enqueue_reserved(frame_ptr frame) {
  if (phase_ != phase::open) {
    budget_.release(frame->size(), 1);
    return;
  }
  outq_.push(ws_opcode::text, std::move(frame), true);
  flush();
}

// A data frame from the I/O thread: counted here. Returns false when it was
// not queued (closing, or over the outbound bound).
bool websocket_session::enqueue_counted(const frame_ptr& frame) {
  if (phase_ != phase::open || dropping_.load(std::memory_order_relaxed))
    return false;
  // Over the bound only because deferred frames were not written yet: let
  // the socket take what it can before calling the client slow. A client
  // is slow when its kernel buffer is full too (writing_).
  if (!writing_ && !budget_.fits(frame->size()))
    flush();
  if (budget_.reserve(frame->size()) == send_result::dropped) {
    if (!dropping_.exchange(true))
      net::post(worker_.ioc, [self = shared_from_this()] {
        self->on_slow_consumer();
      });
    return false;
  }
  outq_.push(ws_opcode::text, frame, true);
  return true;
}

void websocket_session::enqueue_deferred(const frame_ptr& frame) {
  if (!enqueue_counted(frame) || dirty_ || writing_)
    return; // Not queued, or a flush is already due.
  dirty_ = true;
  auto& d = worker_.dirty;
  d.sessions.push_back(shared_from_this());
  if (!d.flush_posted) {
    d.flush_posted = true;
    // The worker outlives every handler of its context.
    net::post(worker_.ioc, [w = &worker_] { flush_dirty(*w); });
  }
}

void websocket_session::flush_dirty(io_worker& worker) {
  auto sessions = std::move(worker.dirty.sessions);
  worker.dirty.sessions.clear();
  worker.dirty.flush_posted = false;
  for (auto& s : sessions) {
    s->dirty_ = false;
    s->flush();
  }
  // Every event queued before this pass is now written, or waits only for
  // a socket whose client reads slowly (not counted: that is the client).
  auto& stamps = worker.dirty.stamps;
  if (!stamps.empty()) {
    auto now = system_now_ns();
    for (auto& st : stamps)
      st.record(now);
    stamps.clear();
  }
}

void websocket_session::note_published(io_worker& worker,
                                       const publish_stamp& stamp) {
  auto& d = worker.dirty;
  d.stamps.push_back(stamp);
  if (!d.flush_posted) {
    // No session became dirty (all were writing already): still record.
    d.flush_posted = true;
    net::post(worker.ioc, [w = &worker] { flush_dirty(*w); });
  }
}

// Writes as much as the socket takes now; waits for writability for the
// rest. Frames queued meanwhile leave together in one writev (one TLS
// record per 16 KB under TLS).
void websocket_session::flush() {
  if (writing_ || phase_ == phase::closed)
    return;
  while (!outq_.empty() || (tls_ && tls_->write_pending())) {
    std::array<out_buffer, max_gather> pieces;
    auto n = outq_.gather(pieces.data(), pieces.size());
    beast::error_code ec;
    auto written = write_some(pieces.data(), n, ec);
    if (written > 0) {
      // TLS takes bytes over even when it then waits (sealed in a record).
      ctx_->metrics.bytes_out += written;
      auto r = outq_.consume(written);
      ctx_->metrics.frames_out += r.frames;
      if (counters_) {
        counters_->bytes_out.fetch_add(written, std::memory_order_relaxed);
        counters_->messages_out.fetch_add(r.frames, std::memory_order_relaxed);
      }
      release(r);
    }
    if (ec == net::error::would_block || ec == net::error::try_again) {
      writing_ = true;
      bool want_read = tls_ && tls_->write_wants_read();
      sock_.async_wait(want_read ? tcp_socket::wait_read
                                 : tcp_socket::wait_write,
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
  }
  outq_.compact();
  on_flushed();
}

// One non-blocking write of the gathered pieces: a plain writev, or one
// TLS record. Returns the bytes the socket (or TLS) took.
std::size_t websocket_session::write_some(const out_buffer* pieces,
                                          std::size_t n,
                                          beast::error_code& ec) {
  if (tls_)
    return tls_->write_gather(pieces, n, ec);
  std::array<net::const_buffer, max_gather> bufs;
  for (std::size_t i = 0; i < n; ++i)
    bufs[i] = net::buffer(pieces[i].data, pieces[i].size);
  return sock_.write_some(buffer_span{bufs.data(), bufs.data() + n}, ec);
}

// Everything queued is out: what the phase does next.
void websocket_session::on_flushed() {
  switch (phase_) {
    case phase::handshake: // A refused upgrade (426) is written.
    case phase::shutting_down:
      shutdown();
      return;
    case phase::closing:
    case phase::discarding:
      // Our close frame is out: wait for the client's (no FIN yet: Node
      // clients end their side on FIN and could not send it).
      wait_read();
      return;
    default:
      return;
  }
}

void websocket_session::on_slow_consumer() {
  ++ctx_->metrics.slow_consumer_drops;
  if (counters_)
    counters_->slow_consumer_drops.fetch_add(1, std::memory_order_relaxed);
  // Drop whatever has not started to leave; a client that does not read
  // cannot take it. Pusher: 4100 = over capacity, reconnect with back-off.
  release(outq_.drop_unstarted());
  request_close(pusher::to_int(pusher::pusher_error::over_capacity),
                "Client too slow: outbound queue full", nullptr);
}

void websocket_session::shutdown() {
  if (phase_ == phase::closed)
    return;
  if (phase_ != phase::handshake)
    --ctx_->metrics.connections_open;
  if (counters_)
    // No close frame either way: the connection was lost (1006).
    counters_->disconnects[close_code_index(close_code_ ? close_code_ : 1006)]
      .fetch_add(1, std::memory_order_relaxed);
  phase_ = phase::closed;
  link_out();
  if (tls_)
    tls_->close_notify();
  beast::error_code ignored;
  sock_.close(ignored);
  release(outq_.clear());
  dropping_ = true;
  if (actor_) {
    caf::anon_send(actor_, ws_closed_atom::value);
    actor_ = nullptr; // Breaks the session <-> actor cycle.
  }
}

// -- entry points -------------------------------------------------------------------

void start_websocket_session(const std::shared_ptr<server_context>& ctx,
                             io_worker& worker, tcp_socket socket,
                             http::request<http::string_body> req,
                             std::unique_ptr<tls_channel> tls) {
  auto* raw = new websocket_session(ctx, worker, std::move(socket),
                                    std::move(tls));
  // Actors may drop the last reference on a CAF thread; the socket must die
  // on its I/O thread, so deletion is posted there. The handler owns the
  // session: if the loop has stopped (a second SIGTERM), destroying the
  // unrun handler with the io_context still deletes it.
  auto& ioc = worker.ioc;
  std::shared_ptr<websocket_session> session{raw, [&ioc](websocket_session* p) {
    if (ioc.get_executor().running_in_this_thread()) {
      delete p;
      return;
    }
    net::post(ioc, [owned = std::unique_ptr<websocket_session>(p)] {});
  }};
  session->run(req);
}

void sweep_websocket_sessions(server_context& ctx, io_worker& worker) {
  auto now = ctx.now_s();
  for (auto* s = worker.sessions.head; s != nullptr;) {
    auto* next = s->next_; // sweep() may unlink s.
    s->sweep(now);
    s = next;
  }
}

void close_websocket_sessions(io_worker& worker, uint16_t code,
                              const std::string& reason, std::size_t max) {
  auto frame = make_frame(pusher::encode_error(code, reason));
  std::size_t started = 0;
  for (auto* s = worker.sessions.head; s != nullptr && started < max;) {
    auto* next = s->next_;
    if (s->request_close(code, reason, frame))
      ++started;
    s = next;
  }
}

} // namespace starling::transport
