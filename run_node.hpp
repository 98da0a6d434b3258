// The Starling composition root as a library function, so that a custom
// binary can register its own app logic actors (see actors/logic.hpp and
// examples/) and still start exactly the node the `starling` binary starts.
#pragma once

namespace starling {

class logic_registry;

/// Runs one node: reads the config from `argv` (flags, --config FILE) and the
/// STARLING_* environment, validates `apps[].logic[].actor` against
/// `logic`, serves until SIGINT/SIGTERM, drains, and returns the process
/// exit code (0 after a clean stop, 2 for a bad config, 1 when a listener
/// or the cluster publication fails). `logic` is copied; it may go away
/// once this returns.
int run_node(int argc, char** argv, const logic_registry& logic);

} // namespace starling
