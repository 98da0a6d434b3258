// What both bridges answer beyond the cluster_actor contract
// (actors/cluster.hpp): their counters on `(stats_atom)` and an explicit
// stop on `(caf::close_atom)`. Local to a node, never sent to another.
#pragma once

#include <cstdint>

#include <caf/meta/type_name.hpp>

namespace starling::bridge {

/// Counters of one bridge, the reply to `(stats_atom)`. The local bridge has
/// no bus and fills only `subscriptions`.
struct bridge_stats {
  uint64_t subscriptions = 0;    ///< Channels with local interest now.
  uint64_t published = 0;        ///< Events handed to the bus.
  uint64_t publish_failures = 0; ///< Events the bus refused: lost elsewhere.
  uint64_t delivered = 0;        ///< Events of other nodes handed to channels.
  uint64_t echoes = 0;           ///< Own events that came back, dropped.
  uint64_t bad_payloads = 0;     ///< Undecodable or misaddressed, dropped.
  uint64_t disconnects = 0;      ///< Times the bus connection was lost.
  uint64_t reconnects = 0;       ///< Times it came back.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bridge_stats& x) {
  return f(caf::meta::type_name("bridge_stats"), x.subscriptions, x.published,
           x.publish_failures, x.delivered, x.echoes, x.bad_payloads,
           x.disconnects, x.reconnects);
}

} // namespace starling::bridge
