// State that survives, for logic_instances (logic_instances.hpp): the last
// snapshot of each instance that keeps state, taken after hooks and before
// handoffs, bounded in size, and given back to fresh instances.
#include "actors/logic_instances.hpp"

#include <optional>

#include <caf/all.hpp>

#include "actors/log.hpp"

#include <spdlog/spdlog.h>

namespace starling {

logic_instances::instance* logic_instances::find_binding(std::size_t binding) {
  for (auto& inst : instances_)
    if (inst.binding == binding)
      return &inst;
  return nullptr;
}

void logic_instances::hooked(std::size_t binding) {
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    auto& inst = instances_[i];
    if (inst.binding != binding || !inst.actor)
      continue;
    inst.hooked = true;
    if (!ask_ || !table_->bindings[binding].keeps_state())
      return;
    // The question goes out after the hook, so it sees the hook's effect;
    // hooks while it is out ask once more when it is answered.
    if (inst.asking)
      inst.ask_again = true;
    else
      ask_snapshot(i, false);
    return;
  }
}

// Keeps `answer` when it fits; an error (crash, timeout) keeps the old one.
void logic_instances::keep_snapshot(std::size_t index,
                                    caf::expected<std::string>& answer) {
  if (!answer)
    return;
  auto& inst = instances_[index];
  auto& b = table_->bindings[inst.binding];
  if (answer->size() > b.snapshot_max_bytes) {
    ++b.stats->snapshots_refused;
    // One line per instance: an actor over its bound would log per hook.
    if (!inst.warned) {
      inst.warned = true;
      component_logger("logic")->warn(
        "logic snapshot refused, over snapshot_max_bytes actor={} app={} "
        "channel={} bytes={} max={} (the previous one is kept)",
        b.actor, base_.app_id, base_.channel, answer->size(),
        b.snapshot_max_bytes);
    }
    return;
  }
  auto changed = !inst.has_snapshot || inst.snapshot != *answer;
  inst.snapshot = std::move(*answer);
  inst.has_snapshot = true;
  ++b.stats->snapshots;
  if (changed)
    kept();
}

void logic_instances::kept() {
  if (on_kept_)
    on_kept_(snapshots());
}

void logic_instances::ask_snapshot(std::size_t index, bool urgent,
                                   std::function<void()> then) {
  auto& inst = instances_[index];
  auto& b = table_->bindings[inst.binding];
  inst.asking = true;
  inst.ask_again = false;
  std::weak_ptr<bool> alive = alive_;
  auto asked = inst.actor.address();
  ask_(inst.actor, b.timeout, urgent,
       [this, alive, index, asked, then](caf::expected<std::string> answer) {
         if (alive.expired() || index >= instances_.size()) {
           if (then)
             then();
           return;
         }
         auto& inst = instances_[index];
         inst.asking = false;
         // Only the current instance's: one replaced by a handoff's restore
         // may still answer with what it built before.
         if (inst.actor && inst.actor.address() == asked)
           keep_snapshot(index, answer);
         if (inst.ask_again && inst.actor)
           ask_snapshot(index, false);
         if (then)
           then();
       });
}

void logic_instances::refresh(std::function<void()> done) {
  refresh_from(0, std::move(done));
}

// One at a time, each urgent: nothing else is handled meanwhile, so no hook
// slips in between the last snapshot and the handoff.
void logic_instances::refresh_from(std::size_t from,
                                   std::function<void()> done) {
  for (auto i = from; i < instances_.size(); ++i) {
    auto& inst = instances_[i];
    if (!ask_ || !inst.actor || !table_->bindings[inst.binding].keeps_state())
      continue;
    std::weak_ptr<bool> alive = alive_;
    ask_snapshot(i, true, [this, alive, i, done] {
      if (alive.expired())
        done();
      else
        refresh_from(i + 1, done);
    });
    return;
  }
  done();
}

std::vector<logic_state> logic_instances::snapshots() const {
  std::vector<logic_state> result;
  for (auto& inst : instances_) {
    auto& b = table_->bindings[inst.binding];
    if (inst.has_snapshot && b.keeps_state())
      result.push_back(logic_state{b.actor, b.pattern, inst.snapshot});
  }
  return result;
}

// Ends the live instance quietly (no crash, no restart count) and starts a
// fresh one, which gets the snapshot first.
void logic_instances::replace(std::size_t index) {
  auto& inst = instances_[index];
  auto& b = table_->bindings[inst.binding];
  self_->demonitor(inst.actor);
  caf::anon_send_exit(inst.actor, caf::exit_reason::kill);
  inst.actor = nullptr;
  --b.stats->running;
  inst.asking = false;
  start_instance(index);
}

// Takes `inst`'s own snapshot out of `states` (matched by actor and
// channel glob); returns whether it had one that fits.
bool logic_instances::take(instance& inst,
                           const std::vector<logic_state>& states) {
  auto& b = table_->bindings[inst.binding];
  if (!b.keeps_state())
    return false;
  for (auto& s : states) {
    if (s.actor != b.actor || s.channels != b.pattern)
      continue;
    if (s.state.size() > b.snapshot_max_bytes) {
      ++b.stats->snapshots_refused;
      return false;
    }
    inst.snapshot = s.state;
    inst.has_snapshot = true;
    return true;
  }
  return false;
}

void logic_instances::restore(const std::vector<logic_state>& states) {
  bool any = false;
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    auto& inst = instances_[i];
    auto had = inst.has_snapshot ? std::optional<std::string>{inst.snapshot}
                                 : std::nullopt;
    if (!take(inst, states))
      continue;
    any = true;
    if (!inst.actor)
      continue; // Held or restarting (it starts from this) or failed.
    // Started from this very state (the standby's copy of it) and not
    // hooked since: nothing to restore again.
    if (!inst.hooked && had == inst.snapshot)
      continue;
    if (inst.hooked) {
      replace(i);
    } else {
      caf::anon_send(inst.actor, logic_restore_atom::value, inst.snapshot);
      ++table_->bindings[inst.binding].stats->restores;
    }
  }
  if (any)
    kept();
}

void logic_instances::begin(const std::vector<logic_state>& states) {
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    auto& inst = instances_[i];
    if (!inst.held)
      continue;
    inst.held = false;
    // A handoff's restore may have come first: it is the newer one.
    if (!inst.has_snapshot)
      take(inst, states);
    start_instance(i);
  }
}

} // namespace starling
