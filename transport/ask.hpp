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

/// Asks `dest` (a typed actor) through the gateway. `on_reply` returns the
/// response, or nothing while a gather of several answers is incomplete;
/// an error or a timeout is answered by `on_error`.
template <class Reply, class Handle, class Request, class OnReply,
          class OnError>
void ask(server_context& ctx, Handle dest, Request req, reply_fn done,
         OnReply on_reply, OnError on_error) {
  auto job = [dest = std::move(dest), req = std::move(req),
              done = std::move(done), on_reply = std::move(on_reply),
              on_error = std::move(on_error)](caf::event_based_actor* self) mutable {
    self->request(dest, std::chrono::seconds(5), std::move(req))
      .then(
        [done, on_reply](Reply& reply) mutable {
          if (std::optional<http_reply> r = on_reply(reply))
            done(std::move(*r));
        },
        [done, on_error](caf::error& err) { done(on_error(err)); });
  };
  caf::anon_send(ctx.gateway, gateway_job{std::move(job)});
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
