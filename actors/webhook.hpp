// The webhook actor: one per app with webhooks. Holds channel_vacated and
// member_removed for a grace period, batches, signs, posts and retries,
// with a bounded queue, so a slow receiver never slows event delivery.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include <string>

#include <caf/typed_response_promise.hpp>

#include "actors/app_counters.hpp"
#include "actors/http_poster.hpp"
#include "actors/messages.hpp"
#include "config/settings.hpp"

namespace starling {

/// A webhook event waiting to be sent, with its creation time.
struct pending_webhook {
  webhook_event event; ///< The event.
  int64_t time_ms = 0; ///< When it was created (Unix ms): the body's time_ms.
};

/// One HTTP request of webhooks, kept until a 2xx or the retry window ends.
struct webhook_request {
  std::string url;      ///< Target.
  std::size_t hook = 0; ///< Index of its entry in the app's webhooks.
  std::string body;     ///< Signed body.
  int attempts = 0;     ///< Attempts so far.
  std::chrono::steady_clock::time_point first_try; ///< Start of the retry window.
  std::chrono::steady_clock::time_point next_try;  ///< When to retry.
};

/// State of a webhook actor.
struct webhook_state {
  static inline const char* name = "webhooks";
  config::app_settings app;  ///< Targets, secret, batching.
  http_poster_ptr poster;    ///< HTTP client.
  std::shared_ptr<app_counters> counters; ///< Delivery latency goes here.
  std::deque<pending_webhook> ready; ///< Due now.
  /// channel_vacated / member_removed held for the grace period, by key.
  std::map<std::string, std::pair<pending_webhook,
                                  std::chrono::steady_clock::time_point>>
    held;
  std::map<uint64_t, webhook_request> in_flight; ///< Posted, no answer yet.
  /// Built but not posted: at most max_in_flight requests are open, so a
  /// stuck receiver cannot use up the node's sockets.
  std::deque<std::pair<uint64_t, webhook_request>> waiting;
  std::map<uint64_t, webhook_request> retrying;  ///< Failed, waiting to retry.
  uint64_t next_request = 0;   ///< Request ids.
  bool tick_pending = false;   ///< A flush tick is scheduled.
  uint64_t sent = 0;           ///< Requests answered with 2xx.
  uint64_t dropped = 0;        ///< Events dropped (queue full or retries exhausted).
  std::vector<caf::typed_response_promise<caf::ok_atom>> drains; ///< Shutdown waiting for in_flight.
};

/// Tuning of the webhook actor (tests shorten the grace period).
struct webhook_timing {
  std::chrono::milliseconds grace{3000};  ///< Hold for vacated/member_removed.
  std::chrono::milliseconds tick{100};    ///< Flush and retry granularity.
  std::chrono::seconds retry_window{300}; ///< Give up after this long.
  std::size_t max_queue = 10000;          ///< Events and requests held at most.
  std::size_t max_in_flight = 16;         ///< Concurrent HTTP requests.
};

/// Spawned and supervised by the node. Messages (webhook_actor in
/// actors/fwd.hpp): `webhook_event` (from owners), `(posted_atom, id,
/// status)` (from the poster), `(flush_atom)` (own tick), `(drain_atom)`
/// (shutdown), `(stats_atom)` -> webhook_stats, `(crash_atom)`.
webhook_actor::behavior_type
webhook_behavior(webhook_actor::stateful_pointer<webhook_state> self,
                 config::app_settings app, http_poster_ptr poster,
                 webhook_timing timing, std::shared_ptr<app_counters> counters);

} // namespace starling
