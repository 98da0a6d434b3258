// The outbound side of one WebSocket session, pure: the frames waiting to
// be written (a shared payload each, with its own RFC 6455 header), how much
// of them the socket took, and the bound on what a client may leave
// unread. No I/O: the session gathers buffers from it, writes them, and
// tells it how many bytes left.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "actors/session_link.hpp"
#include "transport/ws/framing.hpp"

namespace starling::transport::ws {

/// The bound on one session's queued data frames, shared by the threads
/// that queue (actors) and the thread that writes. Lock-free.
class outbound_budget {
public:
  /// At most `max_bytes` and `max_frames` queued data frames.
  outbound_budget(std::size_t max_bytes, std::size_t max_frames)
    : max_bytes_(max_bytes), max_frames_(max_frames) {
    // nop
  }

  /// Counts one frame of `size` bytes. Returns `dropped` (and counts
  /// nothing) when it would pass the bound, `backpressure` when the queue
  /// is more than half full, else `queued`. Any thread.
  send_result reserve(std::size_t size);

  /// Returns `bytes` of `frames` frames to the budget. Any thread.
  void release(std::size_t bytes, std::size_t frames);

  /// Returns whether one more frame of `size` bytes fits. Any thread.
  bool fits(std::size_t size) const;

  /// Returns the bytes counted now.
  std::size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

  /// Returns the frames counted now.
  std::size_t frames() const {
    return frames_.load(std::memory_order_relaxed);
  }

private:
  std::size_t max_bytes_;
  std::size_t max_frames_;
  std::atomic<std::size_t> bytes_{0};
  std::atomic<std::size_t> frames_{0};
};

/// One contiguous piece of output.
struct out_buffer {
  const void* data = nullptr; ///< First byte.
  std::size_t size = 0;       ///< Bytes.
};

/// What fully written (or dropped) data frames give back to the budget.
struct released {
  std::size_t bytes = 0;  ///< Payload bytes of counted frames.
  std::size_t frames = 0; ///< Counted frames.
};

/// Frames waiting to be written, in order. One thread (the session's).
class outbound_queue {
public:
  /// Appends a frame with `opcode` carrying `payload`. `counted`: a data
  /// frame that holds budget until it is written or dropped.
  void push(ws_opcode op, frame_ptr payload, bool counted);

  /// Appends bytes to write as they are (e.g. the handshake response).
  void push_raw(frame_ptr bytes);

  /// Returns whether nothing is left to write.
  bool empty() const { return head_ == items_.size(); }

  /// Returns whether the first item has been partly written.
  bool started() const { return offset_ > 0; }

  /// Fills `out` with up to `max` buffers of what is left, in order;
  /// returns how many.
  std::size_t gather(out_buffer* out, std::size_t max) const;

  /// The socket took `n` more bytes. Returns what fully written counted
  /// frames give back.
  released consume(std::size_t n);

  /// Drops every item that has not started to leave (a client too slow to
  /// read them); the one being written stays. Returns what they held.
  released drop_unstarted();

  /// Drops everything (the socket closed). Returns what it held.
  released clear();

  /// Frees storage once everything is written.
  void compact();

  /// Frees all storage if nothing is queued: an idle connection then keeps
  /// no buffer (compact() keeps a small one for the next frame).
  void release_storage();

  /// Returns whether the queue holds any storage (for tests).
  bool holds_storage() const { return items_.capacity() > 0; }

private:
  struct item {
    frame_ptr payload;
    std::array<uint8_t, 10> header{};
    uint8_t header_size = 0;
    bool counted = false;

    std::size_t size() const { return header_size + payload->size(); }
  };

  static released sum(std::vector<item>::const_iterator first,
                      std::vector<item>::const_iterator last);

  std::vector<item> items_;
  std::size_t head_ = 0;   // First item not fully written.
  std::size_t offset_ = 0; // Bytes of items_[head_] already written.
};

} // namespace starling::transport::ws
