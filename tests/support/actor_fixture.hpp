// Shared scaffolding for the deterministic actor suites: a test-coordinator
// fixture that tears down every actor it spawned, state access for typed and
// dynamically typed actors, and app contexts with a recording fan-out sink.
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
#include <type_traits>
#include <utility>
#include <vector>

#include "actors/app_context.hpp"
#include "config/settings.hpp"
#include "tests/support/recording_fanout_sink.hpp"

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
/// counter and a recording fan-out sink; convert to app_context_ptr when
/// spawning.
inline std::shared_ptr<app_context>
make_context(config::app_settings app = test_app_settings()) {
  auto ctx = std::make_shared<app_context>();
  ctx->app = std::move(app);
  ctx->node_id = "node-a";
  ctx->activity_timeout_s = 120;
  ctx->socket_ids = counting_socket_ids(4711);
  ctx->fanout = std::make_shared<recording_fanout_sink>();
  return ctx;
}

/// Returns the recording sink of a context made by make_context().
inline recording_fanout_sink& sink_of(const app_context& ctx) {
  return static_cast<recording_fanout_sink&>(*ctx.fanout);
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

  /// Spawns `fun(xs...)` (typed or dynamically typed) and kills it at
  /// teardown. Returns the handle spawn() returns.
  template <class F, class... Ts>
  auto spawn_tracked(F fun, Ts&&... xs) {
    auto hdl = sys.spawn(fun, std::forward<Ts>(xs)...);
    tracked.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  /// Kills `hdl` at teardown (an actor spawned elsewhere).
  template <class Handle>
  void track(const Handle& hdl) {
    tracked.push_back(caf::actor_cast<caf::actor>(hdl));
  }

  /// Returns the state of the typed stateful actor `hdl`.
  template <class State, class... Sigs>
  State& state_of(const caf::typed_actor<Sigs...>& hdl) {
    using handle = caf::typed_actor<Sigs...>;
    using impl = typename handle::template stateful_base<State>;
    return deref<impl>(hdl).state;
  }

  /// Returns the state of the dynamically typed stateful actor `hdl`.
  template <class State>
  State& state_of(const caf::actor& hdl) {
    return deref<caf::stateful_actor<State>>(hdl).state;
  }

  /// Returns whether the actor behind `hdl` has terminated.
  template <class Handle>
  static bool terminated(const Handle& hdl) {
    auto ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
    return ptr == nullptr
           || ptr->getf(caf::abstract_actor::is_terminated_flag);
  }

  /// Asks `hdl` and returns the answer, running jobs only (no timers fire,
  /// unlike the DSL's request<T>(), which calls run()).
  template <class T, class Handle, class... Ts>
  T ask(const Handle& hdl, Ts... xs) {
    auto rh = self->request(hdl, caf::infinite, std::move(xs)...);
    sched.run();
    if (!self_has_mail())
      CAF_FAIL("no answer");
    T result{};
    rh.receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) {
                 CAF_FAIL("request failed: " << sys.render(err));
               });
    return result;
  }

  /// Asks `hdl` and returns the error it answers with (none on success),
  /// running jobs only.
  template <class T, class Handle, class... Ts>
  caf::error ask_error(const Handle& hdl, Ts... xs) {
    auto rh = self->request(hdl, caf::infinite, std::move(xs)...);
    sched.run();
    if (!self_has_mail())
      CAF_FAIL("no answer");
    caf::error result;
    rh.receive([](T&) {}, [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Returns whether `self` has a message waiting.
  bool self_has_mail() {
    return self->peek_at_next_mailbox_element() != nullptr;
  }

  /// Drops everything in `self`'s mailbox (replies nobody asked about).
  void drain_self() {
    while (self_has_mail())
      self->dequeue();
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

  /// Takes the next down_msg out of `self`'s mailbox, skipping others.
  caf::down_msg pop_down() {
    while (auto ptr = self->peek_at_next_mailbox_element()) {
      if (ptr->content().template match_elements<caf::down_msg>()) {
        auto result = ptr->content().template get_as<caf::down_msg>(0);
        self->dequeue();
        return result;
      }
      self->dequeue();
    }
    CAF_FAIL("no down_msg at self");
    return {};
  }
};

} // namespace starling::test
