// Publisher of starling_loadgen: signed Pusher REST publishes
// (POST /apps/<id>/events) over keep-alive HTTP/1.1 connections, paced or not.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "options.hpp"

namespace starling::bench {

/// How much to publish; the connection and app come from loadgen_options.
struct publish_plan {
  int64_t count = 0;     ///< Events to send; 0 = until `duration_s`.
  double duration_s = 0; ///< Stop sending after this; 0 = no time bound.
  double rate = 0; ///< Events per second; 0 = as fast as `concurrency` allows.
  int concurrency = 10; ///< Keep-alive connections, one request in flight each.
  std::string channel;  ///< Target channel.
  /// Rounds: with N > 0, request k publishes round k / ceil(N / batch) (the
  /// event's "i") to channels `<channel>-<b*batch>` .. `<channel>-<b*batch +
  /// batch - 1>` (capped at N - 1), b = k % ceil(N / batch); `count` and
  /// `rate` then count requests, not rounds.
  int round_channels = 0;
  int batch = 100; ///< Channels per request in rounds.
  /// Requests per pacing step: request k is due at k / burst / rate (rounds
  /// with --round-burst: a round's requests go back to back).
  int burst = 1;
};

/// What the publisher did.
struct publish_report {
  int64_t sent = 0;        ///< Requests written.
  int64_t ok = 0;          ///< 2xx responses.
  int64_t errors = 0;      ///< Non-2xx responses and requests lost to resets.
  int64_t reconnects = 0;  ///< Connections reopened after a close.
  int64_t start_ns = 0;    ///< CLOCK_MONOTONIC at the first send.
  int64_t end_ns = 0;      ///< CLOCK_MONOTONIC at the last response.
  bool timed_out = false;  ///< Stopped by the deadline or a signal.
  std::string first_error; ///< First failure, one token plus detail.
  latency_histogram request_latency; ///< Request written -> response read.
  std::vector<int64_t> round_sent_real_ns;   ///< Rounds: first request's stamp.
  std::vector<int64_t> request_sent_real_ns; ///< Rounds: every request's stamp.
};

/// Publishes according to `plan`; stops at `deadline_ns` (CLOCK_MONOTONIC) or
/// when `*stop` becomes non-zero. Runs on the calling thread.
publish_report run_publisher(const loadgen_options& opts,
                             const publish_plan& plan, int64_t deadline_ns,
                             const volatile sig_atomic_t* stop);

} // namespace starling::bench
