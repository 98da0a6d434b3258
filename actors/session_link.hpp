// What a connection needs from its socket: send frames, close, flow control.
// Declared here, implemented in transport/, faked in tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "pusher/socket_id.hpp"

namespace starling {

/// One encoded frame; a broadcast shares one buffer among all recipients.
using frame_ptr = std::shared_ptr<const std::string>;

/// Result of queueing a frame on a socket.
enum class send_result : uint8_t {
  queued,       ///< Accepted into the bounded outbound queue.
  backpressure, ///< Accepted, but the queue is more than half full.
  dropped,      ///< Over the bound or closed: not sent; the socket is being closed.
};

/// The socket side of one WebSocket connection. Every call is thread-safe
/// and never blocks; work is handed to the socket's I/O thread.
class session_link {
public:
  /// A link whose socket runs on I/O thread `shard`.
  explicit session_link(uint16_t shard = 0) : shard_(shard) {
    // nop
  }

  virtual ~session_link();

  /// Returns the I/O thread the socket runs on; fixed for the link's life,
  /// so channels can order their subscriber lists by it.
  uint16_t shard() const {
    return shard_;
  }

  /// Queues one text frame. Over the outbound bound, the session closes with
  /// 4100 (Pusher: over capacity, reconnect after back-off) and drops it.
  virtual send_result send(frame_ptr frame) = 0;

  /// Sends `final_frame` (if any), then closes with WebSocket close `code`.
  virtual void close(uint16_t code, std::string reason,
                     frame_ptr final_frame = nullptr) = 0;

  /// Sends `pusher:error` with `code` and `message`, then closes with the
  /// same code: how Pusher servers refuse or end a connection.
  void close_with_error(uint16_t code, const std::string& message);

  /// Binds the connection actor: inbound frames go there from now on, and
  /// reading starts.
  virtual void bind(caf::actor connection) = 0;

  /// Tells the session one inbound frame was processed (inbound flow
  /// control: reading pauses while too many frames wait at the actor).
  virtual void consumed() = 0;

  /// Returns the outbound bytes queued and not yet written (admin view).
  /// Any thread; a snapshot.
  virtual std::size_t queued_bytes() const {
    return 0;
  }

  /// Returns the Pusher socket id of the connection on this socket. Kept
  /// here, once per connection and compact (two numbers, no heap), so that
  /// channels need no copy per subscription for exclusion.
  const pusher::compact_socket_id& id() const {
    return id_;
  }

  /// Returns the socket id's text.
  std::string socket_id() const {
    return id_.to_string();
  }

  /// Sets the socket id; the connection actor does so when it starts,
  /// before it sends any join, so every reader sees it set.
  void set_socket_id(pusher::compact_socket_id id) {
    id_ = id;
  }

private:
  uint16_t shard_;
  pusher::compact_socket_id id_;
};

/// Shared handle to a session; actors hold it, transport implements it.
using session_link_ptr = std::shared_ptr<session_link>;

/// Returns a frame that owns `text`.
inline frame_ptr make_frame(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

} // namespace starling
