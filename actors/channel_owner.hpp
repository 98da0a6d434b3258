// The channel owner: exactly one per channel in the cluster, on the
// channel's owner node. It holds the cluster-wide truth (which nodes have
// subscribers and how many, the roster counted per node, the cached event,
// the sequence number) and emits member events, subscription counts and
// webhooks exactly once.
//
// States, one behavior each, joined by become:
//
//   spawn --(within a handoff window | rebuilt after a crash)--> settling
//   spawn ------------------------------------------------------> owning
//   settling --(owner_handoff in | settle timer | awaited syncs in)--> owning
//   owning --(hand_off done)--> forwarding --(30 s idle | successor down)--> quit
//   owning --(no subscribers anywhere, nothing cached, nothing pending)--> quit
//
// settling: a predecessor may be handing its state over (the ring just
//   changed), or the predecessor crashed and the nodes re-sync; published
//   and client events are held (bounded in time, answered once numbered),
//   joins and leaves go on (the owner's own member and count events are
//   never held, so a join reply and the events before it stay consistent).
// owning: the normal state.
// forwarding: the state left for the successor; every call that still
//   arrives (callers with an older view) is delegated there, which works as
//   a redirect the caller does not notice.
//
// An owner is the owner part of a channel actor (channel.hpp): hosted by
// this node's channel of the same name when the directory creates it while
// that channel exists, else in an actor of its own with no subscribers.
// When a hosted owner ends, the channel part goes on (and finds its next
// owner); when the channel part stops, an owner part still in use goes on.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "actors/app_context.hpp"
#include "actors/channel.hpp"
#include "actors/flyweight_actor.hpp"
#include "actors/logic_hooks.hpp"
#include "actors/messages.hpp"
#include "actors/replay_buffer.hpp"
#include "actors/presence_roster.hpp"
#include "pusher/channel_kind.hpp"

namespace starling {

/// One node's interest in a channel.
struct node_interest {
  std::size_t subscribers = 0; ///< Connections of that node on the channel.
  channel_actor channel;       ///< That node's local channel actor.
  bool synced = false;         ///< Told by the node itself (beats a handoff).
  uint64_t generation = 0;     ///< Bumped by each join or sync of the node.
};

/// The last event of a cache channel (Pusher protocol §2.8).
struct cached_event {
  bool held = false;  ///< An event is held (it may have expired).
  std::string event;  ///< Event name.
  std::string data;   ///< Data string.
  std::chrono::steady_clock::time_point expires; ///< When it lapses.
  bool expire_pending = false; ///< An expire tick is scheduled.
  bool miss_reported = false;  ///< cache_miss webhook sent since the last publish.
};

/// An event that arrived while the owner settled, in arrival order.
struct held_event {
  bool client = false;   ///< A client event (else published).
  channel_event publish; ///< The published event.
  client_event event;    ///< The client event.
  channel_actor via;     ///< The channel that forwarded the client event.
  /// The publisher's answer, given once the event is numbered.
  caf::typed_response_promise<publish_ack> ack;
  uint64_t give_up_ms = 0; ///< See publish_event.
  bool ask_logic = false;  ///< The publish hooks decide it first.
};

/// What few owners need: the members of a roster kind and those on their
/// way out, events held while settling and their publishers' answers, the
/// nodes a rebuilt owner waits for. One pointer in owner_state, allocated
/// on first use (owner_state::more()).
struct owner_extras {
  presence_roster roster; ///< Members (roster kinds).
  /// Members whose node's channel crashed or died, with the deadline to
  /// re-join before member_removed goes out.
  std::map<std::string, std::chrono::steady_clock::time_point> departing;
  std::vector<held_event> held; ///< Events held while settling.
  /// Answers of held publishes (shared with the functor that fails them if
  /// the owner ends first); null until the first one.
  std::shared_ptr<std::vector<caf::typed_response_promise<publish_ack>>>
    unacked;
  /// Settling ends early once these nodes synced (a rebuild after a crash
  /// on a single node).
  std::vector<std::string> await_syncs;
  bool await_any = false; ///< Whether await_syncs was given at all.
  /// Forwarding: the successor (its down ends the forwarder) and when the
  /// last call was forwarded.
  caf::actor_addr successor;
  std::chrono::steady_clock::time_point forwarded_at;
};

/// State of a channel owner: the owner part of a channel actor. The
/// channel's name, traits, app context and directory are the actor's
/// (channel_state), set for an owner in an actor of its own too.
struct owner_state {
  cluster_actor bridge;            ///< Fan-out to other nodes; null alone.
  std::map<std::string, node_interest> nodes; ///< node id -> interest.
  std::size_t subscribers = 0;     ///< Connections cluster-wide.
  uint64_t seq = 0;                ///< Last sequence number handed out.
  /// Events sent to other nodes, for nodes whose bus lost some, and for a
  /// while after a node's channel crashed (its replacement resumes).
  replay_buffer replay;
  /// Until when every event is kept for replay (a channel crashed).
  std::chrono::steady_clock::time_point keep_replay_until;
  std::unique_ptr<cached_event> cache; ///< Cache kinds only; null before.
  /// When this owner started: a young owner without a handoff is being
  /// rebuilt from the edges (its predecessor died).
  std::chrono::steady_clock::time_point born;
  bool handed_in = false;       ///< Got its predecessor's state in a handoff.
  bool recount_pending = false; ///< A subscription_count is scheduled.
  bool fanned_out = false;      ///< Numbered an event (a handoff then cannot reset the numbers).
  bool handed_off = false;      ///< Its state went to a successor (forwarding).
  bool idle_check_pending = false; ///< An idle_atom for keep_replay_until is scheduled.
  /// A dead owner node's copy said the channel was occupied: once the
  /// rebuild grace is over, channel_vacated unless someone is subscribed.
  bool vacate_due = false;
  bool took_lost_copy = false; ///< Acted on a dead owner node's copy (once).
  /// See owner_extras; null until first needed.
  std::unique_ptr<owner_extras> extras;
  /// App logic for this channel; null when no binding applies to it.
  std::unique_ptr<owner_hooks> hooks;

  /// The extras, allocated on first use: call it to change them.
  owner_extras& more() {
    if (!extras)
      extras = std::make_unique<owner_extras>();
    return *extras;
  }

  /// The extras to read; empty ones (shared) where none were needed.
  const owner_extras& view() const;

  /// Takes the roster members `node` connected and returns the users that
  /// are no members any more (none without a roster).
  std::vector<std::string> remove_members_of(const std::string& node);
};

/// The actor an owner runs in: a channel actor (channel.hpp).
using owner_flyweight = channel_flyweight;

/// Spawned by the owner directory for an owner in an actor of its own
/// (not linked: it says owner_ended as it ends). Messages: owner_actor in
/// actors/fwd.hpp; each state's handling is documented in the .cpp.
channel_actor::behavior_type
channel_owner_behavior(owner_flyweight self,
                       owner_start start);

/// Makes `self` (a channel actor) host the owner described by `start`;
/// returns the actor's behavior from now on.
channel_actor::behavior_type host_owner_part(owner_flyweight self,
                                             owner_start start);

} // namespace starling

