// `starling top --admin http://host:port [--token T] [--interval S]
// [--once]`: a terminal view of a running cluster, read from one node's
// admin endpoint (/topology?scope=cluster and /metrics): nodes, apps,
// busiest channels and the asked node's rates, refreshed in place.
#pragma once

namespace starling::transport {

/// Runs the top view; `argv[0]` is "top". Returns the process exit code
/// (0, 2 on bad arguments, 1 when the node cannot be read with --once).
int run_top(int argc, char** argv);

} // namespace starling::transport
