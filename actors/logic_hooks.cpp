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

// Beyond this many client events waiting for verdicts, new ones pass
// without asking (still in order): a stuck logic costs latency, not memory.
constexpr std::size_t max_pending_client_events = 1024;

// A hook got no usable answer: the default applies. An actor that does not
// handle this hook answers unexpected_message: that is its choice, not a
// fault, and is not counted.
void count_default(const logic_binding& b, const caf::error& err) {
  if (err == caf::sec::unexpected_message)
    return;
  ++b.stats->passthrough;
  component_logger("logic")->debug("hook default actor={} error={}", b.actor,
                                   to_string(err));
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
    hooks->own_ = logic_instances::start(self, table, own, std::move(base));
  return hooks;
}

owner_hooks::~owner_hooks() {
  // nop: the instances end through the functor attached to the owner.
}

void owner_hooks::set_app_bound(std::vector<caf::actor> handles) {
  app_bound_ = std::move(handles);
}

caf::actor owner_hooks::instance_for(std::size_t b) const {
  if (table_->bindings[b].channel_bound())
    return own_ ? own_->instance_for(b) : caf::actor{};
  return b < app_bound_.size() ? app_bound_[b] : caf::actor{};
}

// Asks the bindings in order; the first refusal wins, all-allow allows.
void owner_hooks::subscribe_step(std::shared_ptr<join_question> q,
                                 std::size_t k) {
  for (; k < applicable_.size(); ++k) {
    auto& b = table_->bindings[applicable_[k]];
    ++b.stats->calls;
    auto target = instance_for(applicable_[k]);
    if (!target) {
      ++b.stats->passthrough; // Restarting or failed: the default.
      continue;
    }
    auto bp = &b; // The table outlives every owner of the app.
    auto asked = std::chrono::steady_clock::now();
    self_
      ->request(target, b.timeout, logic_subscribe_atom::value, q->channel,
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
        [this, q, k, bp, asked](caf::error& err) {
          bp->stats->latency.record_since(asked);
          count_default(*bp, err);
          subscribe_step(q, k + 1);
        });
    return;
  }
  q->done(subscribe_verdict::allowed());
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
  for (; k < applicable_.size() && !p->drop; ++k) {
    auto& b = table_->bindings[applicable_[k]];
    ++b.stats->calls;
    auto target = instance_for(applicable_[k]);
    if (!target) {
      ++b.stats->passthrough;
      continue;
    }
    auto bp = &b;
    auto asked = std::chrono::steady_clock::now();
    self_
      ->request(target, b.timeout, logic_client_event_atom::value, channel_,
                p->ev)
      .then(
        [this, id, k, bp, asked](client_event_verdict& v) {
          bp->stats->latency.record_since(asked);
          if (auto q = find(id))
            apply_verdict(*bp, *q, v);
          client_event_step(id, k + 1);
        },
        [this, id, k, bp, asked](caf::error& err) {
          bp->stats->latency.record_since(asked);
          count_default(*bp, err);
          client_event_step(id, k + 1);
        });
    return;
  }
  p->decided = true;
  flush();
}

void owner_hooks::filter_client_event(client_event ev, channel_actor via) {
  pending_event p;
  p.id = ++next_id_;
  p.ev = std::move(ev);
  p.via = std::move(via);
  if (applicable_.empty() || queue_.size() >= max_pending_client_events) {
    for (auto b : applicable_)
      ++table_->bindings[b].stats->passthrough;
    p.decided = true;
    queue_.push_back(std::move(p));
    flush();
    return;
  }
  auto id = p.id;
  queue_.push_back(std::move(p));
  client_event_step(id, 0);
}

void owner_hooks::notify_member(const std::string& user_id, bool added) {
  for (auto b : applicable_) {
    auto target = instance_for(b);
    if (!target)
      continue;
    ++table_->bindings[b].stats->calls;
    // Anonymous: whatever the handler returns goes nowhere.
    caf::anon_send(target, logic_member_atom::value,
                   member_change{channel_, user_id, added});
  }
}

void owner_hooks::stop() {
  if (own_)
    own_->stop_all();
  applicable_.clear();
  app_bound_.clear();
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
