// Plain HTTP request/response values passed between the Beast HTTP session
// and the route handlers (REST API, admin), which never see Beast.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace starling::transport {

/// One HTTP request as the handlers see it.
struct http_request_view {
  std::string method;        ///< "GET", "POST", ...
  std::string target;        ///< Path and query, as sent.
  std::string body;          ///< Raw body bytes.
  std::string authorization; ///< Authorization header, if any.
};

/// The source of a response that stays open as server-sent events
/// (text/event-stream): the admin page's live updates.
class event_source {
public:
  virtual ~event_source() = default;

  /// Called on the I/O thread once the header is out. `send` queues one
  /// chunk of the stream (I/O thread only) and returns false once the
  /// client is gone; the source then drops `send` (which holds the
  /// session) and stops.
  virtual void start(std::function<bool(std::string)> send) = 0;
};

/// One HTTP response.
struct http_reply {
  unsigned status = 200;                        ///< HTTP status.
  std::string content_type = "application/json"; ///< Exactly this header value.
  std::string body;                              ///< Response body.
  /// Extra headers (e.g. Retry-After on 503).
  std::vector<std::pair<std::string, std::string>> headers;
  /// Set: the response is an event stream from this source (status,
  /// content type and body are not used).
  std::shared_ptr<event_source> events;
};

/// Completion of a request; may be called on any thread, exactly once.
using reply_fn = std::function<void(http_reply)>;

/// Returns `{"error":"<message>"}` with the given status.
http_reply json_error(unsigned status, const std::string& message);

} // namespace starling::transport
