// The Pusher HTTP API (Pusher protocol §6): request authentication, input
// limits, and hand-off of triggers to the node actor.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "transport/http_reply.hpp"

namespace starling::config {
struct app_settings;
} // namespace starling::config

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
  void channels(const config::app_settings& app,
                const std::vector<std::pair<std::string, std::string>>& params,
                const reply_fn& done);
  void channel(const config::app_settings& app, const std::string& name,
               const std::vector<std::pair<std::string, std::string>>& params,
               bool users, const reply_fn& done);
  void terminate(const config::app_settings& app, const std::string& user_id,
                 const reply_fn& done);

  server_context& ctx_;
  std::unordered_map<std::string, const config::app_settings*> apps_by_id_;
};

} // namespace starling::transport
