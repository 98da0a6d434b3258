// Supervision of app logic instances (logic_instances.hpp).
#include "actors/logic_instances.hpp"

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"

#include <spdlog/spdlog.h>

namespace starling {

logic_instances_ptr
logic_instances::start(caf::local_actor* self, logic_table_ptr table,
                       const std::vector<std::size_t>& bindings,
                       logic_handle base, on_change_fn on_change,
                       ask_snapshot_fn ask, bool held) {
  logic_instances_ptr sup{new logic_instances};
  sup->self_ = self;
  sup->ask_ = std::move(ask);
  sup->table_ = std::move(table);
  sup->base_ = std::move(base);
  for (auto i : bindings) {
    instance inst;
    inst.binding = i;
    inst.tracker = restart_tracker{sup->table_->bindings[i].restarts};
    inst.held = held;
    sup->instances_.push_back(std::move(inst));
  }
  // However the supervisor ends, its instances end with it.
  self->attach_functor([sup](const caf::error&) { sup->stop_all(); });
  if (!held)
    for (std::size_t i = 0; i < sup->instances_.size(); ++i)
      sup->start_instance(i);
  // Set last: nobody needs to hear about the first handles but the caller.
  sup->on_change_ = std::move(on_change);
  return sup;
}

void logic_instances::release(instance& inst) {
  auto& b = table_->bindings[inst.binding];
  if (inst.actor) {
    // kill: a logic actor that traps exits must not outlive its
    // supervisor (and keep ~actor_system() waiting at shutdown).
    caf::anon_send_exit(inst.actor, caf::exit_reason::kill);
    inst.actor = nullptr;
    --b.stats->running;
  }
  if (inst.tracker.failed())
    b.stats->unmark_failed(base_.channel);
}

void logic_instances::stop_all() {
  for (auto& inst : instances_)
    release(inst);
  instances_.clear();
  on_change_ = nullptr;
}

void logic_instances::start_instance(std::size_t index) {
  auto& inst = instances_[index];
  auto& b = table_->bindings[inst.binding];
  auto handle = base_;
  handle.actor_name = b.actor;
  caf::actor spawned;
  try {
    spawned = b.factory(self_, handle);
  } catch (const std::exception& e) {
    component_logger("logic")->error("logic factory threw actor={}: {}",
                                     b.actor, e.what());
  }
  if (!spawned) {
    instance_ended(index, caf::make_error(caf::sec::runtime_error,
                                          "logic factory returned no actor"));
    return;
  }
  inst.actor = spawned;
  inst.hooked = false;
  ++b.stats->running;
  // Before any hook: the supervisor sends everything else later, and one
  // sender's messages arrive in order.
  if (inst.has_snapshot && b.keeps_state()) {
    caf::anon_send(spawned, logic_restore_atom::value, inst.snapshot);
    ++b.stats->restores;
  }
  // Monitoring an actor that already ended delivers its down_msg at once.
  self_->monitor(spawned);
  if (on_change_)
    on_change_();
}

// An instance ended (or could not start): restart it after a back-off, or
// mark it failed past its restart intensity. A normal exit is the actor's
// own choice: it stays gone.
void logic_instances::instance_ended(std::size_t index,
                                     const caf::error& reason) {
  auto& inst = instances_[index];
  auto& b = table_->bindings[inst.binding];
  auto log = component_logger("logic");
  if (inst.actor) {
    inst.actor = nullptr;
    --b.stats->running;
  }
  inst.ending = false;
  if (reason == caf::exit_reason::normal) {
    inst.quit = true;
    log->info("logic instance quit actor={} app={} channel={}", b.actor,
              base_.app_id, base_.channel);
  } else if (auto d = inst.tracker.child_failed(self_->clock().now());
             d.restart) {
    ++b.stats->restarts;
    log->warn("logic instance crashed, restarting actor={} app={} channel={} "
              "reason={} backoff_ms={}",
              b.actor, base_.app_id, base_.channel, to_string(reason),
              std::chrono::duration_cast<std::chrono::milliseconds>(d.delay)
                .count());
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(self_), d.delay,
                           logic_restart{static_cast<uint64_t>(index)});
  } else {
    // Escalation stops here: the app serves on, hooks take their default.
    b.stats->mark_failed(base_.channel);
    log->critical("logic instance over its restart limit, marked failed "
                  "actor={} app={} channel={} reason={}",
                  b.actor, base_.app_id, base_.channel, to_string(reason));
  }
  if (on_change_)
    on_change_();
}

bool logic_instances::on_down(const caf::down_msg& dm) {
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    auto& inst = instances_[i];
    if (inst.actor && inst.actor.address() == dm.source) {
      instance_ended(i, dm.reason);
      return true;
    }
  }
  return false;
}

void logic_instances::restart(uint64_t index) {
  if (index >= instances_.size())
    return;
  auto& inst = instances_[index];
  if (inst.tracker.failed() || inst.actor)
    return;
  start_instance(index);
}

caf::error logic_instances::crash(const std::string& actor_name) {
  bool found = false;
  for (auto& inst : instances_) {
    // One crash per instance: a second order before its down_msg would
    // hit the dead actor and be answered as if it had crashed it.
    if (!inst.actor || inst.ending
        || table_->bindings[inst.binding].actor != actor_name)
      continue;
    inst.ending = true;
    // An exit with an error reason ends any actor that does not trap
    // exits, like a throwing handler would.
    self_->send_exit(inst.actor,
                     caf::make_error(errc::injected_fault,
                                     "injected fault in logic " + actor_name));
    found = true;
  }
  if (!found)
    return caf::make_error(errc::not_available,
                           "no running logic instance " + actor_name
                             + (base_.channel.empty()
                                  ? std::string{}
                                  : " beside " + base_.channel));
  return caf::none;
}

caf::actor logic_instances::instance_for(std::size_t binding) const {
  for (auto& inst : instances_)
    if (inst.binding == binding)
      return inst.actor;
  return nullptr;
}

bool logic_instances::restarting(std::size_t binding) const {
  for (auto& inst : instances_)
    if (inst.binding == binding)
      return !inst.actor && !inst.quit && !inst.tracker.failed();
  return false;
}

bool logic_instances::held(std::size_t binding) const {
  for (auto& inst : instances_)
    if (inst.binding == binding)
      return inst.held;
  return false;
}

std::vector<caf::actor> logic_instances::handles() const {
  std::vector<caf::actor> result(table_->bindings.size());
  for (auto& inst : instances_)
    result[inst.binding] = inst.actor;
  return result;
}

} // namespace starling
