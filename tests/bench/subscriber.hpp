// Subscriber worker of starling_loadgen: one process, one epoll loop, many
// Pusher WebSocket connections subscribed to one channel.
#pragma once

#include <cstdint>

#include "options.hpp"

namespace starling::bench {

/// Runs worker `index` with `conns` connections and returns its exit code.
///
/// Control protocol over `ctl_fd` (a blocking stream socket), one line each:
/// the worker sends `ready ok=.. failed=.. connect_ms=.. err=..` once every
/// connection is subscribed or has failed, and `done key=value.. hist=..` when
/// it stops. It accepts `go` (start measuring), `expect <m>` (m events were
/// published: stop once each connection has m, or after --idle-ms of quiet)
/// and `stop`. EOF on `ctl_fd` or `deadline_ns` (CLOCK_MONOTONIC) stops it too.
int run_subscriber_worker(const loadgen_options& opts, int index, int conns,
                          int ctl_fd, int64_t deadline_ns);

} // namespace starling::bench
