// The gateway actor (ask.hpp).
#include "transport/ask.hpp"

#include <deque>
#include <utility>

namespace starling::transport {

namespace {

using tick_atom = caf::atom_constant<caf::atom("gwtick")>;

// How often the gateway looks for expired questions: a question is
// answered at most this much after ask_timeout.
constexpr auto tick_interval = std::chrono::milliseconds(250);

// Every question gets the same bound, so deadlines only grow along the
// queue: expiring is popping from the front.
struct gateway_state {
  struct entry {
    caf::actor_clock::time_point deadline;
    std::shared_ptr<pending_question> question;
  };
  std::deque<entry> in_flight;
  bool ticking = false; // A tick_atom is on its way.
};

using gateway_ptr = caf::stateful_actor<gateway_state>*;

// Every gateway_job runs in the gateway, so this cast holds.
gateway_state& state_of(caf::event_based_actor* gateway) {
  return static_cast<gateway_ptr>(gateway)->state;
}

void drop_answered(gateway_state& st) {
  while (!st.in_flight.empty() && st.in_flight.front().question->answered)
    st.in_flight.pop_front();
}

void on_tick(gateway_ptr self) {
  auto& st = self->state;
  st.ticking = false;
  auto now = self->clock().now();
  while (!st.in_flight.empty()
         && (st.in_flight.front().question->answered
             || st.in_flight.front().deadline <= now)) {
    auto q = std::move(st.in_flight.front().question);
    st.in_flight.pop_front();
    if (!q->answered) {
      q->answered = true;
      q->expire();
    }
  }
  if (!st.in_flight.empty()) {
    st.ticking = true;
    self->delayed_send(self, tick_interval, tick_atom::value);
  }
}

} // namespace

void bound_in_time(caf::event_based_actor* gateway,
                   std::shared_ptr<pending_question> q) {
  auto& st = state_of(gateway);
  st.in_flight.push_back(
    {gateway->clock().now() + ask_timeout, std::move(q)});
  if (!st.ticking) {
    st.ticking = true;
    gateway->delayed_send(gateway, tick_interval, tick_atom::value);
  }
}

void mark_answered(caf::event_based_actor* gateway, pending_question& q) {
  q.answered = true;
  drop_answered(state_of(gateway));
}

caf::actor spawn_gateway(caf::actor_system& sys) {
  return sys.spawn([](gateway_ptr self) -> caf::behavior {
    return {
      [self](gateway_job& job) { job.run(self); },
      [self](tick_atom) { on_tick(self); },
    };
  });
}

http_reply unavailable(const std::string& message) {
  auto reply = json_error(503, message);
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

} // namespace starling::transport
