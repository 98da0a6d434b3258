// Server-side TLS contexts of the listeners: a certificate, its key and
// optional client CAs loaded into an OpenSSL SSL_CTX. The listener swaps in
// a fresh one on SIGHUP; connections keep the one they started with.
#pragma once

#include <memory>
#include <string>

#include "config/settings.hpp"

typedef struct ssl_ctx_st SSL_CTX;

namespace starling::transport {

/// One loaded certificate and key. Each connection's SSL object holds its
/// own OpenSSL reference to the SSL_CTX, so dropping or replacing this
/// never touches open connections.
class tls_context {
public:
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;
  ~tls_context();

  /// Loads the files of `s`. Returns the context, or nullptr with `error`
  /// saying which file is wrong and why.
  static std::shared_ptr<tls_context> load(const config::tls_settings& s,
                                           std::string& error);

  /// Returns the OpenSSL context new connections are made from.
  SSL_CTX* native() const {
    return ctx_;
  }

  /// Returns "subject=... serial=..." of the certificate, for logs.
  const std::string& summary() const {
    return summary_;
  }

private:
  tls_context() = default;

  SSL_CTX* ctx_ = nullptr;
  std::string summary_;
};

} // namespace starling::transport
