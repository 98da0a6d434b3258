// Non-blocking TLS reads and writes with OpenSSL (tls_channel.hpp).
#include "transport/tls_channel.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace starling::transport {

namespace {

// One TLS record's worth of plaintext: a gathered write seals at most this.
constexpr std::size_t max_record = 16384;

// Gather buffer of the I/O thread: channels keep no write buffer of their
// own unless a record is stuck (retry_).
thread_local std::array<char, max_record> gather_buffer;

} // namespace

tls_channel::tls_channel(SSL_CTX* ctx, int fd) {
  // SSL_new takes its own reference to ctx: the context this connection
  // started with lives as long as it, whatever SIGHUP loads meanwhile.
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr)
    return;
  SSL_set_fd(ssl_, fd);
  SSL_set_accept_state(ssl_);
}

tls_channel::~tls_channel() {
  SSL_free(ssl_);
}

std::size_t tls_channel::fail(int result, bool reading,
                              boost::system::error_code& ec) {
  int error = SSL_get_error(ssl_, result);
  switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      if (reading)
        read_wants_write_ = error == SSL_ERROR_WANT_WRITE;
      else
        write_wants_read_ = error == SSL_ERROR_WANT_READ;
      ec = boost::asio::error::would_block;
      return 0;
    case SSL_ERROR_ZERO_RETURN:
      ec = boost::asio::error::eof;
      return 0;
    case SSL_ERROR_SYSCALL:
      if (errno != 0 && ERR_peek_error() == 0) {
        ec.assign(errno, boost::system::system_category());
        return 0;
      }
      ec = boost::asio::error::eof;
      ERR_clear_error();
      return 0;
    default:
      ec.assign(static_cast<int>(ERR_get_error()),
                boost::asio::error::get_ssl_category());
      ERR_clear_error();
      return 0;
  }
}

std::size_t tls_channel::read(void* data, std::size_t size,
                              boost::system::error_code& ec) {
  ec = {};
  std::size_t n = 0;
  // SSL_get_error reads the thread's error queue: it must start empty.
  ERR_clear_error();
  errno = 0;
  int r = SSL_read_ex(ssl_, data, size, &n);
  if (r == 1)
    return n;
  return fail(r, true, ec);
}

std::size_t tls_channel::write(const void* data, std::size_t size,
                               boost::system::error_code& ec) {
  ec = {};
  std::size_t n = 0;
  ERR_clear_error();
  errno = 0;
  int r = SSL_write_ex(ssl_, data, size, &n);
  if (r == 1)
    return n;
  return fail(r, false, ec);
}

std::size_t tls_channel::write_gather(const ws::out_buffer* pieces,
                                      std::size_t count,
                                      boost::system::error_code& ec) {
  ec = {};
  if (!retry_.empty()) {
    // Finish the sealed record first; OpenSSL wants the same bytes again.
    write(retry_.data(), retry_.size(), ec);
    if (ec)
      return 0;
    retry_.clear();
    retry_.shrink_to_fit();
  }
  // Small frames share one record: one seal and one syscall per batch.
  std::size_t size = 0;
  for (std::size_t i = 0; i < count && size < max_record; ++i) {
    auto take = std::min(pieces[i].size, max_record - size);
    std::memcpy(gather_buffer.data() + size, pieces[i].data, take);
    size += take;
  }
  if (size == 0)
    return 0;
  auto n = write(gather_buffer.data(), size, ec);
  if (ec == boost::asio::error::would_block) {
    // Sealed but not sent: keep the bytes for the retry, tell the caller
    // they are taken.
    retry_.assign(gather_buffer.data(), size);
    return size;
  }
  return n;
}

bool tls_channel::buffered() const {
  return SSL_pending(ssl_) > 0;
}

void tls_channel::close_notify() {
  if (ssl_ == nullptr || !SSL_is_init_finished(ssl_))
    return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

} // namespace starling::transport
