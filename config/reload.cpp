// SIGHUP: re-load, apply the log level, report the rest.
#include "config/reload.hpp"

#include <spdlog/spdlog.h>

#include "config/describe.hpp"
#include "config/load.hpp"
#include "config/environment.hpp"

namespace starling::config {

reloader::reloader(int argc, const char* const* argv,
                   std::set<std::string> logic_actors,
                   config::settings running)
  : logic_actors_(std::move(logic_actors)), running_(std::move(running)) {
  for (int i = 0; i < argc; ++i)
    args_.emplace_back(argv[i] != nullptr ? argv[i] : "");
}

std::string reloader::operator()() {
  auto log = spdlog::get("main");
  std::vector<const char*> argv;
  for (const auto& a : args_)
    argv.push_back(a.c_str());
  auto outcome = config::load(static_cast<int>(argv.size()), argv.data(),
                              starling_environment(), logic_actors_);
  if (outcome.what == config::load_outcome::kind::error) {
    auto summary = "reload refused, still running the previous config: "
                   + outcome.error.field + ": " + outcome.error.problem;
    if (log)
      log->error("{}", summary);
    return summary;
  }
  if (outcome.what != config::load_outcome::kind::run)
    return "reload: nothing to do";
  auto& next = outcome.value;
  auto changed = config::changed_keys(running_, next);
  std::string applied;
  std::string restart;
  for (const auto& path : changed) {
    if (path == "logging.level") {
      // Every component logger follows the registry's level.
      spdlog::set_level(spdlog::level::from_str(next.logging.level));
      running_.logging = next.logging;
      applied += (applied.empty() ? "" : ", ") + path;
    } else {
      restart += (restart.empty() ? "" : ", ") + path;
    }
  }
  std::string summary = changed.empty() ? "reloaded: no change"
                                        : "reloaded";
  if (!applied.empty())
    summary += "; applied " + applied + " (logging.level="
               + next.logging.level + ")";
  if (!restart.empty())
    summary += "; needs a restart to take effect: " + restart;
  if (log) {
    for (const auto& w : outcome.warnings)
      log->warn("{}", w);
    if (restart.empty())
      log->info("{}", summary);
    else
      log->warn("{}", summary);
  }
  return summary;
}

} // namespace starling::config
