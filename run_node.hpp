// The Starling composition root as a library function, so that a custom
// binary can register its own app logic actors (see actors/logic.hpp and
// examples/) and still start exactly the node the `starling` binary starts.
#pragma once

namespace starling {

class logic_registry;

/// The exit codes of run_node, and so of the `starling` binary.
enum exit_code : int {
  exit_ok = 0,         ///< Clean stop; --help, --version, valid --check-config.
  exit_failure = 1,    ///< A listener or the middleman could not be opened.
  exit_bad_config = 2, ///< Bad config file, variable or flag.
};

/// Runs one node: reads the config from `argv` (flags, --config FILE) and the
/// STARLING_* environment, validates `apps[].logic[].actor` against
/// `logic`, serves until SIGINT/SIGTERM, drains, and returns an exit_code.
/// SIGHUP re-reads the config (config/reload.hpp). Under systemd
/// (Type=notify) it reports READY=1 once it listens, RELOADING=1 and
/// STOPPING=1. `logic` is copied; it may go away once this returns.
int run_node(int argc, char** argv, const logic_registry& logic);

} // namespace starling
