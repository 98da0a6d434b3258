// One server-side TLS connection over a non-blocking socket: reads and
// writes that never block, for sessions that wait for readiness themselves
// (transport/ws/session.cpp) and for the HTTP phase (tls_stream.hpp).
// OpenSSL works on the descriptor directly: no Asio buffers in between, and
// an idle connection holds no record buffer (SSL_MODE_RELEASE_BUFFERS).
#pragma once

#include <cstddef>
#include <string>

#include <boost/system/error_code.hpp>

#include "transport/ws/outbound_queue.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace starling::transport {

/// The TLS side of one accepted connection. The socket stays with the
/// caller, who must keep it open while this lives. One thread at a time.
class tls_channel {
public:
  /// Starts a server-side TLS connection from `ctx` on descriptor `fd`
  /// (non-blocking). The handshake runs inside the first reads and writes.
  tls_channel(SSL_CTX* ctx, int fd);
  ~tls_channel();

  tls_channel(const tls_channel&) = delete;
  tls_channel& operator=(const tls_channel&) = delete;

  /// Returns whether the SSL object was created.
  bool valid() const {
    return ssl_ != nullptr;
  }

  /// Reads decrypted bytes. Returns their count, or 0 with `ec` set:
  /// would_block (wait for what read_wants_write() says), eof, or a TLS
  /// or socket error.
  std::size_t read(void* data, std::size_t size, boost::system::error_code& ec);

  /// Writes `size` bytes; on would_block the next call must pass the same
  /// bytes again (OpenSSL's retry rule). Returns the bytes written.
  std::size_t write(const void* data, std::size_t size,
                    boost::system::error_code& ec);

  /// Writes up to one TLS record gathered from `pieces`. Returns the bytes
  /// taken over, also when `ec` is would_block: OpenSSL has sealed them
  /// into a record that this channel finishes writing on later calls
  /// (write_pending() until then), so the caller drops them from its queue.
  std::size_t write_gather(const ws::out_buffer* pieces, std::size_t n,
                           boost::system::error_code& ec);

  /// Returns whether a sealed record still waits for the socket.
  bool write_pending() const {
    return !retry_.empty();
  }

  /// Returns whether the last would_block of read() waits for writability.
  bool read_wants_write() const {
    return read_wants_write_;
  }

  /// Returns whether the last would_block of a write waits for
  /// readability.
  bool write_wants_read() const {
    return write_wants_read_;
  }

  /// Returns whether decrypted bytes wait inside OpenSSL: the socket will
  /// not signal readability for them.
  bool buffered() const;

  /// Sends close_notify if the socket takes it now; never waits.
  void close_notify();

private:
  std::size_t fail(int result, bool reading, boost::system::error_code& ec);

  SSL* ssl_ = nullptr;
  std::string retry_; // Bytes of a sealed record not yet fully written.
  bool read_wants_write_ = false;
  bool write_wants_read_ = false;
};

} // namespace starling::transport
