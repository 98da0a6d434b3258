// Component loggers: main creates one named spdlog logger per component;
// actors look theirs up here (tests get a quiet default).
#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
} // namespace spdlog

namespace starling {

/// Returns the logger named `component`, creating a default one if main did
/// not (unit tests).
std::shared_ptr<spdlog::logger> component_logger(const std::string& component);

} // namespace starling
