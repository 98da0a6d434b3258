// Messages to an app's webhook actor: the events owners report, and its
// counters.
#pragma once

#include <cstdint>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

namespace starling {

/// One webhook event (Pusher protocol §7.2), reported by the channel owner
/// (once per occurrence cluster-wide).
struct webhook_event {
  std::string name;      ///< channel_occupied, member_added, client_event, ...
  std::string channel;   ///< Channel.
  std::string user_id;   ///< member_*; client_event on presence channels.
  std::string event;     ///< client_event: the event name.
  std::string data;      ///< client_event: the data as JSON text.
  std::string socket_id; ///< client_event: the sender.
  int64_t subscription_count = -1; ///< subscription_count events.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, webhook_event& x) {
  return f(caf::meta::type_name("webhook_event"), x.name, x.channel, x.user_id,
           x.event, x.data, x.socket_id, x.subscription_count);
}

/// Counters of a webhook actor.
struct webhook_stats {
  uint64_t sent = 0;    ///< Requests answered with 2xx.
  uint64_t dropped = 0; ///< Events dropped (queue full or retries exhausted).
  uint64_t queued = 0;  ///< Events and requests waiting now.
};

} // namespace starling

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::webhook_stats)
