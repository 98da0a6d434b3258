// Supervision of app logic instances: the instances of some bindings that
// one actor keeps (the app its app-bound ones, each channel owner the
// channel-bound ones beside it). Monitored, never linked (a crash never takes
// the supervisor down), restarted after the binding's back-off, marked
// failed past its restart limit, and stopped when the supervisor ends.
// Bindings that keep state (snapshot_hook + restore_hook) have their last
// snapshot kept here: a restarted instance starts from it, and an owner
// handoff carries it to the next node.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/logic_bindings.hpp"
#include "actors/protocol/owner.hpp"

namespace starling {

/// The live instances of some bindings, supervised by one actor.
class logic_instances {
public:
  /// Called whenever an instance handle changes (start, restart, end).
  using on_change_fn = std::function<void()>;

  /// Asks `instance` for its snapshot within `timeout`; `done` gets the
  /// answer or the error. `urgent`: the supervisor handles nothing else
  /// meanwhile (CAF await), else the answer comes in turn (then).
  using ask_snapshot_fn = std::function<void(
    const caf::actor& instance, caf::timespan timeout, bool urgent,
    std::function<void(caf::expected<std::string>)> done)>;

  /// Called with every snapshot kept (one per instance that has one)
  /// whenever one changed: after a snapshot question or a restore.
  using on_kept_fn = std::function<void(std::vector<logic_state>)>;

  /// Starts one instance of each binding in `bindings` for `self`.
  /// Restarts arrive at `self` as `logic_restart{index}`; hand them to
  /// restart().
  /// Without `ask`, no snapshots are taken (nothing survives a restart).
  /// `held`: the instances start only with begin() (their state is asked
  /// elsewhere first); meanwhile they count as restarting.
  static std::shared_ptr<logic_instances>
  start(caf::local_actor* self, logic_table_ptr table,
        const std::vector<std::size_t>& bindings, logic_handle base,
        on_change_fn on_change = {}, ask_snapshot_fn ask = {},
        bool held = false);

  /// Starts held instances, each from its snapshot in `states` unless it
  /// got a newer one meanwhile (a handoff's restore).
  void begin(const std::vector<logic_state>& states);

  /// Sets who hears of kept snapshots.
  void on_kept(on_kept_fn f) { on_kept_ = std::move(f); }

  /// Handles a down message; returns false when it is not from an instance.
  bool on_down(const caf::down_msg& dm);

  /// Starts instance `index` again after its back-off (if still due).
  void restart(uint64_t index);

  /// Fault injection: ends every live instance of `actor_name` with
  /// errc::injected_fault; an error when there is none.
  caf::error crash(const std::string& actor_name);

  /// Returns the live instance of binding `binding`, or an invalid handle.
  caf::actor instance_for(std::size_t binding) const;

  /// Returns whether binding `binding`'s instance is down but due to come
  /// back (a restart is scheduled): hooks wait for it.
  bool restarting(std::size_t binding) const;

  /// Returns whether binding `binding`'s instance waits for begin().
  bool held(std::size_t binding) const;

  /// Returns the live handles indexed by binding (invalid elsewhere).
  std::vector<caf::actor> handles() const;

  /// Ends every instance now (the owner moves to another node); restart
  /// ticks still on their way find nothing to start.
  void stop_all();

  // -- state that survives (logic_instance_snapshots.cpp) --------------------

  /// Binding `binding`'s instance was sent a hook: a snapshot is asked
  /// after it (one question in flight; hooks meanwhile ask once more).
  void hooked(std::size_t binding);

  /// Asks every live instance that keeps state for a snapshot now, urgently
  /// (before a handoff); then calls `done`.
  void refresh(std::function<void()> done);

  /// Returns the last snapshot of every instance that has one.
  std::vector<logic_state> snapshots() const;

  /// A predecessor's snapshots (owner handoff): each instance that keeps
  /// state starts from its own. One that was sent hooks already is replaced
  /// by a fresh one, so restore still comes before any other hook.
  void restore(const std::vector<logic_state>& states);

private:
  struct instance {
    std::size_t binding = 0; // Index into the table.
    caf::actor actor;        // Live instance; null while restarting or failed.
    restart_tracker tracker; // Restart history under the binding's policy.
    bool ending = false;     // Told to crash; its down_msg is on its way.
    bool quit = false;       // Ended normally: stays gone.
    bool hooked = false;     // Sent a hook since it started.
    bool has_snapshot = false;   // `snapshot` holds one.
    std::string snapshot;        // The last one kept.
    bool asking = false;         // A snapshot question is in flight.
    bool ask_again = false;      // Hooked since that question went out.
    bool warned = false;         // Logged an oversize snapshot already.
    bool held = false;           // Not started yet: waits for begin().
  };

  logic_instances() = default;

  void start_instance(std::size_t index);
  void instance_ended(std::size_t index, const caf::error& reason);
  void release(instance& inst);
  instance* find_binding(std::size_t binding);
  void ask_snapshot(std::size_t index, bool urgent,
                    std::function<void()> then = {});
  void keep_snapshot(std::size_t index, caf::expected<std::string>& answer);
  void replace(std::size_t index);
  void refresh_from(std::size_t from, std::function<void()> done);
  bool take(instance& inst, const std::vector<logic_state>& states);
  void kept();

  caf::local_actor* self_ = nullptr;
  logic_table_ptr table_;
  logic_handle base_;
  std::vector<instance> instances_;
  on_change_fn on_change_;
  ask_snapshot_fn ask_;
  on_kept_fn on_kept_;
  /// Answers of snapshot questions may outlive us (the owner moved on).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// Shared with the functor that stops the instances when the supervising
/// actor ends (its state is gone by then).
using logic_instances_ptr = std::shared_ptr<logic_instances>;

} // namespace starling
