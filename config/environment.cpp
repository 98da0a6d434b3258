// Reads STARLING_* variables from environ once per call (start, reload).
#include "config/environment.hpp"

extern char** environ;

namespace starling::config {

std::map<std::string, std::string> starling_environment() {
  std::map<std::string, std::string> result;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry{*e};
    if (entry.rfind("STARLING_", 0) != 0)
      continue;
    auto eq = entry.find('=');
    if (eq != std::string::npos)
      result.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return result;
}

} // namespace starling::config
