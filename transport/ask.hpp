// Asking actors from transport code: a one-shot actor sends the request
// and hands the answer to a reply_fn, so the I/O thread never blocks.
// (One-shot actors are dynamically typed: they only make one request.)
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "transport/http_reply.hpp"
#include "transport/server_context.hpp"

namespace starling::transport {

/// Returns `done` made idempotent: gathers of several answers may fail more
/// than once, the client gets one response.
inline reply_fn once(reply_fn done) {
  auto called = std::make_shared<std::atomic<bool>>(false);
  return [called, done = std::move(done)](http_reply reply) {
    if (!called->exchange(true))
      done(std::move(reply));
  };
}

/// Asks `dest` (a typed actor) with a one-shot actor: the I/O thread never
/// blocks on actors. `on_reply` returns the response, or nothing while a
/// gather of several answers is incomplete.
template <class Reply, class Handle, class Request, class OnReply>
void ask(server_context& ctx, Handle dest, Request req, reply_fn done,
         OnReply on_reply) {
  ctx.sys.spawn([dest = std::move(dest), req = std::move(req),
                 done = std::move(done),
                 on_reply = std::move(on_reply)](caf::event_based_actor* self) mutable {
    self->request(dest, std::chrono::seconds(5), std::move(req))
      .then(
        [self, done, on_reply](Reply& reply) {
          if (std::optional<http_reply> r = on_reply(reply))
            done(std::move(*r));
          self->quit();
        },
        [self, done](caf::error& err) {
          done(json_error(503, "Query failed: " + caf::to_string(err)));
          self->quit();
        });
  });
}

} // namespace starling::transport
