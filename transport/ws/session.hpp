// WebSocket sessions: one per Pusher connection, a dumb pipe between the
// socket and its connection actor. RFC 6455 framing over a plain Asio socket
// (framing.hpp does the bytes), a bounded outbound queue written with
// non-blocking gather writes (outbound_queue.hpp), inbound flow control and
// liveness.
//
// Why not beast::websocket::stream: its per-connection state (a 1.5 KB
// static read buffer, a timer, a composed operation per write) cost about
// 3 KB per idle connection and one syscall per frame; here an idle
// connection holds no buffer, and queued frames leave in one writev.
//
// A session's phases:
//
//   handshake --(101 written)--> open --(we close: request_close)--> closing
//   handshake --(426 written)------------------------------> closed
//   open --(client's close frame: echoed)------------------> shutting_down
//   open --(protocol violation: close 1002/1007/1009)------> discarding
//   closing --(client's close frame)-----------------------> shutting_down
//   closing | discarding --(grace over)--------------------> closed
//   discarding --(client's close frame seen)---------------> closed
//   shutting_down --(queue written)------------------------> closed
//   any --(socket error or EOF)----------------------------> closed
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>

#include "actors/app_counters.hpp"
#include "actors/fanout_sink.hpp"
#include "actors/session_link.hpp"
#include "transport/net.hpp"
#include "transport/ws/framing.hpp"
#include "transport/ws/outbound_queue.hpp"

namespace starling::transport {

struct server_context;
struct io_worker;
class tls_channel;

using ws::outbound_budget;
using ws::outbound_queue;
using ws::out_buffer;
using ws::released;
using ws::websocket_parser;
using ws::ws_message;
using ws::ws_opcode;

/// One WebSocket connection: the socket side of a connection actor. The
/// session_link entry points may be called on any thread; everything else
/// runs on its I/O thread (`worker`).
class websocket_session final
  : public session_link,
    public std::enable_shared_from_this<websocket_session> {
public:
  /// Where a session is in its life (see the diagram above).
  enum class phase : uint8_t {
    handshake,     ///< The upgrade is not answered yet.
    open,          ///< Frames flow both ways.
    closing,       ///< Our close frame is queued; waiting for the client's.
    discarding,    ///< A protocol violation: our close is queued, input is dropped.
    shutting_down, ///< Nothing more to read: closed once the queue is written.
    closed,        ///< The socket is closed.
  };

  /// A session on `socket` (of `worker`'s context), in TLS through `tls`
  /// unless it is nullptr.
  websocket_session(std::shared_ptr<server_context> ctx, io_worker& worker,
                    tcp_socket socket,
                    std::unique_ptr<tls_channel> tls = nullptr);
  ~websocket_session() override;

  /// Answers the upgrade request and hands the connection to its app.
  void run(const http::request<http::string_body>& req);

  // -- session_link (any thread) -------------------------------------------------

  send_result send(frame_ptr frame) override;
  void close(uint16_t code, std::string reason, frame_ptr final_frame) override;
  void bind(caf::actor connection) override;
  void consumed() override;
  std::size_t queued_bytes() const override {
    return budget_.bytes();
  }

  // -- I/O thread ------------------------------------------------------------------

  /// Queues a fan-out frame; it is written by the next flush of the dirty
  /// sessions, after the hand-offs already waiting on the I/O thread (so
  /// one writev carries a burst of events).
  void enqueue_deferred(const frame_ptr& frame);

  /// One step of the liveness sweep: ping after activity_timeout, 4201
  /// after pong_timeout, hard close of closes that did not finish.
  void sweep(uint32_t now);

  /// Queues `final_frame` (if any) and a close frame with `code`; the socket
  /// closes when the client answers or after the grace period. Returns
  /// false when the session was not open.
  bool request_close(uint16_t code, std::string reason, frame_ptr final_frame);

  /// Writes every session of `worker` that enqueue_deferred() marked, then
  /// records the publish stamps of the events that pass carried.
  static void flush_dirty(io_worker& worker);

  /// Remembers the publish time of an event just queued on `worker`'s
  /// sessions; recorded by the next flush_dirty (posted if none is).
  static void note_published(io_worker& worker, const publish_stamp& stamp);

  websocket_session* prev_ = nullptr; ///< Registry list.
  websocket_session* next_ = nullptr; ///< Registry list.

private:
  /// Inbound frames waiting at the actor before reading pauses.
  static constexpr int max_inflight = 64;

  /// Returns a close frame's payload: the code, then the reason.
  static frame_ptr close_payload(uint16_t code, const std::string& reason);

  void link_in();
  void link_out();
  void refuse(int code, const std::string& message);
  bool admit(); // The node's connection limits; refuses and returns false past them.
  void enqueue_reserved(frame_ptr frame);
  bool enqueue_counted(const frame_ptr& frame);
  void flush();
  std::size_t write_some(const out_buffer* pieces, std::size_t n,
                         beast::error_code& ec);
  void on_flushed();
  void on_slow_consumer();
  void wait_read();
  void on_readable();
  void on_message(ws_message& m);
  void on_close_frame(const std::string& payload);
  void fail(uint16_t code);
  void shutdown();
  void release(const released& r);

  std::shared_ptr<server_context> ctx_;
  io_worker& worker_;
  tcp_socket sock_;
  std::unique_ptr<tls_channel> tls_; // nullptr: plain TCP.
  websocket_parser parser_;
  outbound_queue outq_;
  outbound_budget budget_;
  std::atomic<int> inflight_{0};      // Inbound frames at the actor.
  std::atomic<bool> dropping_{false}; // Over the bound: refuse further sends.
  caf::actor actor_;                  // The connection; null once closed.
  // The app's counters, found once at the handshake (null before).
  std::shared_ptr<app_counters> counters_;
  uint16_t close_code_ = 0;           // First close code sent or received.
  uint32_t last_seen_s_ = 0;          // Last inbound message.
  uint32_t ping_sent_s_ = 0;          // When the unanswered ping left.
  uint32_t closing_since_s_ = 0;      // When our close was asked for.
  uint32_t partial_since_s_ = 0;      // When the unfinished message began.
  phase phase_ = phase::handshake;
  bool ping_outstanding_ = false; // A pusher:ping waits for any answer.
  bool writing_ = false;          // Waiting for writability.
  bool reading_ = false;          // Waiting for readability.
  bool dirty_ = false;            // In the dirty list for the next flush.
  bool linked_ = false;           // In the registry list.
};

/// Completes the WebSocket handshake for `req` on `socket` (in TLS through
/// `tls` unless nullptr) and runs the session. Runs on `worker`'s thread,
/// which owns the socket.
void start_websocket_session(const std::shared_ptr<server_context>& ctx,
                             io_worker& worker, tcp_socket socket,
                             http::request<http::string_body> req,
                             std::unique_ptr<tls_channel> tls = nullptr);

/// Runs one liveness sweep over every session of `worker`. On its thread,
/// once a second.
void sweep_websocket_sessions(server_context& ctx, io_worker& worker);

/// Starts closing up to `max` open sessions of `worker` with `code` and
/// `reason` (graceful shutdown, in batches). Runs on its thread.
void close_websocket_sessions(io_worker& worker, uint16_t code,
                              const std::string& reason, std::size_t max);

} // namespace starling::transport
