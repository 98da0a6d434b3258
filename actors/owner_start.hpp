// How a channel's owner starts, and the message that makes a channel actor
// host it (channel_owner.hpp). Its own header: the channel actor's
// interface names it, and channel.hpp cannot include channel_owner.hpp.
#pragma once

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/timespan.hpp>

#include "actors/app_context.hpp"
#include "actors/fwd.hpp"

namespace starling {

/// How an owner starts.
struct owner_start {
  std::string channel;             ///< The channel.
  app_context_ptr ctx;             ///< App and node facts.
  owner_directory_actor directory; ///< Its directory (parent).
  app_actor app;                   ///< Its app (logic publishes through it).
  cluster_actor bridge;            ///< The bridge now; null alone.
  uint64_t seq_base = 0;           ///< First sequence number to continue from.
  caf::timespan settle{};          ///< Zero: own at once; else settle this long.
  /// Nodes whose sync ends the settling early (empty: only the timer or a
  /// handoff ends it).
  std::vector<std::string> await_syncs;
  std::vector<caf::actor> app_bound_logic; ///< App-bound instance handles.
};

/// Directory -> this node's channel: host the channel's owner from now on
/// (the directory hands the channel out as the owner). Reply: ok_atom, or
/// an error if it hosts one already.
struct host_owner {
  owner_start start; ///< How the owner starts.
};

} // namespace starling

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::host_owner)
