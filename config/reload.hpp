// What SIGHUP does to a running node: read the settings again from the same
// command line, config file and environment, apply what can change while
// running, and say what cannot.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace starling::config {

/// Re-reads the configuration on request. Today the log level is applied at
/// run time; any other changed key is logged as needing a restart (the
/// actors take apps and limits at start). A config that no longer loads is
/// logged and ignored: a reload never stops the node.
class reloader {
public:
  /// `argv` is copied; `running` is what the node started with.
  reloader(int argc, const char* const* argv,
           std::set<std::string> logic_actors, config::settings running);

  /// Reads the settings again and applies them. Returns a one-line summary
  /// (also logged on the "main" logger) for the service manager's status.
  std::string operator()();

private:
  std::vector<std::string> args_;
  std::set<std::string> logic_actors_;
  config::settings running_;
};

} // namespace starling::config
