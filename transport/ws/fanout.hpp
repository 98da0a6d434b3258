// The transport's fan-out sink (actors/fanout_sink.hpp): a channel hands it
// one encoded event and its subscribers' sessions; it posts one hand-off to
// the I/O thread, which queues the frame on each session and writes them
// all in one pass.
#pragma once

#include "actors/fanout_sink.hpp"
#include "transport/net.hpp"

namespace starling::transport {

/// Returns the fan-out sink for sessions running on `ioc`.
fanout_sink_ptr make_fanout_sink(net::io_context& ioc);

} // namespace starling::transport
