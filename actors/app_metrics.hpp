// The per-app traffic side of /metrics: counters with the `app` label,
// the subscription and presence gauges and the latency histograms, read
// from each app's shared counters (no actor is asked).
#pragma once

#include <vector>

#include "actors/app_directory.hpp"
#include "actors/prometheus_text.hpp"

namespace starling {

/// Writes the traffic families of `apps`.
void write_app_traffic(prometheus_text& out, const std::vector<app_entry>& apps);

/// Writes the logic hook latency histograms of `apps` (nothing without
/// logic bindings).
void write_logic_latency(prometheus_text& out, const std::vector<app_entry>& apps);

} // namespace starling
