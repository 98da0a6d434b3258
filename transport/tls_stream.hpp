// A Beast stream over tls_channel for the HTTP phase of a TLS connection:
// async_read_some / async_write_some that wait for socket readiness, with
// tcp_stream-like timeouts. On a WebSocket upgrade it hands the socket and
// the TLS connection to the session, which then drives them itself.
// Included by http_session.cpp only (Beast templates stay in few TUs).
#pragma once

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "transport/net.hpp"
#include "transport/tls_channel.hpp"

namespace starling::transport {

/// AsyncReadStream and AsyncWriteStream over one accepted TLS connection.
/// I/O thread only.
class tls_stream {
public:
  using executor_type = tcp_socket::executor_type;

  /// Wraps `socket` (accepted, not yet handshaken) in TLS from `ctx`.
  tls_stream(tcp_socket socket, SSL_CTX* ctx)
    : state_(std::make_shared<state>(std::move(socket))) {
    beast::error_code ignored;
    // OpenSSL reads the descriptor itself: it must never block.
    state_->sock.non_blocking(true, ignored);
    state_->tls = std::make_unique<tls_channel>(
      ctx, static_cast<int>(state_->sock.native_handle()));
  }

  /// Returns the socket's executor.
  executor_type get_executor() {
    return state_->sock.get_executor();
  }

  /// Returns the TCP socket.
  tcp_socket& socket() {
    return state_->sock;
  }

  /// Fails pending and later operations with beast::error::timeout after
  /// `d` (as tcp_stream does).
  void expires_after(std::chrono::steady_clock::duration d) {
    state_->timed_out = false;
    state_->timer.expires_after(d);
    state_->timer.async_wait([w = std::weak_ptr<state>(state_)](
                               beast::error_code ec) {
      auto s = w.lock();
      if (ec || !s)
        return;
      s->timed_out = true;
      beast::error_code ignored;
      s->sock.cancel(ignored);
    });
  }

  /// Disarms the timeout.
  void expires_never() {
    state_->timer.cancel();
  }

  /// Sends close_notify if possible and closes the socket.
  void close() {
    state_->timer.cancel();
    if (state_->tls)
      state_->tls->close_notify();
    beast::error_code ignored;
    state_->sock.close(ignored);
  }

  /// Hands over the socket and its TLS connection (WebSocket upgrade).
  std::pair<tcp_socket, std::unique_ptr<tls_channel>> release() {
    state_->timer.cancel();
    return {std::move(state_->sock), std::move(state_->tls)};
  }

  /// Reads into the first buffer of `buffers`.
  template <class MutableBufferSequence, class ReadHandler>
  BOOST_ASIO_INITFN_RESULT_TYPE(ReadHandler, void(beast::error_code, std::size_t))
  async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    net::mutable_buffer first = *net::buffer_sequence_begin(buffers);
    return net::async_compose<ReadHandler, void(beast::error_code, std::size_t)>(
      io_op{state_, first.data(), first.size(), true}, handler, state_->sock);
  }

  /// Writes up to one record's worth of `buffers` (copied, so a retry
  /// passes OpenSSL the same bytes).
  template <class ConstBufferSequence, class WriteHandler>
  BOOST_ASIO_INITFN_RESULT_TYPE(WriteHandler, void(beast::error_code, std::size_t))
  async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    auto& out = state_->out;
    out.resize(std::min<std::size_t>(net::buffer_size(buffers), 16384));
    auto n = net::buffer_copy(net::buffer(out), buffers);
    return net::async_compose<WriteHandler, void(beast::error_code, std::size_t)>(
      io_op{state_, out.data(), n, false}, handler, state_->sock);
  }

private:
  struct state {
    explicit state(tcp_socket s)
      : sock(std::move(s)), timer(sock.get_executor()) {
      // nop
    }
    tcp_socket sock;
    std::unique_ptr<tls_channel> tls;
    net::steady_timer timer;
    std::vector<char> out; // The pending write's bytes.
    bool timed_out = false;
  };

  // One read or write: try, wait for the readiness OpenSSL asks for, retry.
  struct io_op {
    std::shared_ptr<state> s;
    void* data;
    std::size_t size;
    bool reading;
    bool started = false;

    template <class Self>
    void operator()(Self& self, beast::error_code ec = {}) {
      if (!started) {
        // Never complete inside the initiating call.
        started = true;
        return net::post(s->sock.get_executor(), std::move(self));
      }
      if (s->timed_out)
        return self.complete(beast::error::timeout, 0);
      if (ec)
        return self.complete(ec, 0);
      if (!s->tls || !s->tls->valid())
        return self.complete(net::error::bad_descriptor, 0);
      if (size == 0)
        return self.complete({}, 0);
      auto n = reading ? s->tls->read(data, size, ec)
                       : s->tls->write(data, size, ec);
      if (ec == net::error::would_block) {
        bool want_write = reading ? s->tls->read_wants_write()
                                  : !s->tls->write_wants_read();
        return s->sock.async_wait(want_write ? tcp_socket::wait_write
                                             : tcp_socket::wait_read,
                                  std::move(self));
      }
      self.complete(ec, n);
    }
  };

  std::shared_ptr<state> state_;
};

} // namespace starling::transport
