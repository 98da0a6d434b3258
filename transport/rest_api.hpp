// The Pusher HTTP API (Pusher protocol §6) on the public port: routing and
// authentication, then each endpoint handed to the actors. Decoding and the
// JSON of the answers are pure (pusher/http_api.hpp).
#pragma once

#include <string>
#include <unordered_map>

#include "transport/http_reply.hpp"
#include "transport/rate_limiter.hpp"

namespace starling::config {
struct app_settings;
} // namespace starling::config

namespace starling::pusher {
struct api_target;
} // namespace starling::pusher

namespace starling::transport {

struct server_context;

/// Routes and answers HTTP API requests on the public port.
class rest_api {
public:
  /// Reads the apps and limits from `ctx.settings`; `ctx` outlives this.
  explicit rest_api(server_context& ctx);

  /// Answers `req` through `done` (now or later, on any thread).
  void handle(const http_request_view& req, const reply_fn& done);

private:
  void trigger(const config::app_settings& app, const std::string& body,
               const reply_fn& done);
  void batch(const config::app_settings& app, const std::string& body,
             const reply_fn& done);
  void channels(const config::app_settings& app, const pusher::api_target& t,
                const reply_fn& done);
  void channel(const config::app_settings& app, const pusher::api_target& t,
               const reply_fn& done);
  void users(const config::app_settings& app, const pusher::api_target& t,
             const reply_fn& done);
  void terminate(const config::app_settings& app, const pusher::api_target& t,
                 const reply_fn& done);

  /// Answers 429 past the app's http_requests_per_second; else wraps
  /// `done` to carry the X-RateLimit-* headers. Returns false when answered.
  bool within_rate(const config::app_settings& app, reply_fn& done);

  server_context& ctx_;
  rate_limiter limiter_; ///< Per app, for http_requests_per_second.
  std::unordered_map<std::string, const config::app_settings*> apps_by_id_;
};

} // namespace starling::transport
