// The local bridge: interest is recorded, nothing leaves the process.
#include "bridge/local_bridge.hpp"

#include <stdexcept>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "bridge/bridge_fault.hpp"
#include "bridge/bridge_stats.hpp"

namespace starling::bridge {

caf::behavior local_bridge_behavior(
  caf::stateful_actor<local_bridge_state>* self, cluster_member local) {
  self->state.local = std::move(local);
  // One member that never changes: the epoch of the first (and only) view.
  auto view = [self] { return cluster_view{{self->state.local}, 1}; };
  self->set_exception_handler([self](std::exception_ptr& ep) {
    return bridge_exception(self->state.local.node_id, ep);
  });
  return {
    [=](caf::subscribe_atom, std::string& app_id, std::string& channel,
        const caf::actor& local_channel) {
      // Idempotent; the last handle wins.
      self->state.channels[{std::move(app_id), std::move(channel)}]
        = local_channel.address();
      return caf::ok_atom::value;
    },
    [=](caf::unsubscribe_atom, std::string& app_id, std::string& channel) {
      self->state.channels.erase({std::move(app_id), std::move(channel)});
      return caf::ok_atom::value;
    },
    [=](caf::publish_atom, const std::string&, const std::string&,
        const channel_event&) {
      // nop: no other node, and the owner already delivered locally.
    },
    [=](caf::join_atom, const caf::actor& listener) {
      self->send(listener, view_atom::value, view());
      return caf::ok_atom::value;
    },
    [=](caf::get_atom) { return view(); },
    [=](peers_atom) { return std::vector<caf::actor>{}; },
    [=](owner_atom, const std::string&, const std::string&) {
      return caf::actor{}; // One node: it owns every channel.
    },
    [=](caf::leave_atom) {
      return caf::ok_atom::value; // No other node to hand channels to.
    },
    [=](stats_atom) {
      bridge_stats stats;
      stats.subscriptions = self->state.channels.size();
      return stats;
    },
    [=](caf::close_atom) {
      self->quit();
      return caf::ok_atom::value;
    },
    [=](crash_atom) -> caf::result<void> {
      // Fault injection (admin /faults/crash, kind=bridge): the node
      // restarts the bridge.
      throw std::runtime_error("injected fault in bridge of node "
                               + self->state.local.node_id);
    },
  };
}

} // namespace starling::bridge
