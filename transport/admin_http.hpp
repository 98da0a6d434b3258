// The admin endpoint: health, readiness, Prometheus metrics, the topology
// (JSON, live event stream, page) and operator actions; bearer-token
// protected when a token is configured (docs/admin.md).
#pragma once

#include <string>

#include "transport/http_reply.hpp"

namespace starling::transport {

struct server_context;

/// Routes and answers admin requests.
class admin_http {
public:
  /// `ctx` outlives this.
  explicit admin_http(server_context& ctx);

  /// Answers `req` through `done`.
  void handle(const http_request_view& req, const reply_fn& done);

private:
  http_reply metrics() const;

  /// The self-contained /topology.html (admin_page.cpp).
  static std::string topology_page();

  server_context& ctx_;
};

} // namespace starling::transport
