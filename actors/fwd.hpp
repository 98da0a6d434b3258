// Typed handles of every actor that another file, folder or node talks to.
// Each entry is one message with one meaning; the compiler checks that an
// actor's behavior handles exactly its interface and that senders send what
// it takes. The message structs live in actors/protocol/*.hpp (one header
// per conversation); they are only declared here so that handles may name
// each other.
//
// Left dynamically typed, and why: app logic actors (users write them
// against actors/logic.hpp; the runtime asks them with timeouts and treats
// "unexpected message" as "not handled") and the one-shot actors transport
// spawns to ask a question.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace starling {

// -- atoms: payload-free commands (10 characters at most) ---------------------

/// Session -> connection: one inbound WebSocket message (text, is_binary).
using ws_frame_atom = caf::atom_constant<caf::atom("ws_frame")>;
/// Session -> connection: the socket is closed.
using ws_closed_atom = caf::atom_constant<caf::atom("ws_closed")>;
/// App -> connection: the app terminated this user's connections (4009).
using terminate_atom = caf::atom_constant<caf::atom("terminate")>;
/// Connection timer: the user-authentication timeout elapsed.
using auth_check_atom = caf::atom_constant<caf::atom("auth_check")>;
/// Connection timer: retry a silent re-join of a crashed channel.
using rejoin_atom = caf::atom_constant<caf::atom("rejoin")>;
/// Query of counters (admin, tests).
using stats_atom = caf::atom_constant<caf::atom("stats")>;
/// Query of a local channel's counters: its own atom, because an owner
/// hosted in the channel's actor answers `stats_atom` (channel_owner.hpp).
using channel_stats_atom = caf::atom_constant<caf::atom("ch_stats")>;
/// Query of the actor side of /metrics (admin).
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;
/// Fault injection: the receiver throws.
using crash_atom = caf::atom_constant<caf::atom("crash")>;
/// App -> channel: quit (after channel_idle, when no join raced it).
using stop_atom = caf::atom_constant<caf::atom("stop")>;
/// App or directory -> channel: find the owner (again) and sync with it.
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
/// Owner directory timer: publishes whose owner could not be reached try
/// again (the view may have dropped a dead node by now).
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// Channel timer: stop waiting for missing event numbers.
using gap_atom = caf::atom_constant<caf::atom("gap")>;
/// Owner timer: the cached event may have expired.
using expire_atom = caf::atom_constant<caf::atom("expire")>;
/// Owner timer: members of a lost channel that did not come back leave.
using departed_atom = caf::atom_constant<caf::atom("departed")>;
/// Owner timer: tell the subscription count after a rebuild.
using recount_atom = caf::atom_constant<caf::atom("recount")>;
/// Owner timer: stop waiting for a predecessor's handoff.
using settle_atom = caf::atom_constant<caf::atom("settle")>;
/// Owner to itself: end if nothing is left to order or tell (after an
/// answer that arrived asynchronously, e.g. a refused join).
using idle_atom = caf::atom_constant<caf::atom("idle")>;
/// Owner or app timer: hook questions waiting for a restarting logic
/// instance reached their deadline.
using logic_wait_atom = caf::atom_constant<caf::atom("lg_wait")>;
/// Directory timer: logic snapshots held back by the copy rate limit go
/// to their standby nodes.
using copy_atom = caf::atom_constant<caf::atom("lg_copy")>;
/// Owner query: the presence user ids.
using users_atom = caf::atom_constant<caf::atom("users")>;
/// Query: the node actors of the other live members (bridge).
using peers_atom = caf::atom_constant<caf::atom("peers")>;
/// Shutdown: flush what is held (webhooks) or leave the cluster (node).
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// Webhook timer: send due events, retry failed requests.
using flush_atom = caf::atom_constant<caf::atom("wh_flush")>;
/// Webhook: an HTTP request finished (request id, status).
using posted_atom = caf::atom_constant<caf::atom("wh_posted")>;

// -- message structs (defined in actors/protocol/) -----------------------------

struct ws_opened;
struct channel_join;
struct channel_joined;
struct watch_event;
struct user_signed_in;
struct signin_request;
struct signin_verdict;
struct publish_request;
struct publish_ack;
struct channel_request;
struct users_request;
struct channels_request;
struct terminate_request;
struct channel_report_msg;
struct owner_join;
struct owner_joined;
struct owner_leave;
struct owner_sync;
struct owner_synced;
struct owner_handoff;
struct owner_ref;
struct channel_event;
struct publish_event;
struct replay_request;
struct replay_events;
struct client_event;
struct logic_answer;
struct node_moved;
struct node_forget;
struct hand_off;
struct bridge_changed;
struct owner_stats;
struct channel_stats;
struct connection_stats;
struct resolve_owner;
struct owner_request;
struct local_owner_request;
struct channel_gone;
struct owner_handed_off;
struct owner_ended;
struct host_owner;
struct channel_idle;
struct channel_crashed;
struct connection_ended;
struct cluster_member;
struct cluster_view;
struct cluster_changed;
struct fan_out_event;
struct owner_node_request;
struct standby_node_request;
struct logic_snapshot_kept;
struct logic_state_request;
struct standby_copy;
struct occupancy_kept;
struct lost_owner_copy;
struct logic_state;
struct bridge_stats;
struct webhook_event;
struct webhook_stats;
struct crash_request;
struct topology_request;
struct disconnect_request;
struct app_stats;
struct node_stats;
struct restart_child;
struct logic_handles;
struct logic_restart;
struct join_cluster;

/// What the HTTP API reports about one channel (pusher::channel_report as
/// a message).
using channel_report = channel_report_msg;

// -- typed handles --------------------------------------------------------------

/// One WebSocket connection (actors/connection.hpp).
using connection_actor = caf::typed_actor<
  caf::reacts_to<ws_frame_atom, std::string, bool>,
  caf::reacts_to<ws_closed_atom>,
  caf::reacts_to<watch_event>,
  caf::reacts_to<terminate_atom>,
  caf::reacts_to<auth_check_atom>,
  caf::reacts_to<rejoin_atom, std::string>,
  caf::reacts_to<channel_crashed>,
  caf::replies_to<stats_atom>::with<connection_stats>,
  caf::reacts_to<crash_atom>>;

/// This node's subscribers of one channel (actors/channel.hpp).
using channel_actor = caf::typed_actor<
  caf::replies_to<channel_join>::with<channel_joined>,
  caf::reacts_to<caf::unsubscribe_atom>,
  caf::reacts_to<channel_event>,
  caf::reacts_to<client_event>,
  caf::reacts_to<logic_answer>,
  caf::reacts_to<resolve_atom>,
  caf::reacts_to<gap_atom>,
  caf::reacts_to<stop_atom>,
  caf::replies_to<channel_stats_atom>::with<channel_stats>,
  caf::replies_to<host_owner>::with<caf::ok_atom>,
  caf::reacts_to<crash_atom>>;

/// The authoritative state of one channel, on its owner node
/// (actors/channel_owner.hpp). Crosses nodes.
using owner_actor = caf::typed_actor<
  caf::replies_to<owner_join>::with<owner_joined>,
  caf::reacts_to<owner_leave>,
  caf::replies_to<owner_sync>::with<owner_synced>,
  caf::replies_to<publish_event>::with<publish_ack>,
  caf::replies_to<replay_request>::with<replay_events>,
  caf::reacts_to<client_event>,
  caf::reacts_to<node_moved>,
  caf::reacts_to<node_forget>,
  caf::replies_to<hand_off>::with<caf::ok_atom>,
  caf::replies_to<owner_handoff>::with<owner_ref>,
  caf::reacts_to<bridge_changed>,
  caf::reacts_to<logic_handles>,
  caf::reacts_to<logic_restart>,
  caf::reacts_to<logic_wait_atom>,
  caf::reacts_to<settle_atom>,
  caf::reacts_to<idle_atom>,
  caf::reacts_to<expire_atom>,
  caf::reacts_to<departed_atom>,
  caf::reacts_to<lost_owner_copy>,
  caf::reacts_to<recount_atom>,
  caf::replies_to<caf::get_atom>::with<channel_report>,
  caf::replies_to<users_atom>::with<std::vector<std::string>>,
  caf::replies_to<stats_atom>::with<owner_stats>,
  caf::replies_to<crash_request>::with<caf::ok_atom>,
  caf::reacts_to<crash_atom>>;

/// One node, published on its CAF middleman for the other nodes
/// (actors/node.hpp). Crosses nodes.
using node_actor = caf::typed_actor<
  caf::replies_to<local_owner_request>::with<owner_actor>,
  caf::replies_to<owner_handoff>::with<owner_ref>,
  caf::replies_to<standby_copy>::with<caf::ok_atom>,
  caf::replies_to<channels_request>::with<std::vector<channel_report>>,
  caf::replies_to<terminate_request>::with<caf::ok_atom>,
  caf::reacts_to<cluster_view>,
  caf::reacts_to<join_cluster>,
  caf::reacts_to<restart_child>,
  caf::replies_to<drain_atom>::with<caf::ok_atom>,
  caf::replies_to<crash_request>::with<caf::ok_atom>,
  caf::replies_to<topology_request>::with<std::string>,
  caf::replies_to<disconnect_request>::with<bool>,
  caf::replies_to<peers_atom>::with<std::vector<caf::actor>>,
  caf::replies_to<stats_atom>::with<node_stats>>;

/// The cluster bridge: interest per node, fan-out of owner events to other
/// nodes, the membership view and the ring. Implemented by local_bridge and
/// nats_bridge; the contract is written out in actors/protocol/cluster.hpp.
using cluster_actor = caf::typed_actor<
  caf::replies_to<caf::subscribe_atom, std::string, std::string,
                  channel_actor>::with<caf::ok_atom>,
  caf::replies_to<caf::unsubscribe_atom, std::string,
                  std::string>::with<caf::ok_atom>,
  caf::reacts_to<fan_out_event>,
  caf::replies_to<caf::join_atom, node_actor>::with<caf::ok_atom>,
  caf::replies_to<caf::get_atom>::with<cluster_view>,
  caf::replies_to<caf::leave_atom>::with<caf::ok_atom>,
  caf::replies_to<owner_node_request>::with<node_actor>,
  caf::replies_to<standby_node_request>::with<node_actor>,
  caf::replies_to<peers_atom>::with<std::vector<node_actor>>,
  caf::replies_to<stats_atom>::with<bridge_stats>,
  caf::replies_to<caf::close_atom>::with<caf::ok_atom>,
  caf::reacts_to<crash_atom>>;

/// Where each channel's owner lives, for one app on this node: the ring,
/// remote owners, local owners, handoff (actors/owner_directory.hpp).
using owner_directory_actor = caf::typed_actor<
  caf::replies_to<resolve_owner>::with<owner_actor>,
  caf::reacts_to<channel_gone>,
  caf::replies_to<owner_request>::with<owner_actor>,
  caf::replies_to<local_owner_request>::with<owner_actor>,
  caf::replies_to<owner_handoff>::with<owner_ref>,
  caf::reacts_to<owner_handed_off>,
  caf::reacts_to<owner_ended>,
  caf::reacts_to<logic_snapshot_kept>,
  caf::reacts_to<occupancy_kept>,
  caf::replies_to<logic_state_request>::with<std::vector<logic_state>>,
  caf::replies_to<standby_copy>::with<caf::ok_atom>,
  caf::reacts_to<copy_atom>,
  caf::replies_to<publish_request>::with<caf::ok_atom>,
  caf::replies_to<channel_request>::with<channel_report>,
  caf::replies_to<users_request>::with<std::vector<std::string>>,
  caf::replies_to<channels_request>::with<std::vector<channel_report>>,
  caf::reacts_to<cluster_changed>,
  caf::reacts_to<retry_atom>,
  caf::reacts_to<logic_handles>,
  caf::replies_to<caf::leave_atom>::with<caf::ok_atom>,
  caf::replies_to<crash_request>::with<caf::ok_atom>,
  caf::replies_to<topology_request>::with<std::string>,
  caf::replies_to<stats_atom>::with<uint64_t>>;

/// One app on this node: admission and its local registries
/// (actors/app.hpp).
using app_actor = caf::typed_actor<
  caf::reacts_to<ws_opened>,
  caf::replies_to<channel_join>::with<channel_joined>,
  caf::reacts_to<channel_idle>,
  caf::reacts_to<channel_crashed>,
  caf::reacts_to<connection_ended>,
  caf::replies_to<user_signed_in>::with<caf::ok_atom>,
  caf::replies_to<signin_request>::with<signin_verdict>,
  caf::replies_to<publish_request>::with<caf::ok_atom>,
  caf::replies_to<channel_request>::with<channel_report>,
  caf::replies_to<users_request>::with<std::vector<std::string>>,
  caf::replies_to<channels_request>::with<std::vector<channel_report>>,
  caf::replies_to<terminate_request>::with<caf::ok_atom>,
  caf::replies_to<local_owner_request>::with<owner_actor>,
  caf::replies_to<owner_handoff>::with<owner_ref>,
  caf::replies_to<standby_copy>::with<caf::ok_atom>,
  caf::reacts_to<cluster_changed>,
  caf::replies_to<caf::leave_atom>::with<caf::ok_atom>,
  caf::reacts_to<logic_restart>,
  caf::reacts_to<logic_wait_atom>,
  caf::replies_to<crash_request>::with<caf::ok_atom>,
  caf::replies_to<topology_request>::with<std::string>,
  caf::replies_to<disconnect_request>::with<bool>,
  caf::replies_to<stats_atom>::with<app_stats>>;

/// Webhooks of one app: grace, batching, signing, retries
/// (actors/webhook.hpp).
using webhook_actor = caf::typed_actor<
  caf::reacts_to<webhook_event>,
  caf::reacts_to<posted_atom, uint64_t, int>,
  caf::reacts_to<flush_atom>,
  caf::replies_to<drain_atom>::with<caf::ok_atom>,
  caf::replies_to<stats_atom>::with<webhook_stats>,
  caf::reacts_to<crash_atom>>;

/// The admin endpoint's actor: gathers topology and metrics from the node,
/// its apps and their helpers (actors/admin.hpp).
using admin_actor = caf::typed_actor<
  caf::replies_to<topology_request, bool>::with<std::string>,
  caf::replies_to<disconnect_request>::with<bool>,
  caf::replies_to<metrics_atom>::with<std::string>,
  caf::replies_to<crash_request>::with<caf::ok_atom>>;

} // namespace starling
