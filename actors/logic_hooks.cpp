// App logic hooks of a channel owner (logic_hooks.hpp).
#include "actors/logic_hooks.hpp"

#include <caf/all.hpp>

#include "actors/channel_owner.hpp"
#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "pusher/channel_name.hpp"
#include "pusher/frame.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

// Beyond this many events (client events and publishes) waiting for
// verdicts, new ones get each binding's on_unavailable verdict without
// asking (still in order): a stuck logic costs latency, not memory.
constexpr std::size_t max_pending_events = 1024;

// The binding could not answer (no instance in time, timeout, error): its
// on_unavailable verdict applies, counted.
void count_unavailable(const logic_binding& b, const caf::error& err) {
  ++b.stats->unavailable;
  component_logger("logic")->debug("hook unavailable actor={} verdict={} "
                                   "error={}",
                                   b.actor,
                                   b.pass_when_unavailable ? "pass" : "closed",
                                   to_string(err));
}

} // namespace

hook_error classify(const caf::error& err, const caf::actor& target) {
  if (err == caf::sec::unexpected_message)
    return hook_error::not_handled;
  if (err == caf::sec::request_receiver_down
      || err == caf::sec::runtime_error) // A throwing handler's reason.
    return hook_error::crashed;
  auto ptr = caf::actor_cast<caf::abstract_actor*>(target);
  if (ptr != nullptr && ptr->getf(caf::abstract_actor::is_terminated_flag))
    return hook_error::crashed;
  return hook_error::unavailable;
}

namespace {

subscribe_verdict unavailable_refusal(const logic_binding& b) {
  return subscribe_verdict::refused(b.actor + " is unavailable", 503);
}

bool reserved_name(const std::string& event) {
  // pusher: and pusher_internal: events are the protocol's own.
  return event.rfind("pusher", 0) == 0;
}

// Applies a verdict's action to `ev` (a rewrite to a reserved or invalid
// name is refused, the event goes on unchanged); returns false for a drop.
// `json`: new data must be JSON text (client events), else it is quoted.
bool apply_action(const logic_binding& b, const std::string& channel,
                  client_event& ev, event_action action, std::string& event,
                  std::string& data, bool json) {
  switch (action) {
    case event_action::pass:
      return true;
    case event_action::drop:
      ++b.stats->dropped;
      return false;
    case event_action::rewrite:
      if (!event.empty()
          && (reserved_name(event)
              || !pusher::validate_event_name(event, 200).empty())) {
        component_logger("logic")->warn(
          "logic rewrite to a reserved or invalid event refused actor={} "
          "channel={} event={}",
          b.actor, channel, event);
        return true;
      }
      ++b.stats->rewritten;
      if (!event.empty())
        ev.event = std::move(event);
      if (!data.empty())
        ev.data = !json || pusher::is_valid_json(data)
                    ? std::move(data)
                    : pusher::json_quote(data);
      return true;
  }
  return true;
}

// The question of one event hook, by its verdict type.
auto hook_question(owner_self self, const caf::actor& target,
                   caf::timespan timeout, const std::string& channel,
                   const client_event& ev, client_event_verdict*) {
  return self->request(target, timeout, logic_client_event_atom::value,
                       channel, ev);
}

auto hook_question(owner_self self, const caf::actor& target,
                   caf::timespan timeout, const std::string& channel,
                   const client_event& ev, publish_verdict*) {
  return self->request(target, timeout, logic_publish_atom::value, channel,
                       api_event{ev.event, ev.data, ev.socket_id});
}

} // namespace

struct join_question {
  std::string channel;
  std::string socket_id;
  std::string user_id;
  std::function<void(subscribe_verdict)> done;
};

std::unique_ptr<owner_hooks> owner_hooks::make(owner_self self,
                                               const std::string& channel,
                                               logic_table_ptr table,
                                               logic_handle base,
                                               relay_fn relay) {
  if (!table)
    return nullptr;
  std::unique_ptr<owner_hooks> hooks{new owner_hooks};
  std::vector<std::size_t> own;
  for (std::size_t i = 0; i < table->bindings.size(); ++i) {
    auto& b = table->bindings[i];
    if (!b.applies_to(channel))
      continue;
    hooks->applicable_.push_back(i);
    if (b.channel_bound())
      own.push_back(i);
  }
  if (hooks->applicable_.empty())
    return nullptr;
  hooks->self_ = self;
  hooks->channel_ = channel;
  hooks->table_ = table;
  hooks->relay_ = std::move(relay);
  if (!own.empty())
    hooks->start_own(own, std::move(base));
  return hooks;
}

owner_hooks::~owner_hooks() {
  // The instances end through the functor attached to the owner; no
  // restart may call back into hooks that are gone.
  if (own_)
    own_->stop_all();
}

void owner_hooks::set_app_bound(std::vector<caf::actor> handles) {
  app_bound_ = std::move(handles);
  wake();
}

caf::actor owner_hooks::instance_for(std::size_t b) const {
  if (table_->bindings[b].channel_bound())
    return own_ ? own_->instance_for(b) : caf::actor{};
  return b < app_bound_.size() ? app_bound_[b] : caf::actor{};
}

bool owner_hooks::restarting(std::size_t b) const {
  auto& binding = table_->bindings[b];
  if (binding.channel_bound())
    return own_ && own_->restarting(b);
  // The app restarts its own; failed ones are marked without a channel.
  return !app_bound_.empty() && binding.stats->failed() == 0;
}

caf::actor_clock::time_point owner_hooks::deadline_for(std::size_t b) const {
  return self_->clock().now() + table_->bindings[b].unavailable_wait;
}

// Runs `go` with binding b's instance; while it restarts (or `dead`, the
// one that crashed under the question, is not yet replaced), waits for it
// until `deadline`; then `go` gets an invalid handle.
void owner_hooks::with_instance(std::size_t b,
                                caf::actor_clock::time_point deadline,
                                caf::actor_addr dead, go_fn go) {
  auto target = instance_for(b);
  if (target && target.address() != dead) {
    go(std::move(target));
    return;
  }
  auto now = self_->clock().now();
  if (now >= deadline || (!target && !restarting(b))) {
    go(caf::actor{});
    return;
  }
  waiters_.push_back(waiter{b, deadline, std::move(dead), std::move(go)});
  self_->delayed_send(caf::actor_cast<owner_actor>(self_), deadline - now, logic_wait_atom::value);
}

void owner_hooks::wake() {
  auto waiting = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiting)
    with_instance(w.binding, w.deadline, std::move(w.dead), std::move(w.go));
}

// Asks the bindings in order; the first refusal wins, all-allow allows.
void owner_hooks::subscribe_step(std::shared_ptr<join_question> q,
                                 std::size_t k) {
  // Bindings without the hook are not asked at all.
  while (k < applicable_.size()
         && !table_->bindings[applicable_[k]].handles(hook_subscribe))
    ++k;
  if (k >= applicable_.size()) {
    q->done(subscribe_verdict::allowed());
    return;
  }
  auto index = applicable_[k];
  ++table_->bindings[index].stats->calls;
  subscribe_ask(std::move(q), k, deadline_for(index), {});
}

void owner_hooks::subscribe_ask(std::shared_ptr<join_question> q,
                                std::size_t k,
                                caf::actor_clock::time_point deadline,
                                caf::actor_addr dead) {
  auto index = applicable_[k];
  auto bp = &table_->bindings[index]; // The table outlives every owner.
  with_instance(index, deadline, std::move(dead), [=](caf::actor target) {
    if (!target) {
      count_unavailable(*bp, caf::make_error(errc::not_available));
      if (bp->pass_when_unavailable)
        subscribe_step(q, k + 1);
      else
        q->done(unavailable_refusal(*bp));
      return;
    }
    auto asked = std::chrono::steady_clock::now();
    self_
      ->request(target, bp->timeout, logic_subscribe_atom::value, q->channel,
                q->socket_id, q->user_id)
      .then(
        [this, q, k, bp, asked](subscribe_verdict& v) {
          bp->stats->latency.record_since(asked);
          if (!v.allow) {
            ++bp->stats->refused;
            q->done(std::move(v));
            return;
          }
          subscribe_step(q, k + 1);
        },
        [this, q, k, bp, deadline, target, asked](caf::error& err) {
          bp->stats->latency.record_since(asked);
          switch (classify(err, target)) {
            case hook_error::not_handled:
              subscribe_step(q, k + 1);
              break;
            case hook_error::crashed:
              subscribe_ask(q, k, deadline, target.address());
              break;
            case hook_error::unavailable:
              count_unavailable(*bp, err);
              if (bp->pass_when_unavailable)
                subscribe_step(q, k + 1);
              else
                q->done(unavailable_refusal(*bp));
          }
        });
    sent(index);
  });
}

void owner_hooks::ask_subscribe(const owner_join& join,
                                std::function<void(subscribe_verdict)> done) {
  auto q = std::make_shared<join_question>();
  q->channel = channel_;
  q->socket_id = join.socket_id;
  q->user_id = join.user_id;
  q->done = std::move(done);
  subscribe_step(std::move(q), 0);
}

owner_hooks::pending_event* owner_hooks::find(uint64_t id) {
  for (auto& p : queue_)
    if (p.id == id)
      return &p;
  return nullptr;
}

bool owner_hooks::asks(hook_bit hook) const {
  for (auto b : applicable_)
    if (table_->bindings[b].handles(hook))
      return true;
  return false;
}

// Hands decided events on from the front, in arrival order.
void owner_hooks::flush() {
  while (!queue_.empty() && queue_.front().decided) {
    auto p = std::move(queue_.front());
    queue_.pop_front();
    if (p.hook == hook_publish)
      p.done(api_event{std::move(p.ev.event), std::move(p.ev.data),
                       std::move(p.ev.socket_id)},
             p.drop ? std::move(p.refusal) : caf::error{});
    else if (!p.drop)
      relay_(std::move(p.ev));
  }
}

// The binding could not answer: its on_unavailable verdict applies.
void owner_hooks::unavailable_verdict(const logic_binding& b,
                                      pending_event& p) {
  if (b.pass_when_unavailable || p.drop)
    return;
  p.drop = true;
  p.refusal = caf::make_error(errc::logic_unavailable,
                              b.actor + " is unavailable; retry later");
}

void owner_hooks::apply_verdict(const logic_binding& b, pending_event& p,
                                client_event_verdict& v) {
  if (!v.answer_event.empty() && !reserved_name(v.answer_event) && p.via) {
    ++b.stats->answered;
    self_->send(p.via, logic_answer{p.ev.socket_id, std::move(v.answer_event),
                                    std::move(v.answer_data)});
  }
  if (!apply_action(b, channel_, p.ev, v.action, v.event, v.data, true))
    p.drop = true;
}

void owner_hooks::apply_verdict(const logic_binding& b, pending_event& p,
                                publish_verdict& v) {
  // HTTP API data is a string delivered as it is: no JSON check.
  if (apply_action(b, channel_, p.ev, v.action, v.event, v.data, false))
    return;
  p.drop = true;
  p.refusal = caf::make_error(errc::publish_refused,
                              v.reason.empty() ? b.actor + " dropped it"
                                               : std::move(v.reason));
}

void owner_hooks::event_step(uint64_t id, std::size_t k) {
  auto p = find(id);
  if (p == nullptr)
    return;
  while (k < applicable_.size()
         && !table_->bindings[applicable_[k]].handles(p->hook))
    ++k;
  if (k >= applicable_.size() || p->drop) {
    p->decided = true;
    flush();
    return;
  }
  auto index = applicable_[k];
  ++table_->bindings[index].stats->calls;
  if (p->hook == hook_publish)
    event_ask<publish_verdict>(id, k, deadline_for(index), {});
  else
    event_ask<client_event_verdict>(id, k, deadline_for(index), {});
}

template <class Verdict>
void owner_hooks::event_ask(uint64_t id, std::size_t k,
                            caf::actor_clock::time_point deadline,
                            caf::actor_addr dead) {
  auto index = applicable_[k];
  auto bp = &table_->bindings[index];
  auto unavailable = [this, id, k, bp](const caf::error& err) {
    count_unavailable(*bp, err);
    if (auto p = find(id))
      unavailable_verdict(*bp, *p);
    event_step(id, k + 1);
  };
  with_instance(index, deadline, std::move(dead), [=](caf::actor target) {
    auto p = find(id);
    if (p == nullptr)
      return;
    if (!target) {
      unavailable(caf::make_error(errc::not_available));
      return;
    }
    auto asked = std::chrono::steady_clock::now();
    hook_question(self_, target, bp->timeout, channel_, p->ev,
                  static_cast<Verdict*>(nullptr))
      .then(
        [this, id, k, bp, asked](Verdict& v) {
          bp->stats->latency.record_since(asked);
          if (auto q = find(id))
            apply_verdict(*bp, *q, v);
          event_step(id, k + 1);
        },
        [this, id, k, bp, deadline, target, unavailable, asked](caf::error& err) {
          bp->stats->latency.record_since(asked);
          switch (classify(err, target)) {
            case hook_error::not_handled:
              event_step(id, k + 1);
              break;
            case hook_error::crashed:
              event_ask<Verdict>(id, k, deadline, target.address());
              break;
            case hook_error::unavailable:
              unavailable(err);
          }
        });
    sent(index);
  });
}

// Queues an event in arrival order and starts asking about it. Beyond
// max_pending_events nobody is asked: each binding's on_unavailable
// verdict applies (a stuck logic costs latency, not memory).
void owner_hooks::enqueue(pending_event p) {
  p.id = ++next_id_;
  if (queue_.size() >= max_pending_events) {
    for (auto b : applicable_) {
      auto& binding = table_->bindings[b];
      if (!binding.handles(p.hook))
        continue;
      ++binding.stats->unavailable;
      unavailable_verdict(binding, p);
    }
    p.decided = true;
    queue_.push_back(std::move(p));
    flush();
    return;
  }
  auto id = p.id;
  queue_.push_back(std::move(p));
  event_step(id, 0);
}

void owner_hooks::filter_client_event(client_event ev, channel_actor via) {
  pending_event p;
  p.ev = std::move(ev);
  p.via = std::move(via);
  enqueue(std::move(p));
}

void owner_hooks::filter_publish(api_event ev, publish_done_fn done) {
  pending_event p;
  p.hook = hook_publish;
  p.ev.event = std::move(ev.event);
  p.ev.data = std::move(ev.data);
  p.ev.socket_id = std::move(ev.socket_id);
  p.done = std::move(done);
  enqueue(std::move(p));
}

// Notifications go to live instances that handle `hook`, anonymously
// (whatever a handler returns goes nowhere); one a restarting instance
// misses is not repeated.
template <class... Ts>
void owner_hooks::notify(hook_bit hook, Ts&&... xs) {
  for (auto b : applicable_) {
    auto& binding = table_->bindings[b];
    if (!binding.handles(hook))
      continue;
    auto target = instance_for(b);
    if (!target) {
      // Not started yet (its state is on its way): it hears this first.
      if (own_ && own_->held(b) && held_notes_.size() < max_pending_events)
        held_notes_.push_back([this, b, xs...] {
          if (auto later = instance_for(b)) {
            ++table_->bindings[b].stats->calls;
            caf::anon_send(later, xs...);
            sent(b);
          }
        });
      continue;
    }
    ++binding.stats->calls;
    caf::anon_send(target, xs...);
    sent(b);
  }
}

// A hook went to binding b's instance: one that keeps state is asked for a
// snapshot after it (channel-bound only; app-bound ones keep none).
void owner_hooks::sent(std::size_t b) {
  if (own_ && table_->bindings[b].channel_bound())
    own_->hooked(b);
}

void owner_hooks::notify_member(const std::string& user_id, bool added) {
  notify(hook_member, logic_member_atom::value,
         member_change{channel_, user_id, added});
}

void owner_hooks::notify_unsubscribe(const std::string& socket_id,
                                     const std::string& user_id) {
  notify(hook_unsubscribe, logic_unsubscribe_atom::value,
         unsubscription{channel_, socket_id, user_id});
}

void owner_hooks::notify_occupancy(bool occupied) {
  notify(hook_occupancy, logic_occupancy_atom::value,
         occupancy_change{channel_, occupied});
}

void owner_hooks::stop() {
  if (own_)
    own_->stop_all();
  applicable_.clear();
  app_bound_.clear();
  // Joins waiting for an instance time out at their channel (503); waiting
  // client events go on undecided below; waiting publishes go back to
  // their publisher, which hands them to the successor (its logic asks).
  waiters_.clear();
  held_notes_.clear();
  for (auto& p : queue_) {
    p.decided = true;
    if (p.hook == hook_publish) {
      p.drop = true;
      p.refusal = caf::make_error(caf::sec::request_receiver_down);
    }
  }
  flush();
}

bool owner_hooks::on_down(const caf::down_msg& dm) {
  return own_ && own_->on_down(dm);
}

void owner_hooks::restart(uint64_t index) {
  if (own_)
    own_->restart(index);
}

caf::error owner_hooks::crash(const std::string& actor_name) {
  if (!own_)
    return caf::make_error(errc::not_available,
                           "no channel-bound logic beside " + channel_);
  return own_->crash(actor_name);
}

} // namespace starling
