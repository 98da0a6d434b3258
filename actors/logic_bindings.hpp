// App logic bindings (internal; logic authors read actors/logic.hpp): the
// config's apps[].logic[] resolved against the registry, with per-binding
// counters that /metrics and /topology read without asking any actor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <caf/timespan.hpp>

#include "actors/latency_histogram.hpp"
#include "actors/logic.hpp"
#include "actors/supervision.hpp"
#include "config/settings.hpp"

namespace starling {

/// Counters of one binding on this node (relaxed atomics).
class logic_stats {
public:
  std::atomic<uint64_t> calls{0};       ///< Hook questions (and skips) made.
  /// Answered by the binding's on_unavailable verdict: no instance in
  /// time (restarting, failed, quit), timeout, error.
  std::atomic<uint64_t> unavailable{0};
  latency_histogram latency;            ///< Question to answer (or error).
  std::atomic<uint64_t> refused{0};     ///< Subscriptions refused.
  std::atomic<uint64_t> dropped{0};     ///< Client events dropped.
  std::atomic<uint64_t> rewritten{0};   ///< Client events rewritten.
  std::atomic<uint64_t> answered{0};    ///< Answers sent to a sender.
  std::atomic<uint64_t> restarts{0};    ///< Instance restarts.
  std::atomic<int64_t> running{0};      ///< Live instances.
  std::atomic<uint64_t> snapshots{0};   ///< Snapshots taken and kept.
  /// Snapshots refused: over snapshot_max_bytes (not kept).
  std::atomic<uint64_t> snapshots_refused{0};
  std::atomic<uint64_t> restores{0};    ///< Fresh instances given a snapshot.

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
  hook_set hooks = all_hooks;     ///< The hooks its instances handle.
  caf::timespan timeout;          ///< Hook deadline.
  /// on_unavailable "pass": allow / relay when no instance answers; else
  /// (the default, "closed") refuse / drop.
  bool pass_when_unavailable = false;
  caf::timespan unavailable_wait; ///< Wait for a restarting instance.
  restart_policy restarts;        ///< Supervision of its instances.
  std::size_t snapshot_max_bytes = 65536; ///< Largest snapshot kept.
  std::shared_ptr<logic_stats> stats = std::make_shared<logic_stats>();

  /// Whether instances run per channel (beside its owner).
  bool channel_bound() const {
    return !pattern.empty();
  }

  /// Whether its instances handle `hook`.
  bool handles(hook_bit hook) const {
    return (hooks & hook) != 0;
  }

  /// Whether its instances keep state across restarts and owner moves
  /// (snapshot_hook and restore_hook).
  bool keeps_state() const {
    return handles(hook_snapshot) && handles(hook_restore);
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

} // namespace starling
