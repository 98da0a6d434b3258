// The local bridge: interest is recorded, nothing leaves the process.
#include "bridge/local_bridge.hpp"

#include <stdexcept>

#include <caf/all.hpp>

#include "bridge/bridge_fault.hpp"

namespace starling::bridge {

cluster_actor::behavior_type
local_bridge_behavior(cluster_actor::stateful_pointer<local_bridge_state> self,
                      cluster_member local) {
  self->state.local = std::move(local);
  // One member that never changes: the epoch of the first (and only) view.
  auto view = [self] { return cluster_view{{self->state.local}, 1, "start"}; };
  self->set_exception_handler([self](std::exception_ptr& ep) {
    return bridge_exception(self->state.local.node_id, ep);
  });
  return {
    [self](caf::subscribe_atom, std::string& app_id, std::string& channel,
           const channel_actor& local_channel) {
      // Idempotent; the last handle wins.
      self->state.channels[{std::move(app_id), std::move(channel)}]
        = local_channel.address();
      return caf::ok_atom::value;
    },
    [self](caf::unsubscribe_atom, std::string& app_id, std::string& channel) {
      self->state.channels.erase({std::move(app_id), std::move(channel)});
      return caf::ok_atom::value;
    },
    [](const fan_out_event&) {
      // nop: no other node, and the owner already delivered locally.
    },
    [self, view](caf::join_atom, const node_actor& listener) {
      self->send(listener, view());
      return caf::ok_atom::value;
    },
    [view](caf::get_atom) { return view(); },
    [](caf::leave_atom) {
      return caf::ok_atom::value; // No other node to hand channels to.
    },
    [](const owner_node_request&) {
      return node_actor{}; // One node: it owns every channel.
    },
    [](const standby_node_request&) {
      return node_actor{}; // No other node to take a channel over.
    },
    [](peers_atom) { return std::vector<node_actor>{}; },
    [self](stats_atom) {
      bridge_stats stats;
      stats.subscriptions = self->state.channels.size();
      return stats;
    },
    [self](caf::close_atom) {
      self->quit();
      return caf::ok_atom::value;
    },
    [self](crash_atom) {
      // Fault injection (admin /faults/crash, kind=bridge): the node
      // restarts the bridge.
      throw std::runtime_error("injected fault in bridge of node "
                               + self->state.local.node_id);
    },
  };
}

} // namespace starling::bridge
