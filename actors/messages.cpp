// Registration of the message types that cross nodes.
#include "actors/messages.hpp"

#include <caf/actor_system_config.hpp>

#include "actors/cluster.hpp"
#include "actors/http_poster.hpp"
#include "pusher/frame.hpp"

namespace starling {

session_link::~session_link() {
  // nop
}

void session_link::close_with_error(uint16_t code, const std::string& message) {
  close(code, message, make_frame(pusher::encode_error(code, message)));
}

void session_link::send_to_all(const frame_ptr& frame,
                               const session_list& targets,
                               const session_link* exclude) {
  for (auto& target : *targets)
    if (target.get() != exclude)
      target->send(frame);
}

http_poster::~http_poster() {
  // nop
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<publish_request>("starling::publish_request");
  cfg.add_message_type<client_event>("starling::client_event");
  cfg.add_message_type<owner_join>("starling::owner_join");
  cfg.add_message_type<owner_joined>("starling::owner_joined");
  cfg.add_message_type<owner_leave>("starling::owner_leave");
  cfg.add_message_type<owner_sync>("starling::owner_sync");
  cfg.add_message_type<owner_handoff>("starling::owner_handoff");
  cfg.add_message_type<channel_event>("starling::channel_event");
  cfg.add_message_type<channel_idle>("starling::channel_idle");
  cfg.add_message_type<owner_idle>("starling::owner_idle");
  cfg.add_message_type<channel_info>("starling::channel_info");
  cfg.add_message_type<std::vector<channel_info>>("std::vector<starling::channel_info>");
  cfg.add_message_type<channels_request>("starling::channels_request");
  cfg.add_message_type<channel_request>("starling::channel_request");
  cfg.add_message_type<terminate_request>("starling::terminate_request");
  cfg.add_message_type<user_signed_in>("starling::user_signed_in");
  cfg.add_message_type<webhook_event>("starling::webhook_event");
  cfg.add_message_type<crash_request>("starling::crash_request");
  cfg.add_message_type<cluster_member>("starling::cluster_member");
  cfg.add_message_type<std::vector<cluster_member>>(
    "std::vector<starling::cluster_member>");
  cfg.add_message_type<cluster_view>("starling::cluster_view");
}

} // namespace starling
