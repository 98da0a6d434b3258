// App logic bindings and their counters (logic_bindings.hpp).
#include "actors/logic_bindings.hpp"

#include <chrono>

#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling {

// -- stats and bindings ----------------------------------------------------------

void logic_stats::mark_failed(const std::string& where) {
  std::lock_guard<std::mutex> guard{mtx_};
  failed_.insert(where);
}

void logic_stats::unmark_failed(const std::string& where) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = failed_.find(where); i != failed_.end())
    failed_.erase(i);
}

std::size_t logic_stats::failed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return failed_.size();
}

std::vector<std::string> logic_stats::failed_where() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {failed_.begin(), failed_.end()};
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative, with one backtrack point for the last '*': linear in
  // practice, no recursion on hostile patterns.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool logic_binding::applies_to(const std::string& channel) const {
  return pattern.empty() || glob_match(pattern, channel);
}

logic_table_ptr make_logic_table(const config::app_settings& app,
                                 const logic_registry& registry) {
  if (app.logic.empty())
    return nullptr;
  auto table = std::make_shared<logic_table>();
  for (auto& cfg : app.logic) {
    auto entry = registry.find(cfg.actor);
    if (entry == nullptr) {
      component_logger("logic")->error(
        "app={} binds unknown logic actor {}; skipped", app.id, cfg.actor);
      continue;
    }
    logic_binding b;
    b.actor = cfg.actor;
    b.pattern = cfg.channels;
    b.factory = entry->factory;
    b.hooks = entry->hooks;
    b.timeout = std::chrono::milliseconds(cfg.timeout_ms);
    b.pass_when_unavailable = cfg.on_unavailable == "pass";
    b.unavailable_wait = std::chrono::milliseconds(cfg.unavailable_wait_ms);
    // 10 ms, doubling with every further restart inside the window, capped.
    b.restarts.max_restarts = cfg.max_restarts;
    b.restarts.window = std::chrono::seconds(cfg.restart_window_s);
    b.restarts.first_delay = std::chrono::milliseconds(10);
    b.restarts.backoff = std::chrono::milliseconds(20);
    b.restarts.max_delay = std::chrono::milliseconds(cfg.max_backoff_ms);
    b.snapshot_max_bytes = cfg.snapshot_max_bytes;
    table->bindings.push_back(std::move(b));
  }
  if (table->bindings.empty())
    return nullptr;
  return table;
}

} // namespace starling
