// The process side of /metrics, by Prometheus conventions: build info,
// resident memory, CPU seconds, open file descriptors, start time (read
// from /proc on Linux; absent elsewhere).
#pragma once

#include "actors/prometheus_text.hpp"

namespace starling::transport {

/// Writes starling_build_info and the process_* families.
void write_process_metrics(prometheus_text& out);

} // namespace starling::transport
