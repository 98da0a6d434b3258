// The process environment as the config loader takes it.
#pragma once

#include <map>
#include <string>

namespace starling::config {

/// Every STARLING_* variable of this process, name to value.
std::map<std::string, std::string> starling_environment();

} // namespace starling::config
