// The one registration of the message types that cross nodes.
#include "actors/messages.hpp"

#include <caf/actor_system_config.hpp>

namespace starling {

void add_message_types(caf::actor_system_config& cfg) {
  // Handles: owners, nodes and channels are named in remote messages.
  cfg.add_message_type<owner_actor>("starling::owner_actor");
  cfg.add_message_type<node_actor>("starling::node_actor");
  cfg.add_message_type<channel_actor>("starling::channel_actor");
  cfg.add_message_type<std::vector<node_actor>>(
    "std::vector<starling::node_actor>");
  // Owner calls and their answers.
  cfg.add_message_type<owner_join>("starling::owner_join");
  cfg.add_message_type<owner_joined>("starling::owner_joined");
  cfg.add_message_type<owner_leave>("starling::owner_leave");
  cfg.add_message_type<owner_sync>("starling::owner_sync");
  cfg.add_message_type<owner_synced>("starling::owner_synced");
  cfg.add_message_type<roster_entry>("starling::roster_entry");
  cfg.add_message_type<channel_event>("starling::channel_event");
  cfg.add_message_type<publish_event>("starling::publish_event");
  cfg.add_message_type<std::vector<channel_event>>(
    "std::vector<starling::channel_event>");
  cfg.add_message_type<replay_request>("starling::replay_request");
  cfg.add_message_type<replay_events>("starling::replay_events");
  cfg.add_message_type<publish_ack>("starling::publish_ack");
  cfg.add_message_type<client_event>("starling::client_event");
  cfg.add_message_type<logic_answer>("starling::logic_answer");
  cfg.add_message_type<node_moved>("starling::node_moved");
  cfg.add_message_type<handoff_node>("starling::handoff_node");
  cfg.add_message_type<logic_state>("starling::logic_state");
  cfg.add_message_type<owner_handoff>("starling::owner_handoff");
  cfg.add_message_type<standby_copy>("starling::standby_copy");
  cfg.add_message_type<lost_owner_copy>("starling::lost_owner_copy");
  cfg.add_message_type<owner_ref>("starling::owner_ref");
  cfg.add_message_type<local_owner_request>("starling::local_owner_request");
  cfg.add_message_type<channel_report>("starling::channel_report");
  cfg.add_message_type<std::vector<channel_report>>(
    "std::vector<starling::channel_report>");
  // Peer queries of the HTTP API.
  cfg.add_message_type<channels_request>("starling::channels_request");
  cfg.add_message_type<terminate_request>("starling::terminate_request");
  cfg.add_message_type<publish_request>("starling::publish_request");
  cfg.add_message_type<crash_request>("starling::crash_request");
  // Admin (scope=cluster asks every node).
  cfg.add_message_type<topology_request>("starling::topology_request");
  cfg.add_message_type<disconnect_request>("starling::disconnect_request");
  // Membership.
  cfg.add_message_type<cluster_member>("starling::cluster_member");
  cfg.add_message_type<cluster_view>("starling::cluster_view");
  cfg.add_message_type<bridge_stats>("starling::bridge_stats");
  cfg.add_message_type<webhook_event>("starling::webhook_event");
}

} // namespace starling
