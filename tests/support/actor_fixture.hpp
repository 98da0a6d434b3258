// Shared scaffolding for the deterministic actor suites: a test-coordinator
// fixture that tears down every actor it spawned, and app contexts.
#pragma once

#ifndef FAIL
#define FAIL(msg) CAF_FAIL(msg) // 0.17.6: dsl.hpp's request<T>() uses FAIL.
#endif
#include <caf/test/dsl.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "actors/app_context.hpp"
#include "config/settings.hpp"

namespace starling::test {

/// Returns app settings with fixed id, key and secret and default limits.
inline config::app_settings test_app_settings() {
  config::app_settings app;
  app.id = "app-1";
  app.key = "app-key";
  app.secret = "app-secret";
  return app;
}

/// Returns a mutable context for `app` on node "node-a" with its own socket
/// counter; convert to app_context_ptr when spawning.
inline std::shared_ptr<app_context>
make_context(config::app_settings app = test_app_settings()) {
  auto ctx = std::make_shared<app_context>();
  ctx->app = std::move(app);
  ctx->node_id = "node-a";
  ctx->activity_timeout_s = 120;
  ctx->socket_prefix = 4711;
  ctx->socket_counter = std::make_shared<std::atomic<uint64_t>>(0);
  return ctx;
}

/// Deterministic scheduler plus teardown: every tracked actor is killed
/// before the system shuts down, so handle cycles (channel <-> owner,
/// link <-> connection) cannot keep ~actor_system() waiting.
struct actor_fixture : test_coordinator_fixture<> {
  std::vector<caf::actor> tracked;

  ~actor_fixture() override {
    for (auto& hdl : tracked)
      caf::anon_send_exit(hdl, caf::exit_reason::kill);
    tracked.clear();
    // Jobs only: a re-arming timer must not keep teardown busy.
    sched.run();
  }

  /// Spawns `fun(xs...)` and kills it at teardown.
  template <class F, class... Ts>
  caf::actor spawn_tracked(F fun, Ts&&... xs) {
    auto hdl = sys.spawn(fun, std::forward<Ts>(xs)...);
    tracked.push_back(hdl);
    return hdl;
  }

  /// Returns whether `self` has a message waiting.
  bool self_has_mail() {
    return self->peek_at_next_mailbox_element() != nullptr;
  }

  /// Takes the next message out of `self`'s mailbox; fails the test unless
  /// it is exactly `(Ts...)`.
  template <class... Ts>
  std::tuple<Ts...> pop_self() {
    auto ptr = self->peek_at_next_mailbox_element();
    CAF_REQUIRE(ptr != nullptr);
    if (!ptr->content().template match_elements<Ts...>())
      CAF_FAIL("unexpected message at self: " << to_string(ptr->content()));
    // Copy before dequeue() frees the element.
    std::tuple<Ts...> result = ptr->content().template get_as_tuple<Ts...>();
    self->dequeue();
    return result;
  }
};

} // namespace starling::test
