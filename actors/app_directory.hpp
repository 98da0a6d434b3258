// Where the transport finds each app: its settings, context and current
// actor, by key (WebSocket handshakes) or by id (HTTP API). The node writes
// it as it starts and restarts apps; readers on any thread get a copy.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/app_context.hpp"
#include "actors/fwd.hpp"

namespace starling {

/// Whether an app serves right now.
enum class app_status {
  running,    ///< Its actor serves.
  restarting, ///< Crashed; back after its back-off.
  failed,     ///< Past its restart limit.
};

/// Returns "running", "restarting" or "failed".
const char* to_string(app_status status);

/// One app as the transport sees it.
struct app_entry {
  app_context_ptr ctx;                    ///< Settings, counters, slots.
  app_actor actor;                        ///< Valid while running.
  app_status status = app_status::restarting; ///< Whether it serves.
};

/// Thread-safe app lookup, written by the node.
class app_directory {
public:
  /// Registers an app (before it starts).
  void add(const app_context_ptr& ctx);

  /// Records the app's current actor and status.
  void set(const std::string& app_id, app_actor actor, app_status status);

  /// Returns the app with `key`, if configured.
  std::optional<app_entry> by_key(const std::string& key) const;

  /// Returns the app with `id`, if configured.
  std::optional<app_entry> by_id(const std::string& id) const;

  /// Returns every app, in configuration order.
  std::vector<app_entry> all() const;

private:
  mutable std::mutex mtx_;
  std::vector<app_entry> apps_;
  std::unordered_map<std::string, std::size_t> by_key_;
  std::unordered_map<std::string, std::size_t> by_id_;
};

} // namespace starling
