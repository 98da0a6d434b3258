// App logic hooks of a channel owner (logic_hooks.hpp).
#include "actors/logic_hooks.hpp"

#include <caf/all.hpp>

#include "actors/channel_owner.hpp"
#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "pusher/frame.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

// Beyond this many client events waiting for verdicts, new ones get each
// binding's on_unavailable verdict without asking (still in order): a stuck
// logic costs latency, not memory.
constexpr std::size_t max_pending_client_events = 1024;

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

// What an error answer to a hook question means for it.
enum class hook_error {
  not_handled, // The actor does not handle the hook: its choice, go on.
  crashed,     // It died under the question: ask its successor.
  unavailable, // Timeout or a real error: the on_unavailable verdict.
};

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

subscribe_verdict unavailable_refusal(const logic_binding& b) {
  return subscribe_verdict::refused(b.actor + " is unavailable", 503);
}

bool reserved_name(const std::string& event) {
  // pusher: and pusher_internal: events are the protocol's own.
  return event.rfind("pusher", 0) == 0;
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
    hooks->own_ = logic_instances::start(
      self, table, own, std::move(base),
      [h = hooks.get()] { h->wake(); }, // Questions wait for restarts.
      [self](const caf::actor& instance, caf::timespan timeout, bool urgent,
             std::function<void(caf::expected<std::string>)> done) {
        auto handle = self->request(instance, timeout,
                                    logic_snapshot_atom::value);
        auto ok = [done](std::string& s) { done(std::move(s)); };
        auto err = [done](caf::error& e) { done(std::move(e)); };
        if (urgent)
          handle.await(ok, err);
        else
          handle.then(ok, err);
      });
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
  self_->delayed_send(self_, deadline - now, logic_wait_atom::value);
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

// Relays decided events from the front, in arrival order.
void owner_hooks::flush() {
  while (!queue_.empty() && queue_.front().decided) {
    auto p = std::move(queue_.front());
    queue_.pop_front();
    if (!p.drop)
      relay_(std::move(p.ev));
  }
}

void owner_hooks::apply_verdict(const logic_binding& b, pending_event& p,
                                client_event_verdict& v) {
  if (!v.answer_event.empty() && !reserved_name(v.answer_event) && p.via) {
    ++b.stats->answered;
    self_->send(p.via, logic_answer{p.ev.socket_id, std::move(v.answer_event),
                                    std::move(v.answer_data)});
  }
  switch (v.action) {
    case event_action::pass:
      break;
    case event_action::drop:
      ++b.stats->dropped;
      p.drop = true;
      break;
    case event_action::rewrite:
      if (!v.event.empty() && reserved_name(v.event)) {
        component_logger("logic")->warn(
          "logic rewrite to reserved event refused actor={} channel={} "
          "event={}",
          b.actor, channel_, v.event);
        break;
      }
      ++b.stats->rewritten;
      if (!v.event.empty())
        p.ev.event = std::move(v.event);
      if (!v.data.empty())
        p.ev.data = pusher::is_valid_json(v.data) ? std::move(v.data)
                                                  : pusher::json_quote(v.data);
      break;
  }
}

void owner_hooks::client_event_step(uint64_t id, std::size_t k) {
  auto p = find(id);
  if (p == nullptr)
    return;
  while (k < applicable_.size()
         && !table_->bindings[applicable_[k]].handles(hook_client_event))
    ++k;
  if (k >= applicable_.size() || p->drop) {
    p->decided = true;
    flush();
    return;
  }
  auto index = applicable_[k];
  ++table_->bindings[index].stats->calls;
  client_event_ask(id, k, deadline_for(index), {});
}

void owner_hooks::client_event_ask(uint64_t id, std::size_t k,
                                   caf::actor_clock::time_point deadline,
                                   caf::actor_addr dead) {
  auto index = applicable_[k];
  auto bp = &table_->bindings[index];
  auto unavailable = [this, id, k, bp](const caf::error& err) {
    count_unavailable(*bp, err);
    if (auto p = find(id); p && !bp->pass_when_unavailable)
      p->drop = true;
    client_event_step(id, k + 1);
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
    self_
      ->request(target, bp->timeout, logic_client_event_atom::value, channel_,
                p->ev)
      .then(
        [this, id, k, bp, asked](client_event_verdict& v) {
          bp->stats->latency.record_since(asked);
          if (auto q = find(id))
            apply_verdict(*bp, *q, v);
          client_event_step(id, k + 1);
        },
        [this, id, k, bp, deadline, target, unavailable, asked](caf::error& err) {
          bp->stats->latency.record_since(asked);
          switch (classify(err, target)) {
            case hook_error::not_handled:
              client_event_step(id, k + 1);
              break;
            case hook_error::crashed:
              client_event_ask(id, k, deadline, target.address());
              break;
            case hook_error::unavailable:
              unavailable(err);
          }
        });
    sent(index);
  });
}

void owner_hooks::filter_client_event(client_event ev, channel_actor via) {
  pending_event p;
  p.id = ++next_id_;
  p.ev = std::move(ev);
  p.via = std::move(via);
  if (applicable_.empty() || queue_.size() >= max_pending_client_events) {
    // Too many waiting: nobody is asked, each binding's on_unavailable
    // verdict applies.
    for (auto b : applicable_) {
      auto& binding = table_->bindings[b];
      if (!binding.handles(hook_client_event))
        continue;
      ++binding.stats->unavailable;
      p.drop = p.drop || !binding.pass_when_unavailable;
    }
    p.decided = true;
    queue_.push_back(std::move(p));
    flush();
    return;
  }
  auto id = p.id;
  queue_.push_back(std::move(p));
  client_event_step(id, 0);
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
    if (!target)
      continue;
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

void owner_hooks::refresh_snapshots(std::function<void()> done) {
  if (own_)
    own_->refresh(std::move(done));
  else
    done();
}

std::vector<logic_state> owner_hooks::snapshots() const {
  return own_ ? own_->snapshots() : std::vector<logic_state>{};
}

void owner_hooks::restore(const std::vector<logic_state>& states) {
  if (own_ && !states.empty())
    own_->restore(states);
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
  // client events go on undecided below.
  waiters_.clear();
  for (auto& p : queue_)
    p.decided = true;
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
