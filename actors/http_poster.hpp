// What the webhook actor needs from an HTTP client: post a body, learn the
// status. Declared here, implemented with Beast in transport/.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace starling {

/// Header name/value pairs of an outgoing request.
using http_headers = std::vector<std::pair<std::string, std::string>>;

/// How an https request checks its peer.
struct tls_options {
  std::string ca_file;      ///< PEM CAs; empty: the system CAs.
  bool skip_verify = false; ///< No certificate or name check (tests only).
};

/// Sends HTTP POST requests. Thread-safe; never blocks the caller.
class http_poster {
public:
  virtual ~http_poster();

  /// POSTs `body` to `url` (http[s]://host[:port]/path). `done` runs once,
  /// on an I/O thread, with the HTTP status, or 0 on a connection error,
  /// a failed certificate check or a timeout.
  virtual void post(const std::string& url, http_headers headers,
                    std::string body, std::function<void(int)> done) = 0;

  /// As above; an https `url` is checked as `tls` says. By default the
  /// options are ignored (fakes in tests).
  virtual void post(const std::string& url, http_headers headers,
                    std::string body, const tls_options& tls,
                    std::function<void(int)> done) {
    (void) tls;
    post(url, std::move(headers), std::move(body), std::move(done));
  }
};

/// Shared handle to an HTTP client.
using http_poster_ptr = std::shared_ptr<http_poster>;

} // namespace starling
