// A session_link for actor tests: records every frame, close, bind and
// consumed call instead of touching a socket (as centrifuge's testTransport
// does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>

#include "actors/session_link.hpp"

namespace starling::test {

/// Records what actors do to a socket. Thread-safe, although the test
/// coordinator runs everything on one thread.
class fake_session_link : public session_link {
public:
  using session_link::session_link; // fake_session_link(shard)
  using session_link::set_socket_id;

  /// Sets the socket id from its text (as tests name sockets); the text
  /// must be one the server could have made.
  void set_socket_id(const std::string& text) {
    auto id = pusher::parse_socket_id(text);
    if (!id)
      throw std::invalid_argument("not a socket id of ours: " + text);
    set_socket_id(*id);
  }
  /// One call of close().
  struct close_call {
    uint16_t code = 0;     ///< WebSocket close code.
    std::string reason;    ///< Close reason.
    frame_ptr final_frame; ///< Frame sent before closing, or null.
  };

  /// Result that send() returns from now on.
  void set_send_result(send_result result) {
    std::lock_guard<std::mutex> guard{mtx_};
    result_ = result;
  }

  send_result send(frame_ptr frame) override {
    std::lock_guard<std::mutex> guard{mtx_};
    frames_.push_back(std::move(frame));
    return result_;
  }

  void close(uint16_t code, std::string reason,
             frame_ptr final_frame = nullptr) override {
    caf::actor dropped;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      closes_.push_back(
        close_call{code, std::move(reason), std::move(final_frame)});
      // A closed session lets go of its actor, as the real one does.
      dropped = std::move(bound_);
    }
  }

  void bind(caf::actor connection) override {
    std::lock_guard<std::mutex> guard{mtx_};
    binds_.push_back(caf::actor_cast<caf::actor_addr>(connection));
    // Strong, like the real session: nobody else may hold the connection
    // (the app only links to it). Fixtures kill actors at teardown, which
    // breaks the link <-> connection cycle.
    bound_ = std::move(connection);
  }

  void consumed() override {
    std::lock_guard<std::mutex> guard{mtx_};
    ++consumed_;
  }

  /// Returns the frames sent so far, as shared buffers (pointer identity).
  std::vector<frame_ptr> frames() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return frames_;
  }

  /// Returns the text of the frames sent so far.
  std::vector<std::string> texts() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::string> result;
    result.reserve(frames_.size());
    for (auto& f : frames_)
      result.push_back(f ? *f : std::string{"<null frame>"});
    return result;
  }

  /// Returns the number of frames sent so far.
  std::size_t frame_count() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return frames_.size();
  }

  /// Returns the text of the last frame, or an empty string.
  std::string last_text() const {
    std::lock_guard<std::mutex> guard{mtx_};
    if (frames_.empty() || !frames_.back())
      return {};
    return *frames_.back();
  }

  /// Returns every close() call so far.
  std::vector<close_call> closes() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return closes_;
  }

  /// Returns the addresses bind() received, in order.
  std::vector<caf::actor_addr> binds() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return binds_;
  }

  /// Returns the bound connection actor until close() is called.
  caf::actor bound() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return bound_;
  }

  /// Returns how often consumed() was called.
  std::size_t consumed_count() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return consumed_;
  }

  /// Forgets the recorded frames (closes, binds and consumed stay).
  void clear_frames() {
    std::lock_guard<std::mutex> guard{mtx_};
    frames_.clear();
  }

private:
  mutable std::mutex mtx_;
  send_result result_ = send_result::queued;
  std::vector<frame_ptr> frames_;
  std::vector<close_call> closes_;
  std::vector<caf::actor_addr> binds_;
  caf::actor bound_;
  std::size_t consumed_ = 0;
};

/// Shared handle to a fake link; converts to session_link_ptr.
using fake_link_ptr = std::shared_ptr<fake_session_link>;

/// Returns a fresh fake link on I/O thread `shard`.
inline fake_link_ptr make_fake_link(uint16_t shard = 0) {
  return std::make_shared<fake_session_link>(shard);
}

} // namespace starling::test
