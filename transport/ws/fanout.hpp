// The transport's fan-out sink (actors/fanout_sink.hpp): a channel hands it
// one encoded event and its subscribers' sessions; it posts one hand-off to
// each I/O thread holding subscribers, which queues the frame on its own
// sessions and writes them all in one pass.
#pragma once

#include <vector>

#include "actors/fanout_sink.hpp"

namespace starling::transport {

struct io_worker;

/// Returns the fan-out sink for sessions running on `workers` (which
/// outlive it).
fanout_sink_ptr make_fanout_sink(std::vector<io_worker*> workers);

} // namespace starling::transport
