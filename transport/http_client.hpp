// The Beast HTTP client behind webhooks: keep-alive connections per host,
// timeouts, one request at a time per connection.
#pragma once

#include "actors/http_poster.hpp"
#include "transport/net.hpp"

namespace starling::transport {

/// Returns an http_poster whose requests run on `ioc` (which outlives it).
http_poster_ptr make_http_poster(net::io_context& ioc);

} // namespace starling::transport
