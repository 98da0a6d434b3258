// Thread-safe app lookup (app_directory.hpp).
#include "actors/app_directory.hpp"

namespace starling {

const char* to_string(app_status status) {
  switch (status) {
    case app_status::running:
      return "running";
    case app_status::restarting:
      return "restarting";
    case app_status::failed:
      return "failed";
  }
  return "unknown";
}

void app_directory::add(const app_context_ptr& ctx) {
  std::lock_guard<std::mutex> guard{mtx_};
  by_key_.emplace(ctx->app.key, apps_.size());
  by_id_.emplace(ctx->app.id, apps_.size());
  apps_.push_back(app_entry{ctx, {}, app_status::restarting});
}

void app_directory::set(const std::string& app_id, app_actor actor,
                        app_status status) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = by_id_.find(app_id); i != by_id_.end()) {
    apps_[i->second].actor = std::move(actor);
    apps_[i->second].status = status;
  }
}

std::optional<app_entry> app_directory::by_key(const std::string& key) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = by_key_.find(key); i != by_key_.end())
    return apps_[i->second];
  return std::nullopt;
}

std::optional<app_entry> app_directory::by_id(const std::string& id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = by_id_.find(id); i != by_id_.end())
    return apps_[i->second];
  return std::nullopt;
}

std::vector<app_entry> app_directory::all() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return apps_;
}

} // namespace starling
