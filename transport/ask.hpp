// Asking actors from transport code: the gateway actor sends the request
// and hands the answer to a reply_fn, so the I/O thread never blocks on an
// actor and no actor is spawned per request. (The gateway is dynamically
// typed: its only message is a job to run; the requests it makes are typed.)
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "transport/http_reply.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

/// One question for the gateway: code to run in its context.
struct gateway_job {
  std::function<void(caf::event_based_actor*)> run; ///< Makes the request.
};

/// How long an HTTP request waits for its actors before a 503.
constexpr auto ask_timeout = std::chrono::seconds(5);

/// A question the gateway asked and still bounds in time.
struct pending_question {
  bool answered = false; ///< Replied, failed or timed out: done.
  virtual ~pending_question() = default;
  /// Answers the client that its actors took too long.
  virtual void expire() = 0;
};

/// Takes `q` into the gateway's deadline queue; it expires after
/// ask_timeout unless answered. One timer per gateway instead of one CAF
/// request timeout per question, each of which wakes CAF's clock thread
/// (that thread was 9 % of the server's CPU samples under HTTP publishes).
void bound_in_time(caf::event_based_actor* gateway,
                   std::shared_ptr<pending_question> q);

/// Marks `q` answered and drops answered questions from the queue's front.
void mark_answered(caf::event_based_actor* gateway, pending_question& q);

/// Returns the gateway actor: it runs each gateway_job it receives.
caf::actor spawn_gateway(caf::actor_system& sys);

/// Returns `done` made idempotent: gathers of several answers may fail more
/// than once, the client gets one response.
inline reply_fn once(reply_fn done) {
  auto called = std::make_shared<std::atomic<bool>>(false);
  return [called, done = std::move(done)](http_reply reply) {
    if (!called->exchange(true))
      done(std::move(reply));
  };
}

/// Returns 503 with a Retry-After hint: what the HTTP API answers when the
/// actors cannot take a request now.
http_reply unavailable(const std::string& message);

/// One question of `ask`: its reply and error handlers, and the client.
template <class Reply, class OnReply, class OnError>
struct question final : pending_question {
  question(reply_fn d, OnReply r, OnError e)
    : done(std::move(d)), on_reply(std::move(r)), on_error(std::move(e)) {
    // nop
  }

  void expire() override {
    caf::error err = caf::make_error(caf::sec::request_timeout);
    done(on_error(err));
  }

  reply_fn done;    ///< Answers the client.
  OnReply on_reply; ///< See `ask`.
  OnError on_error; ///< See `ask`.
};

/// Asks `dest` (a typed actor) through the gateway. `on_reply` returns the
/// response, or nothing while a gather of several answers is incomplete;
/// an error or ask_timeout without an answer is answered by `on_error`.
template <class Reply, class Handle, class Request, class OnReply,
          class OnError>
void ask(const caf::actor& gateway, Handle dest, Request req, reply_fn done,
         OnReply on_reply, OnError on_error) {
  using question_type = question<Reply, OnReply, OnError>;
  auto q = std::make_shared<question_type>(std::move(done),
                                           std::move(on_reply),
                                           std::move(on_error));
  auto job = [dest = std::move(dest), req = std::move(req),
              q = std::move(q)](caf::event_based_actor* self) mutable {
    bound_in_time(self, q);
    // No CAF timeout: the gateway's deadline queue bounds the wait.
    self->request(dest, caf::infinite, std::move(req))
      .then(
        [self, q](Reply& reply) {
          if (q->answered)
            return; // Timed out already.
          mark_answered(self, *q);
          if (std::optional<http_reply> r = q->on_reply(reply))
            q->done(std::move(*r));
        },
        [self, q](caf::error& err) {
          if (q->answered)
            return;
          mark_answered(self, *q);
          q->done(q->on_error(err));
        });
  };
  caf::anon_send(gateway, gateway_job{std::move(job)});
}

/// As above, through the server's gateway.
template <class Reply, class Handle, class Request, class OnReply,
          class OnError>
void ask(server_context& ctx, Handle dest, Request req, reply_fn done,
         OnReply on_reply, OnError on_error) {
  ask<Reply>(ctx.gateway, std::move(dest), std::move(req), std::move(done),
             std::move(on_reply), std::move(on_error));
}

/// As above; an error or a timeout answers 503.
template <class Reply, class Handle, class Request, class OnReply>
void ask(server_context& ctx, Handle dest, Request req, reply_fn done,
         OnReply on_reply) {
  ask<Reply>(ctx, std::move(dest), std::move(req), std::move(done),
             std::move(on_reply), [](const caf::error& err) {
               return unavailable("Not taken: " + caf::to_string(err));
             });
}

} // namespace starling::transport

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(starling::transport::gateway_job)
