// The actor side of /metrics for one app, as a unit test reads it: an
// admin actor over a fake node and a directory holding just that app.
#pragma once

#include <memory>
#include <string>

#include "actors/admin.hpp"
#include "actors/app_directory.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/probes.hpp"

namespace starling::test {

/// Returns what /metrics shows for `app` (its context `ctx`), spawning
/// the admin and fake node on `fx` (killed at its teardown).
inline std::string app_metrics(actor_fixture& fx, const app_context_ptr& ctx,
                               const app_actor& app) {
  auto node = fx.spawn_tracked(fake_node, caf::actor{});
  auto apps = std::make_shared<app_directory>();
  apps->add(ctx);
  apps->set(ctx->app.id, app, app_status::running);
  auto admin = fx.spawn_tracked(admin_behavior,
                                caf::actor_cast<node_actor>(node), apps);
  fx.sched.run();
  return fx.ask<std::string>(admin, metrics_atom::value);
}

} // namespace starling::test
