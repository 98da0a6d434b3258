// Component logger lookup (see log.hpp).
#include "actors/log.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace starling {

std::shared_ptr<spdlog::logger> component_logger(const std::string& component) {
  static std::mutex mtx;
  std::lock_guard<std::mutex> guard{mtx};
  if (auto existing = spdlog::get(component))
    return existing;
  auto result = spdlog::stderr_color_mt(component);
  result->set_level(spdlog::get_level());
  return result;
}

} // namespace starling
