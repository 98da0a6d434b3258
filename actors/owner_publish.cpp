// Owner directory, publishing: an HTTP API publish is handed to each
// channel's owner and answered once every owner numbered it, retried on a
// successor while the owner restarts or its node leaves.
#include "actors/owner_directory.hpp"
#include "actors/owner_directory_detail.hpp"

#include <caf/all.hpp>

#include "actors/channel_owner.hpp"
#include "actors/errors.hpp"
#include "pusher/channel_kind.hpp"

namespace starling::directory_detail {

namespace {

// A publish whose owner cannot be reached tries again every park_delay
// until publish_deadline (under the HTTP gateway's 5 s), each attempt
// waiting at most publish_attempt_timeout.
constexpr auto publish_deadline = std::chrono::milliseconds(4000);
constexpr auto publish_attempt_timeout = std::chrono::milliseconds(1500);

// Whether a publish that failed with `err` may be handed to a successor:
// the owner did not take it (it ended first, or its node is gone), or it
// timed out on an owner this node no longer sees.
bool retryable(self_ptr self, const caf::error& err, const std::string& name,
               const owner_actor& hdl) {
  if (err == caf::sec::request_receiver_down
      || err == caf::exit_reason::remote_link_unreachable)
    return true;
  if (err != caf::sec::request_timeout)
    return false;
  auto& st = self->state;
  auto i = st.remote_owners.find(name);
  return i == st.remote_owners.end() || i->second != hdl;
}

// One publish to one channel's owner, shared by its attempts (the event is
// not copied per retry).
struct publish_job {
  std::string name;                        ///< The channel.
  publish_event pe;                        ///< The event.
  caf::actor_clock::time_point deadline;   ///< When to give up.
  std::function<void(caf::error)> done;    ///< Called once.
};

using publish_job_ptr = std::shared_ptr<publish_job>;

void publish_to_owner(self_ptr self, publish_job_ptr job);

// Tries again after park_delay, or gives up past the deadline.
void publish_again(self_ptr self, publish_job_ptr job, caf::error err) {
  if (self->clock().now() + park_delay >= job->deadline) {
    job->done(std::move(err));
    return;
  }
  park(self, [self, job] { publish_to_owner(self, job); });
}

// Hands the job's event to the owner of its channel and calls `done` once
// it numbered it (or with why not). An owner that ended before taking it,
// or whose node died, is replaced and asked again until the deadline: a
// dead node leaves the view within a second or two and the ring names a
// live one.
void publish_to_owner(self_ptr self, publish_job_ptr job) {
  with_owner(self, job->name, [self, job](caf::expected<owner_actor> owner) {
    if (!owner) {
      publish_again(self, job, std::move(owner.error()));
      return;
    }
    auto hdl = *owner;
    auto on_error = [self, job, hdl](caf::error& err) {
      if (!retryable(self, err, job->name, hdl)) {
        job->done(std::move(err));
        return;
      }
      forget_owner(self, job->name, hdl);
      // An owner that ended here is replaced at once.
      if (err == caf::sec::request_receiver_down && hdl.node() == self->node())
        publish_to_owner(self, job);
      else
        publish_again(self, job, std::move(err));
    };
    auto on_ack = [job](publish_ack&) { job->done(caf::none); };
    if (hdl.node() == self->node()) {
      // A local owner answers or ends (and its end answers): no timer.
      self->request(hdl, caf::infinite, job->pe).then(on_ack, on_error);
      return;
    }
    auto left = std::chrono::duration_cast<caf::timespan>(job->deadline
                                                          - self->clock().now());
    auto wait = std::min(caf::timespan{publish_attempt_timeout}, left);
    auto attempt = job->pe;
    attempt.give_up_ms = system_ms() + static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    self->request(hdl, wait, std::move(attempt)).then(on_ack, on_error);
  });
}

// A publish is answered once every channel's owner numbered the event: the
// HTTP API's 200 means it will be delivered.
} // namespace

caf::typed_response_promise<caf::ok_atom> on_publish(self_ptr self,
                                                     publish_request& req) {
  auto& st = self->state;
  auto rp = self->make_response_promise<caf::ok_atom>();
  struct outcome {
    std::size_t pending = 0;
    caf::error first_error;
  };
  auto out = std::make_shared<outcome>();
  out->pending = 1;
  auto deadline = self->clock().now() + publish_deadline;
  auto finish = [rp, out](caf::error err) mutable {
    if (err && !out->first_error)
      out->first_error = std::move(err);
    if (--out->pending > 0)
      return;
    if (out->first_error)
      rp.deliver(std::move(out->first_error));
    else
      rp.deliver(caf::ok_atom::value);
  };
  for (auto& name : req.channels) {
    // Alone, a channel without an owner and without a cache has nobody
    // subscribed here or anywhere: nothing to number.
    if (alone(self) && st.owners.count(name) == 0
        && !pusher::classify_channel(name).keeps_last_event())
      continue;
    auto job = std::make_shared<publish_job>();
    job->name = name;
    job->pe.event.event = req.event;
    job->pe.event.data = req.data;
    job->pe.event.exclude = req.socket_id;
    job->pe.event.published_ns = req.published_ns;
    job->pe.ask_logic = !req.from_logic;
    job->deadline = deadline;
    job->done = finish;
    ++out->pending;
    publish_to_owner(self, std::move(job));
  }
  finish(caf::none);
  return rp;
}

} // namespace starling::directory_detail
