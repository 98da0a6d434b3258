// App logic runtime: bindings, supervision of logic instances, and the
// hooks channel owners call (see logic_runtime.hpp).
#include "actors/logic_runtime.hpp"

#include <algorithm>
#include <chrono>

#include <caf/all.hpp>

#include "actors/app.hpp"
#include "actors/app_context.hpp"
#include "actors/channel_owner.hpp"
#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "pusher/frame.hpp"

#include <spdlog/spdlog.h>

namespace starling {

// -- stats and bindings ----------------------------------------------------------

void logic_stats::mark_failed(const std::string& where) {
  std::lock_guard<std::mutex> guard{mtx_};
  failed_.insert(where);
}

void logic_stats::unmark_failed(const std::string& where) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = failed_.find(where); i != failed_.end())
    failed_.erase(i);
}

std::size_t logic_stats::failed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return failed_.size();
}

std::vector<std::string> logic_stats::failed_where() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {failed_.begin(), failed_.end()};
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative, with one backtrack point for the last '*': linear in
  // practice, no recursion on hostile patterns.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool logic_binding::applies_to(const std::string& channel) const {
  return pattern.empty() || glob_match(pattern, channel);
}

logic_table_ptr make_logic_table(const config::app_settings& app,
                                 const logic_registry& registry) {
  if (app.logic.empty())
    return nullptr;
  auto table = std::make_shared<logic_table>();
  for (auto& cfg : app.logic) {
    auto factory = registry.find(cfg.actor);
    if (factory == nullptr) {
      component_logger("logic")->error(
        "app={} binds unknown logic actor {}; skipped", app.id, cfg.actor);
      continue;
    }
    logic_binding b;
    b.actor = cfg.actor;
    b.pattern = cfg.channels;
    b.factory = *factory;
    b.timeout = std::chrono::milliseconds(cfg.timeout_ms);
    b.max_restarts = cfg.max_restarts;
    b.restart_window = std::chrono::seconds(cfg.restart_window_s);
    b.max_backoff = std::chrono::milliseconds(cfg.max_backoff_ms);
    table->bindings.push_back(std::move(b));
  }
  if (table->bindings.empty())
    return nullptr;
  return table;
}

// -- supervision ---------------------------------------------------------------

namespace {

std::string where_of(const logic_supervision& sup) {
  return sup.base.channel;
}

void start_instance(caf::event_based_actor* self, logic_supervision& sup,
                    std::size_t index);

// An instance ended (or could not start): restart it after a back-off, or
// mark it failed past its restart intensity. A normal exit is the actor's
// own choice: it stays gone.
void instance_ended(caf::event_based_actor* self, logic_supervision& sup,
                    std::size_t index, const caf::error& reason) {
  auto& inst = sup.instances[index];
  auto& b = sup.table->bindings[inst.binding];
  auto log = component_logger("logic");
  if (inst.actor) {
    inst.actor = nullptr;
    --b.stats->running;
  }
  if (reason == caf::exit_reason::normal) {
    log->info("logic instance quit actor={} app={} channel={}", b.actor,
              sup.base.app_id, where_of(sup));
  } else if (inst.budget.try_restart(self->clock().now())) {
    ++b.stats->restarts;
    // 10 ms, doubling with every further restart inside the window, capped.
    auto shift = std::min<std::size_t>(inst.budget.recent() - 1, 16);
    caf::timespan delay = std::chrono::milliseconds(10) * (1 << shift);
    delay = std::min(delay, b.max_backoff);
    log->warn("logic instance crashed, restarting actor={} app={} channel={} "
              "reason={} backoff_ms={}",
              b.actor, sup.base.app_id, where_of(sup), to_string(reason),
              std::chrono::duration_cast<std::chrono::milliseconds>(delay)
                .count());
    self->delayed_send(caf::actor_cast<caf::actor>(self), delay,
                       logic_atom::value, restart_atom::value,
                       static_cast<uint64_t>(index));
  } else {
    // Escalation stops here: the app serves on, hooks take their default.
    inst.failed = true;
    b.stats->mark_failed(where_of(sup));
    log->critical("logic instance over its restart limit, marked failed "
                  "actor={} app={} channel={} reason={}",
                  b.actor, sup.base.app_id, where_of(sup), to_string(reason));
  }
  if (sup.on_change)
    sup.on_change();
}

void start_instance(caf::event_based_actor* self, logic_supervision& sup,
                    std::size_t index) {
  auto& inst = sup.instances[index];
  auto& b = sup.table->bindings[inst.binding];
  auto handle = sup.base;
  handle.actor_name = b.actor;
  caf::actor spawned;
  try {
    spawned = b.factory(self, handle);
  } catch (const std::exception& e) {
    component_logger("logic")->error("logic factory threw actor={}: {}",
                                     b.actor, e.what());
  }
  if (!spawned) {
    instance_ended(self, sup, index,
                   caf::make_error(caf::sec::runtime_error,
                                   "logic factory returned no actor"));
    return;
  }
  inst.actor = spawned;
  ++b.stats->running;
  // Monitored, not linked: its crash must never end the app or the owner.
  // Monitoring an actor that already ended delivers its down_msg at once.
  self->monitor(spawned);
  if (sup.on_change)
    sup.on_change();
}

} // namespace

logic_supervision_ptr supervise_logic(caf::event_based_actor* self,
                                      logic_table_ptr table,
                                      const std::vector<std::size_t>& bindings,
                                      logic_handle base,
                                      std::function<void()> on_change) {
  auto sup = std::make_shared<logic_supervision>();
  sup->table = std::move(table);
  sup->base = std::move(base);
  for (auto i : bindings) {
    auto& b = sup->table->bindings[i];
    logic_instance inst;
    inst.binding = i;
    inst.budget = restart_budget{b.max_restarts, b.restart_window};
    sup->instances.push_back(std::move(inst));
  }
  // However the supervisor ends, its instances end with it. The state is
  // gone when attached functors run, hence the shared record.
  self->attach_functor([sup](const caf::error& reason) {
    for (auto& inst : sup->instances) {
      auto& b = sup->table->bindings[inst.binding];
      if (inst.actor) {
        // kill: a logic actor that traps exits must not outlive its
        // supervisor (and keep ~actor_system() waiting at shutdown).
        caf::anon_send_exit(inst.actor, caf::exit_reason::kill);
        inst.actor = nullptr;
        --b.stats->running;
      }
      if (inst.failed) {
        inst.failed = false;
        b.stats->unmark_failed(where_of(*sup));
      }
    }
    sup->on_change = nullptr;
  });
  for (std::size_t i = 0; i < sup->instances.size(); ++i)
    start_instance(self, *sup, i);
  // Set last: nobody needs to hear about the first handles but the caller.
  sup->on_change = std::move(on_change);
  return sup;
}

bool logic_down(caf::event_based_actor* self, logic_supervision& sup,
                const caf::down_msg& dm) {
  for (std::size_t i = 0; i < sup.instances.size(); ++i) {
    auto& inst = sup.instances[i];
    if (inst.actor && inst.actor.address() == dm.source) {
      instance_ended(self, sup, i, dm.reason);
      return true;
    }
  }
  return false;
}

void logic_restart(caf::event_based_actor* self, logic_supervision& sup,
                   uint64_t index) {
  if (index >= sup.instances.size())
    return;
  auto& inst = sup.instances[index];
  if (inst.failed || inst.actor)
    return;
  start_instance(self, sup, index);
}

caf::error logic_crash(caf::event_based_actor* self, logic_supervision& sup,
                       const std::string& actor_name) {
  bool found = false;
  for (auto& inst : sup.instances) {
    if (!inst.actor || sup.table->bindings[inst.binding].actor != actor_name)
      continue;
    // An exit with an error reason ends any actor that does not trap
    // exits, like a throwing handler would.
    self->send_exit(inst.actor,
                    caf::make_error(errc::injected_fault,
                                    "injected fault in logic " + actor_name));
    found = true;
  }
  if (!found)
    return caf::make_error(errc::not_available,
                           "no running logic instance " + actor_name
                             + (sup.base.channel.empty()
                                  ? std::string{}
                                  : " beside " + sup.base.channel));
  return caf::none;
}

std::vector<caf::actor> logic_handles(const logic_supervision& sup) {
  std::vector<caf::actor> result(sup.table->bindings.size());
  for (auto& inst : sup.instances)
    result[inst.binding] = inst.actor;
  return result;
}

// -- channel owners ------------------------------------------------------------

namespace {

// Beyond this many client events waiting for verdicts, new ones pass
// without asking (still in order): a stuck logic costs latency, not memory.
constexpr std::size_t max_pending_client_events = 1024;

// The instance of binding `b` that sees this owner's channel, or null.
caf::actor instance_for(owner_logic& lg, std::size_t b) {
  if (lg.table->bindings[b].channel_bound()) {
    if (lg.own)
      for (auto& inst : lg.own->instances)
        if (inst.binding == b)
          return inst.actor;
    return nullptr;
  }
  return b < lg.app_bound.size() ? lg.app_bound[b] : caf::actor{};
}

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

struct join_question {
  std::string channel;
  std::string socket_id;
  std::string user_id;
  std::function<void(subscribe_verdict)> done;
};

// Asks the bindings in order; the first refusal wins, all-allow allows.
void subscribe_step(owner_self self, std::shared_ptr<join_question> q,
                    std::size_t k) {
  auto& lg = self->state.logic;
  for (; k < lg.applicable.size(); ++k) {
    auto& b = lg.table->bindings[lg.applicable[k]];
    ++b.stats->calls;
    auto target = instance_for(lg, lg.applicable[k]);
    if (!target) {
      ++b.stats->passthrough; // Restarting or failed: the default.
      continue;
    }
    auto bp = &b; // The table outlives every owner of the app.
    self
      ->request(target, b.timeout, logic_subscribe_atom::value, q->channel,
                q->socket_id, q->user_id)
      .then(
        [self, q, k, bp](subscribe_verdict& v) {
          if (!v.allow) {
            ++bp->stats->refused;
            q->done(std::move(v));
            return;
          }
          subscribe_step(self, q, k + 1);
        },
        [self, q, k, bp](caf::error& err) {
          count_default(*bp, err);
          subscribe_step(self, q, k + 1);
        });
    return;
  }
  q->done(subscribe_verdict::allowed());
}

pending_client_event* find_pending(owner_logic& lg, uint64_t id) {
  for (auto& p : lg.queue)
    if (p.id == id)
      return &p;
  return nullptr;
}

// Relays decided events from the front, in arrival order. They come back
// to the owner from itself, which its handler passes straight through.
void flush_client_events(owner_self self) {
  auto& lg = self->state.logic;
  while (!lg.queue.empty() && lg.queue.front().decided) {
    auto p = std::move(lg.queue.front());
    lg.queue.pop_front();
    if (!p.drop)
      self->send(self, client_event_atom::value, std::move(p.ev));
  }
}

void apply_verdict(owner_self self, const logic_binding& b, pending_client_event& p,
                   client_event_verdict& v) {
  auto& st = self->state;
  if (!v.answer_event.empty() && !reserved_name(v.answer_event) && p.via) {
    ++b.stats->answered;
    self->send(p.via, logic_atom::value, p.ev.socket_id,
               std::move(v.answer_event), std::move(v.answer_data));
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
          b.actor, st.channel, v.event);
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

void client_event_step(owner_self self, uint64_t id, std::size_t k) {
  auto& lg = self->state.logic;
  auto p = find_pending(lg, id);
  if (p == nullptr)
    return;
  for (; k < lg.applicable.size() && !p->drop; ++k) {
    auto& b = lg.table->bindings[lg.applicable[k]];
    ++b.stats->calls;
    auto target = instance_for(lg, lg.applicable[k]);
    if (!target) {
      ++b.stats->passthrough;
      continue;
    }
    auto bp = &b;
    self
      ->request(target, b.timeout, logic_client_event_atom::value,
                self->state.channel, p->ev)
      .then(
        [self, id, k, bp](client_event_verdict& v) {
          if (auto q = find_pending(self->state.logic, id))
            apply_verdict(self, *bp, *q, v);
          client_event_step(self, id, k + 1);
        },
        [self, id, k, bp](caf::error& err) {
          count_default(*bp, err);
          client_event_step(self, id, k + 1);
        });
    return;
  }
  p->decided = true;
  flush_client_events(self);
}

} // namespace

void logic_owner_start(owner_self self) {
  auto& st = self->state;
  auto& lg = st.logic;
  lg.table = st.ctx->logic;
  if (!lg.table)
    return;
  std::vector<std::size_t> own;
  for (std::size_t i = 0; i < lg.table->bindings.size(); ++i) {
    auto& b = lg.table->bindings[i];
    if (!b.applies_to(st.channel))
      continue;
    lg.applicable.push_back(i);
    if (b.channel_bound())
      own.push_back(i);
  }
  if (own.empty())
    return;
  logic_handle base;
  base.app_id = st.ctx->app.id;
  base.channel = st.channel;
  base.node_id = st.ctx->node_id;
  base.app = st.app;
  lg.own = supervise_logic(self, lg.table, own, std::move(base));
}

bool logic_owner_join(owner_self self, owner_join& join) {
  auto& st = self->state;
  auto& lg = st.logic;
  // A silent re-join rebuilds a subscription the logic already allowed.
  if (!lg.active() || join.rejoin)
    return false;
  if (auto i = lg.allowed.find(join.socket_id); i != lg.allowed.end()) {
    lg.allowed.erase(i);
    return false; // Allowed; this is the join coming back.
  }
  auto rp = self->make_response_promise();
  auto q = std::make_shared<join_question>();
  q->channel = st.channel;
  q->socket_id = join.socket_id;
  q->user_id = join.user_id;
  q->done = [self, rp, join](subscribe_verdict v) mutable {
    auto& st = self->state;
    if (v.allow) {
      // Back through the owner's own join handler, answering the original
      // requester (the channel), which stays the sender.
      st.logic.allowed.insert(join.socket_id);
      rp.delegate(caf::actor_cast<caf::actor>(self), caf::join_atom::value,
                  std::move(join));
      return;
    }
    st.ctx->counters->subscription_errors.fetch_add(1,
                                                    std::memory_order_relaxed);
    owner_joined reply;
    reply.ok = false;
    reply.status = v.status;
    // pusher-js treats it like an auth endpoint that said no.
    reply.error_type = "AuthError";
    reply.error = v.reason.empty() ? "Subscription refused by the app"
                                   : std::move(v.reason);
    reply.owner_node = st.ctx->node_id;
    rp.deliver(std::move(reply));
  };
  subscribe_step(self, std::move(q), 0);
  return true;
}

bool logic_owner_client_event(owner_self self, client_event& ce) {
  auto& lg = self->state.logic;
  if (!lg.active())
    return false;
  auto sender = self->current_sender();
  if (caf::actor_cast<caf::actor_addr>(sender) == self->address())
    return false; // Decided; relay it.
  pending_client_event p;
  p.id = ++lg.next_id;
  p.ev = std::move(ce);
  p.via = caf::actor_cast<caf::actor>(sender);
  if (lg.queue.size() >= max_pending_client_events) {
    for (auto b : lg.applicable)
      ++lg.table->bindings[b].stats->passthrough;
    p.decided = true;
    lg.queue.push_back(std::move(p));
    flush_client_events(self);
    return true;
  }
  auto id = p.id;
  lg.queue.push_back(std::move(p));
  client_event_step(self, id, 0);
  return true;
}

void logic_owner_notify(owner_self self, const std::string& name,
                        const std::string& user_id) {
  auto& st = self->state;
  auto& lg = st.logic;
  if (!lg.active())
    return;
  bool added = name == "member_added";
  if (!added && name != "member_removed")
    return;
  for (auto b : lg.applicable) {
    auto target = instance_for(lg, b);
    if (!target)
      continue;
    ++lg.table->bindings[b].stats->calls;
    // Anonymous: whatever the handler returns goes nowhere.
    caf::anon_send(target, logic_member_atom::value,
                   member_change{st.channel, user_id, added});
  }
}

void logic_owner_stop(owner_self self) {
  auto& lg = self->state.logic;
  if (!lg.active())
    return;
  if (lg.own) {
    for (auto& inst : lg.own->instances) {
      auto& b = lg.table->bindings[inst.binding];
      if (inst.actor) {
        self->demonitor(inst.actor);
        self->send_exit(inst.actor, caf::exit_reason::kill);
        --b.stats->running;
      }
      if (inst.failed)
        b.stats->unmark_failed(lg.own->base.channel);
    }
    // Restart ticks still on their way find nothing to start.
    lg.own->instances.clear();
  }
  lg.applicable.clear();
  lg.app_bound.clear();
  for (auto& p : lg.queue)
    p.decided = true;
  flush_client_events(self);
}

bool logic_owner_down(owner_self self, const caf::down_msg& dm) {
  auto& lg = self->state.logic;
  return lg.own && logic_down(self, *lg.own, dm);
}

void logic_owner_restart(owner_self self, uint64_t index) {
  auto& lg = self->state.logic;
  if (lg.own)
    logic_restart(self, *lg.own, index);
}

caf::result<caf::ok_atom> logic_owner_crash(owner_self self,
                                            const crash_request& req) {
  auto& lg = self->state.logic;
  if (!lg.own)
    return caf::make_error(errc::not_available,
                           "no channel-bound logic beside "
                             + self->state.channel);
  if (auto err = logic_crash(self, *lg.own, req.name))
    return err;
  return caf::ok_atom::value;
}

// -- apps ------------------------------------------------------------------------

void logic_app_start(app_self self) {
  auto& st = self->state;
  auto table = st.ctx->logic;
  if (!table)
    return;
  std::vector<std::size_t> app_bound;
  for (std::size_t i = 0; i < table->bindings.size(); ++i)
    if (!table->bindings[i].channel_bound())
      app_bound.push_back(i);
  if (app_bound.empty())
    return;
  logic_handle base;
  base.app_id = st.ctx->app.id;
  base.node_id = st.ctx->node_id;
  base.app = caf::actor_cast<caf::actor>(self);
  // Owners call app-bound instances directly: a restart hands them the
  // new handles (rare), so an event costs no hop through the app.
  st.logic = supervise_logic(self, table, app_bound, std::move(base), [self] {
    auto& st = self->state;
    auto handles = logic_handles(*st.logic);
    for (auto& [name, entry] : st.owners)
      self->send(entry.actor, logic_atom::value, handles);
  });
  // The app's down handler (app.cpp) passes logic instances' downs on.
}

void logic_app_owner_started(app_self self, const caf::actor& owner) {
  auto& st = self->state;
  if (st.logic)
    self->send(owner, logic_atom::value, logic_handles(*st.logic));
}

caf::result<caf::ok_atom> logic_app_crash(app_self self,
                                          const crash_request& req) {
  auto& st = self->state;
  auto slash = req.name.find('/');
  if (slash == std::string::npos) {
    if (!st.logic)
      return caf::make_error(errc::not_available,
                             "no app-bound logic " + req.name);
    if (auto err = logic_crash(self, *st.logic, req.name))
      return err;
    return caf::ok_atom::value;
  }
  auto channel = req.name.substr(slash + 1);
  auto i = st.owners.find(channel);
  if (i == st.owners.end())
    return caf::make_error(errc::not_available,
                           "no owner of " + channel + " on this node");
  auto rp = self->make_response_promise<caf::ok_atom>();
  crash_request fwd{req.app_id, req.kind, req.name.substr(0, slash)};
  self->request(i->second.actor, std::chrono::seconds(2), std::move(fwd))
    .then([rp](caf::ok_atom) mutable { rp.deliver(caf::ok_atom::value); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

std::string logic_topology_json(const app_context& ctx) {
  if (!ctx.logic)
    return "[]";
  std::string out = "[";
  for (auto& b : ctx.logic->bindings) {
    auto& s = *b.stats;
    auto where = s.failed_where();
    std::string failed_on = "[";
    for (auto& w : where)
      failed_on += (failed_on.size() > 1 ? "," : "") + pusher::json_quote(w);
    failed_on += "]";
    out += (out.size() > 1 ? "," : "");
    out += "{\"actor\":" + pusher::json_quote(b.actor)
           + ",\"channels\":" + pusher::json_quote(b.pattern)
           + ",\"bound\":\"" + (b.channel_bound() ? "channel" : "app")
           + "\",\"status\":\"" + (where.empty() ? "running" : "failed")
           + "\",\"instances\":" + std::to_string(s.running.load())
           + ",\"failed\":" + std::to_string(where.size())
           + ",\"failed_on\":" + failed_on
           + ",\"restarts\":" + std::to_string(s.restarts.load())
           + ",\"calls\":" + std::to_string(s.calls.load())
           + ",\"passthrough\":" + std::to_string(s.passthrough.load()) + "}";
  }
  return out + "]";
}

std::string logic_metrics(
  const std::vector<std::pair<std::string, logic_table_ptr>>& apps) {
  struct family {
    const char* name;
    const char* help;
    const char* type;
    std::string lines;
  };
  family fams[] = {
    {"starling_logic_instances", "Live app logic instances.", "gauge", {}},
    {"starling_logic_failed",
     "App logic instances past their restart limit (the app serves on "
     "without them).",
     "gauge",
     {}},
    {"starling_logic_restarts_total", "App logic instance restarts.",
     "counter",
     {}},
    {"starling_logic_hook_calls_total", "Hook questions and notifications.",
     "counter",
     {}},
    {"starling_logic_passthrough_total",
     "Hooks answered by the default (allow/pass): timeout, crash, error, "
     "instance restarting or failed.",
     "counter",
     {}},
    {"starling_logic_verdicts_total",
     "Hook answers that changed something, by verdict.", "counter", {}},
  };
  bool any = false;
  for (auto& [app_id, table] : apps) {
    if (!table)
      continue;
    for (auto& b : table->bindings) {
      any = true;
      auto& s = *b.stats;
      // The same actor may be bound to several patterns: the pattern is
      // part of the series.
      auto labels = "app=" + pusher::json_quote(app_id)
                    + ",actor=" + pusher::json_quote(b.actor)
                    + ",channels=" + pusher::json_quote(b.pattern);
      auto l = "{" + labels + "} ";
      auto v = [&](const char* verdict) {
        return "{" + labels + ",verdict=\"" + verdict + "\"} ";
      };
      fams[0].lines += fams[0].name + l + std::to_string(s.running.load()) + '\n';
      fams[1].lines += fams[1].name + l + std::to_string(s.failed()) + '\n';
      fams[2].lines += fams[2].name + l + std::to_string(s.restarts.load()) + '\n';
      fams[3].lines += fams[3].name + l + std::to_string(s.calls.load()) + '\n';
      fams[4].lines += fams[4].name + l + std::to_string(s.passthrough.load())
                       + '\n';
      fams[5].lines += fams[5].name + v("refuse")
                       + std::to_string(s.refused.load()) + '\n'
                       + fams[5].name + v("drop")
                       + std::to_string(s.dropped.load()) + '\n'
                       + fams[5].name + v("rewrite")
                       + std::to_string(s.rewritten.load()) + '\n'
                       + fams[5].name + v("answer")
                       + std::to_string(s.answered.load()) + '\n';
    }
  }
  if (!any)
    return {};
  std::string out;
  for (auto& f : fams)
    out += std::string{"# HELP "} + f.name + ' ' + f.help + "\n# TYPE "
           + f.name + ' ' + f.type + '\n' + f.lines;
  return out;
}

} // namespace starling
