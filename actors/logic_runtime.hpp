// App logic runtime (internal; logic authors read actors/logic.hpp): the
// config's bindings resolved against the registry, per-binding counters,
// supervision of logic instances (the app supervises app-bound instances,
// each channel owner the channel-bound ones beside it), and the hook calls
// channel owners make. An app without bindings never gets here: owners see
// a null table and take their usual path, with no extra message per event.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/result.hpp>
#include <caf/timespan.hpp>

#include "actors/logic.hpp"
#include "actors/messages.hpp"
#include "actors/supervisor.hpp"
#include "config/settings.hpp"

namespace starling {

struct app_context;
struct app_state;
struct channel_owner_state;

/// Counters of one binding on this node (relaxed atomics; /metrics and
/// /topology read them without asking actors).
class logic_stats {
public:
  std::atomic<uint64_t> calls{0};       ///< Hook questions (and skips) made.
  std::atomic<uint64_t> passthrough{0}; ///< Answered by the default: timeout,
                                        ///< crash, error, instance missing.
  std::atomic<uint64_t> refused{0};     ///< Subscriptions refused.
  std::atomic<uint64_t> dropped{0};     ///< Client events dropped.
  std::atomic<uint64_t> rewritten{0};   ///< Client events rewritten.
  std::atomic<uint64_t> answered{0};    ///< Answers sent to a sender.
  std::atomic<uint64_t> restarts{0};    ///< Instance restarts.
  std::atomic<int64_t> running{0};      ///< Live instances.

  /// Marks the instance at `where` (channel, or "" when app-bound) failed.
  void mark_failed(const std::string& where);

  /// Forgets a failed instance at `where` (its supervisor ended).
  void unmark_failed(const std::string& where);

  /// Returns the number of failed instances.
  std::size_t failed() const;

  /// Returns where instances failed (channels; "" for app-bound).
  std::vector<std::string> failed_where() const;

private:
  mutable std::mutex mtx_;
  std::multiset<std::string> failed_;
};

/// One apps[].logic[] entry, resolved.
struct logic_binding {
  std::string actor;              ///< Registered name.
  std::string pattern;            ///< Channel glob; empty = app-bound.
  logic_factory factory;          ///< Spawns an instance.
  caf::timespan timeout;          ///< Hook deadline.
  std::size_t max_restarts = 5;   ///< Restart intensity: at most this many ...
  caf::timespan restart_window;   ///< ... within this window.
  caf::timespan max_backoff;      ///< Cap of the doubling back-off.
  std::shared_ptr<logic_stats> stats = std::make_shared<logic_stats>();

  /// Whether instances run per channel (beside its owner).
  bool channel_bound() const {
    return !pattern.empty();
  }

  /// Whether this binding sees `channel`.
  bool applies_to(const std::string& channel) const;
};

/// An app's bindings in config order (hooks run in this order).
struct logic_table {
  std::vector<logic_binding> bindings; ///< Never empty.
};

/// Shared, immutable after start (counters inside are atomic).
using logic_table_ptr = std::shared_ptr<const logic_table>;

/// Resolves `app.logic` against `registry`; null when the app binds no
/// logic. Names the registry lacks are skipped with an error log (config
/// validation refuses them before we get here).
logic_table_ptr make_logic_table(const config::app_settings& app,
                                 const logic_registry& registry);

/// Glob match: `*` matches any run (also empty), `?` one character.
bool glob_match(std::string_view pattern, std::string_view text);

// -- supervision ---------------------------------------------------------------

/// One supervised instance of a binding.
struct logic_instance {
  std::size_t binding = 0;  ///< Index into the table.
  caf::actor actor;         ///< Live instance; null while restarting or failed.
  restart_budget budget;    ///< Restart intensity of this instance.
  bool failed = false;      ///< Past its limit: never restarted again.
};

/// The instances one actor supervises. Shared with the functor that stops
/// them when the supervising actor ends (its state is gone by then).
struct logic_supervision {
  logic_table_ptr table;               ///< Bindings.
  logic_handle base;                   ///< Handle template (actor_name set per instance).
  std::vector<logic_instance> instances; ///< One per supervised binding.
  std::function<void()> on_change;     ///< Called when a handle changes.
};

/// Shared supervision record.
using logic_supervision_ptr = std::shared_ptr<logic_supervision>;

/// Spawns one instance of each binding in `bindings` for `self` to
/// supervise: monitored (a crash never takes `self` down), restarted with
/// back-off (message `(logic_atom, restart_atom, uint64_t)`, to hand to
/// logic_restart), stopped when `self` ends.
logic_supervision_ptr supervise_logic(caf::event_based_actor* self,
                                      logic_table_ptr table,
                                      const std::vector<std::size_t>& bindings,
                                      logic_handle base,
                                      std::function<void()> on_change = {});

/// Handles a down message; returns false when it is not from an instance.
bool logic_down(caf::event_based_actor* self, logic_supervision& sup,
                const caf::down_msg& dm);

/// Starts instance `index` again after its back-off (if still due).
void logic_restart(caf::event_based_actor* self, logic_supervision& sup,
                   uint64_t index);

/// Fault injection: ends every live instance of `actor_name` with
/// errc::injected_fault; an error when there is none.
caf::error logic_crash(caf::event_based_actor* self, logic_supervision& sup,
                       const std::string& actor_name);

/// The live instance handles indexed by binding (null elsewhere).
std::vector<caf::actor> logic_handles(const logic_supervision& sup);

// -- channel owners ----------------------------------------------------------

/// A client event waiting for its verdict; relayed in arrival order.
struct pending_client_event {
  uint64_t id = 0;       ///< Queue key.
  client_event ev;       ///< The event, rewritten as verdicts come in.
  caf::actor via;        ///< The channel that forwarded it (answers go there).
  bool decided = false;  ///< All hooks answered (or defaulted).
  bool drop = false;     ///< A hook dropped it.
};

/// The logic part of a channel owner's state.
struct owner_logic {
  logic_table_ptr table;               ///< Null: the app binds no logic.
  std::vector<std::size_t> applicable; ///< Bindings that see this channel.
  logic_supervision_ptr own;           ///< Channel-bound instances beside us.
  std::vector<caf::actor> app_bound;   ///< App-bound handles, from the app.
  std::multiset<std::string> allowed;  ///< Joins allowed, on their way back.
  std::deque<pending_client_event> queue; ///< Client events in order.
  uint64_t next_id = 0;                ///< Last queue key.

  /// Whether any hook applies to this channel.
  bool active() const {
    return !applicable.empty();
  }
};

using owner_self = caf::stateful_actor<channel_owner_state>*;

/// At owner start: finds the bindings for its channel and spawns the
/// channel-bound instances.
void logic_owner_start(owner_self self);

/// Owner join handler, first: returns true when logic takes the join over
/// (it answers refused, or re-delivers the join to the owner allowed).
bool logic_owner_join(owner_self self, owner_join& join);

/// Owner client-event handler, first: returns true when logic takes the
/// event over (it comes back from the owner itself once decided).
bool logic_owner_client_event(owner_self self, client_event& ce);

/// Owner webhook/notification point: passes member_added/member_removed to
/// the instances that see the channel.
void logic_owner_notify(owner_self self, const std::string& name,
                        const std::string& user_id);

/// Owner handing its channel to another node: ends the channel-bound
/// instances and turns the hooks off here; client events still waiting go
/// on (through the successor, which asks its own instances).
void logic_owner_stop(owner_self self);

/// Owner down handler, first: true when it was one of its instances.
bool logic_owner_down(owner_self self, const caf::down_msg& dm);

/// Owner: `(logic_atom, restart_atom, index)`.
void logic_owner_restart(owner_self self, uint64_t index);

/// Owner: crash_request{kind "logic", name = actor name}.
caf::result<caf::ok_atom> logic_owner_crash(owner_self self,
                                            const crash_request& req);

// -- apps ----------------------------------------------------------------------

using app_self = caf::stateful_actor<app_state>*;

/// At app start: spawns the app-bound instances.
void logic_app_start(app_self self);

/// After the app spawned `owner`: hands it the app-bound handles.
void logic_app_owner_started(app_self self, const caf::actor& owner);

/// App: crash_request{kind "logic", name "<actor>" (app-bound) or
/// "<actor>/<channel>" (beside the owner of <channel> on this node)}.
caf::result<caf::ok_atom> logic_app_crash(app_self self,
                                          const crash_request& req);

/// The app's logic bindings as a JSON array for /topology.
std::string logic_topology_json(const app_context& ctx);

/// Prometheus families for the logic bindings of every app (app id, table).
std::string logic_metrics(
  const std::vector<std::pair<std::string, logic_table_ptr>>& apps);

} // namespace starling
