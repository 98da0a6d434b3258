// The signin hook of an app (app_signin.hpp).
#include "actors/app_signin.hpp"

#include <chrono>
#include <memory>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/log.hpp"
#include "actors/logic_bindings.hpp"
#include "actors/logic_hooks.hpp"

#include <spdlog/spdlog.h>

namespace starling {

namespace {

using self_ptr = app_actor::stateful_pointer<app_state>;
using time_point = caf::actor_clock::time_point;

struct signin_question {
  signin_attempt attempt;
  std::vector<std::size_t> bindings; // Those that handle the hook, in order.
  caf::typed_response_promise<signin_verdict> rp;
};

using question_ptr = std::shared_ptr<signin_question>;

// Beyond this many signins waiting for a restarting instance, more get the
// on_unavailable verdict at once: a signin flood costs no memory.
constexpr std::size_t max_waiting_signins = 1024;

void signin_step(self_ptr self, question_ptr q, std::size_t k);
void signin_ask(self_ptr self, question_ptr q, std::size_t k,
                time_point deadline, caf::actor_addr dead);

// Binding `b` could not decide: pass goes on, closed ends the signin.
void unavailable(self_ptr self, question_ptr q, std::size_t k,
                 const logic_binding& b, const caf::error& err) {
  ++b.stats->unavailable;
  component_logger("logic")->debug("signin hook unavailable actor={} "
                                   "verdict={} error={}",
                                   b.actor,
                                   b.pass_when_unavailable ? "pass" : "closed",
                                   to_string(err));
  if (b.pass_when_unavailable) {
    signin_step(self, std::move(q), k + 1);
    return;
  }
  q->rp.deliver(caf::make_error(errc::logic_unavailable,
                                b.actor + " is unavailable; retry later"));
}

void signin_step(self_ptr self, question_ptr q, std::size_t k) {
  if (k >= q->bindings.size()) {
    q->rp.deliver(signin_verdict::allowed());
    return;
  }
  auto& b = self->state.ctx->logic->bindings[q->bindings[k]];
  ++b.stats->calls;
  signin_ask(self, std::move(q), k, self->clock().now() + b.unavailable_wait,
             {});
}

// Asks binding k's instance. While it restarts (or `dead`, the one that
// crashed under the question, is not yet replaced) the question waits in
// the app's signin_waiters until `deadline`, like an owner's hooks do.
void signin_ask(self_ptr self, question_ptr q, std::size_t k,
                time_point deadline, caf::actor_addr dead) {
  auto& st = self->state;
  auto index = q->bindings[k];
  auto bp = &st.ctx->logic->bindings[index]; // The table outlives the app.
  auto target = st.logic ? st.logic->instance_for(index) : caf::actor{};
  if (!target || target.address() == dead) {
    auto now = self->clock().now();
    if (now >= deadline || !st.logic || !st.logic->restarting(index)
        || st.signin_waiters.size() >= max_waiting_signins) {
      unavailable(self, std::move(q), k, *bp,
                  caf::make_error(errc::not_available));
      return;
    }
    st.signin_waiters.push_back([self, q, k, deadline, dead] {
      signin_ask(self, q, k, deadline, dead);
    });
    self->delayed_send(self, deadline - now, logic_wait_atom::value);
    return;
  }
  auto asked = std::chrono::steady_clock::now();
  self->request(target, bp->timeout, logic_signin_atom::value, q->attempt)
    .then(
      [self, q, k, bp, asked](signin_verdict& v) {
        bp->stats->latency.record_since(asked);
        if (!v.allow) {
          ++bp->stats->refused;
          q->rp.deliver(std::move(v));
          return;
        }
        signin_step(self, q, k + 1);
      },
      [self, q, k, bp, asked, deadline, target](caf::error& err) {
        bp->stats->latency.record_since(asked);
        switch (classify(err, target)) {
          case hook_error::not_handled: // Its choice.
            signin_step(self, q, k + 1);
            break;
          case hook_error::crashed:
            signin_ask(self, q, k, deadline, target.address());
            break;
          case hook_error::unavailable:
            unavailable(self, q, k, *bp, err);
        }
      });
}

} // namespace

bool asks_signin(const app_context& ctx) {
  if (!ctx.logic)
    return false;
  for (auto& b : ctx.logic->bindings)
    if (!b.channel_bound() && b.handles(hook_signin))
      return true;
  return false;
}

caf::typed_response_promise<signin_verdict>
on_signin_request(self_ptr self, signin_request& req) {
  auto q = std::make_shared<signin_question>();
  q->rp = self->make_response_promise<signin_verdict>();
  q->attempt = signin_attempt{std::move(req.socket_id), std::move(req.user_id),
                              std::move(req.user_data)};
  auto& st = self->state;
  if (st.ctx->logic)
    for (std::size_t i = 0; i < st.ctx->logic->bindings.size(); ++i) {
      auto& b = st.ctx->logic->bindings[i];
      if (!b.channel_bound() && b.handles(hook_signin))
        q->bindings.push_back(i);
    }
  auto rp = q->rp;
  signin_step(self, std::move(q), 0);
  return rp;
}

void wake_signins(self_ptr self) {
  auto waiting = std::move(self->state.signin_waiters);
  self->state.signin_waiters.clear();
  for (auto& w : waiting)
    w();
}

} // namespace starling
