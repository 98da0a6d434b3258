// Unit tests for actors/node: the app directory it fills for the transport,
// app restarts up to the budget (then failed while the other apps serve),
// webhook actors restarted after a crash, the cluster bridge's supervision
// (fault injection, restart under the next start epoch, the slow retry past
// the budget), views passed to the apps, peer calls routed by app id, and
// drain. Bridges are fakes spawned by the node's bridge factory.
#define CAF_SUITE actors_node
#include "tests/support/actor_fixture.hpp"

#include "actors/node.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/app.hpp"
#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "actors/owner_directory.hpp"
#include "tests/support/fake_session_link.hpp"
#include "tests/support/probes.hpp"

using namespace starling;
using namespace std::chrono_literals;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

struct fixture : test::actor_fixture {
  std::shared_ptr<test::fake_http_poster> poster
    = std::make_shared<test::fake_http_poster>();
  std::shared_ptr<app_directory> apps = std::make_shared<app_directory>();
  /// Every bridge start: the member it announced and the bridge.
  std::shared_ptr<std::vector<std::pair<cluster_member, caf::actor>>> starts
    = std::make_shared<std::vector<std::pair<cluster_member, caf::actor>>>();
  /// Members of the views the fake bridges answer with (this node added).
  std::shared_ptr<std::vector<cluster_member>> others
    = std::make_shared<std::vector<cluster_member>>();
  node_actor node;

  ~fixture() override {
    starts->clear();
  }

  node_init init_of() {
    node_init init;
    init.apps.push_back(test::test_app_settings());
    auto second = test::test_app_settings();
    second.id = "app-2";
    second.key = "app-key-2";
    init.apps.push_back(second);
    init.node_id = "node-a";
    init.socket_ids = counting_socket_ids(42);
    init.poster = poster;
    init.apps_out = apps;
    init.make_bridge = [starts = starts, others = others](
                         caf::local_actor* parent, const cluster_member& me) {
      auto bridge = parent->spawn<caf::linked>(test::fake_bridge, me);
      starts->emplace_back(me, bridge);
      return caf::actor_cast<cluster_actor>(bridge);
    };
    return init;
  }

  void start(node_init init) {
    node = spawn_tracked(node_behavior, std::move(init));
    sched.run();
  }

  void start() {
    start(init_of());
  }

  node_state& st() {
    return state_of<node_state>(node);
  }

  app_actor app_actor_of(const std::string& id) {
    auto entry = apps->by_id(id);
    CAF_REQUIRE(entry.has_value());
    return entry->actor;
  }

  app_status status_of(const std::string& id) {
    auto entry = apps->by_id(id);
    CAF_REQUIRE(entry.has_value());
    return entry->status;
  }

  /// Opens a WebSocket on app `id` as the transport does after its checks.
  fake_link_ptr open(const std::string& id) {
    auto link = make_fake_link();
    caf::anon_send(app_actor_of(id), ws_opened{"protocol=7", link});
    sched.run();
    return link;
  }

  bool admitted(const fake_link_ptr& link) {
    return link->closes().empty() && link->frame_count() == 1
           && link->last_text().find("pusher:connection_established")
                != std::string::npos;
  }

  /// Ends an app abnormally. Not with exit_reason::kill: that reason is
  /// fatal for linked actors too and would take the node down with it.
  void stop_app(const app_actor& app) {
    caf::anon_send_exit(app, caf::exit_reason::user_shutdown);
  }

  /// Starts the cluster bridge, as main does.
  void join_cluster(uint64_t epoch = 100) {
    self->send(node, starling::join_cluster{
                       cluster_member{"node-a", "127.0.0.1", 4000, epoch}});
    sched.run();
  }

  cluster_actor bridge() {
    return st().bridge;
  }

  /// Asks for a bridge crash as POST /faults/crash?kind=bridge does; jobs
  /// only, the restart timer must not fire yet.
  bool crash_bridge() {
    return !ask_error<caf::ok_atom>(node, crash_request{"", "bridge", ""});
  }

  std::string topology() {
    return ask<std::string>(node, topology_request{});
  }

  node_stats stats() {
    return ask<node_stats>(node, stats_atom::value);
  }
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

// -- apps ---------------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(node_apps, fixture)

CAF_TEST(the node fills the app directory for the transport) {
  start();
  auto all = apps->all();
  CAF_REQUIRE_EQUAL(all.size(), 2u);
  CAF_CHECK_EQUAL(all[0].ctx->app.id, "app-1");
  CAF_CHECK_EQUAL(all[1].ctx->app.id, "app-2");
  auto by_key = apps->by_key("app-key-2");
  CAF_REQUIRE(by_key.has_value());
  CAF_CHECK_EQUAL(by_key->ctx->app.id, "app-2");
  CAF_CHECK(by_key->status == app_status::running);
  CAF_CHECK(by_key->actor == st().apps[1].actor);
  CAF_CHECK(!apps->by_key("no-such-key"));
  // Both apps share the node's socket counter and prefix.
  CAF_CHECK(admitted(open("app-1")));
  auto link = open("app-2");
  CAF_CHECK(has(link->last_text(), R"(42.2)"));
  CAF_CHECK_EQUAL(all[0].ctx->node_id, "node-a");
}

CAF_TEST(a crashed app is restarted five times then marked failed and retried) {
  start();
  for (int i = 0; i < 5; ++i) {
    auto before = app_actor_of("app-1");
    CAF_REQUIRE(before != nullptr);
    stop_app(before);
    run();
    auto after = app_actor_of("app-1");
    CAF_CHECK(after != nullptr);
    CAF_CHECK(after != before);
    CAF_CHECK(status_of("app-1") == app_status::running);
    CAF_CHECK(admitted(open("app-1")));
  }
  // The sixth crash within 10 s exceeds the budget (jobs only: the retry
  // timer must not fire yet).
  stop_app(app_actor_of("app-1"));
  sched.run();
  CAF_CHECK(app_actor_of("app-1") == nullptr);
  CAF_CHECK(status_of("app-1") == app_status::failed);
  CAF_CHECK(st().apps[0].tracker.failed());
  // The node itself and the other app keep serving.
  CAF_CHECK(status_of("app-2") == app_status::running);
  CAF_CHECK(admitted(open("app-2")));
  CAF_CHECK(!terminated(node));
  // Ten seconds later the failed app is tried again.
  advance_time(std::chrono::seconds(10));
  sched.run();
  CAF_CHECK(app_actor_of("app-1") != nullptr);
  CAF_CHECK(status_of("app-1") == app_status::running);
  CAF_CHECK(admitted(open("app-1")));
}

CAF_TEST(an app is restarting during its back-off) {
  start();
  stop_app(app_actor_of("app-1"));
  sched.run();
  // The first restart is immediate.
  CAF_CHECK(status_of("app-1") == app_status::running);
  stop_app(app_actor_of("app-1"));
  sched.run();
  // The second waits 10 ms.
  CAF_CHECK(status_of("app-1") == app_status::restarting);
  CAF_CHECK(app_actor_of("app-1") == nullptr);
  advance_time(10ms);
  sched.run();
  CAF_CHECK(status_of("app-1") == app_status::running);
  CAF_CHECK(app_actor_of("app-1") != nullptr);
}

CAF_TEST(connections of a crashed app are closed for reconnecting) {
  start();
  auto link = open("app-1");
  CAF_CHECK(admitted(link));
  stop_app(app_actor_of("app-1"));
  run();
  // The connection died with its app: the client is told to reconnect.
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4200);
}

CAF_TEST(a crash request for an app is answered before the app throws) {
  start();
  auto before = app_actor_of("app-1");
  CAF_CHECK(!ask_error<caf::ok_atom>(node, crash_request{"app-1", "app", ""}));
  run();
  CAF_CHECK(terminated(before));
  CAF_CHECK(app_actor_of("app-1") != nullptr);
  CAF_CHECK(app_actor_of("app-1") != before);
  CAF_CHECK(ask_error<caf::ok_atom>(node, crash_request{"app-9", "app", ""})
            == errc::unknown_app);
  CAF_CHECK(ask_error<caf::ok_atom>(node, crash_request{"", "bridge", ""})
            == errc::not_available);
}

CAF_TEST(peer calls are routed to the app they name) {
  start();
  auto owner = ask<owner_actor>(node, local_owner_request{"app-2", "room"});
  CAF_REQUIRE(owner);
  auto& dir = state_of<directory_state>(
    state_of<app_state>(app_actor_of("app-2")).directory);
  CAF_CHECK(dir.owners.count("room") == 1);
  auto& dir1 = state_of<directory_state>(
    state_of<app_state>(app_actor_of("app-1")).directory);
  CAF_CHECK(dir1.owners.empty());
  CAF_CHECK(ask<std::vector<channel_report>>(
              node, channels_request{"app-1", "", true})
              .empty());
  CAF_CHECK(ask<caf::ok_atom>(node, terminate_request{"app-1", "u1", true})
            == caf::ok_atom::value);
  auto err = ask_error<owner_actor>(node, local_owner_request{"app-9", "room"});
  CAF_CHECK(err == errc::unknown_app);
  // A failed app is no app to route to.
  for (int i = 0; i < 5; ++i) {
    stop_app(app_actor_of("app-2"));
    run();
  }
  stop_app(app_actor_of("app-2"));
  sched.run();
  err = ask_error<owner_actor>(node, local_owner_request{"app-2", "room"});
  CAF_CHECK(err == errc::unknown_app);
}

CAF_TEST(a crashed webhook actor is restarted) {
  auto init = init_of();
  init.apps[0].webhooks.push_back(config::webhook_settings{
    "http://127.0.0.1:1/hook", {}});
  start(std::move(init));
  CAF_REQUIRE_EQUAL(st().webhooks.size(), 1u);
  auto ctx = apps->by_id("app-1")->ctx;
  CAF_REQUIRE(ctx->webhooks != nullptr);
  CAF_CHECK(apps->by_id("app-2")->ctx->webhooks == nullptr);
  auto first = ctx->webhooks->get();
  CAF_REQUIRE(first);
  CAF_CHECK(!ask_error<caf::ok_atom>(node, crash_request{"app-1", "webhooks",
                                                         ""}));
  sched.run();
  CAF_CHECK(terminated(first));
  auto second = ctx->webhooks->get();
  CAF_REQUIRE(second);
  CAF_CHECK(second != first);
  CAF_CHECK(second == st().webhooks[0].actor);
  CAF_CHECK_EQUAL(st().webhooks[0].tracker.restarts(), 1u);
  // The app serves on; owners find the new actor through the slot.
  CAF_CHECK(!terminated(app_actor_of("app-1")));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- the cluster bridge -------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(node_bridge, fixture)

CAF_TEST(the bridge starts on join_cluster and its views reach the apps) {
  start();
  CAF_CHECK(bridge() == nullptr);
  join_cluster();
  CAF_REQUIRE_EQUAL(starts->size(), 1u);
  CAF_CHECK_EQUAL(starts->at(0).first.start_epoch, 100u);
  CAF_REQUIRE(bridge() != nullptr);
  auto s = stats();
  CAF_CHECK(s.bridge_up);
  CAF_CHECK_EQUAL(s.view_changes, 1u);
  for (auto id : {"app-1", "app-2"}) {
    auto& app = state_of<app_state>(app_actor_of(id));
    CAF_REQUIRE_EQUAL(app.view.members.size(), 1u);
    CAF_CHECK_EQUAL(app.view.members[0].node_id, "node-a");
    CAF_CHECK(app.bridge == bridge());
  }
  // A view with a peer goes to the apps as well.
  cluster_view view{{{"node-a", "127.0.0.1", 4000, 100},
                     {"node-b", "127.0.0.1", 4001, 3}},
                    2, "joined"};
  self->send(node, view);
  sched.run();
  CAF_CHECK_EQUAL(state_of<app_state>(app_actor_of("app-1"))
                    .view.members.size(),
                  2u);
  auto json = topology();
  CAF_MESSAGE(json);
  CAF_CHECK(has(json, R"("node":"node-a")"));
  CAF_CHECK(has(json, R"("members":["node-a","node-b"])"));
  CAF_CHECK(has(json, R"("bridge":"running")"));
}

CAF_TEST(a crashed bridge restarts with the next start epoch) {
  start();
  join_cluster();
  auto first = bridge();
  CAF_REQUIRE(first != nullptr);
  CAF_CHECK(has(topology(), R"("restarts":0)"));
  CAF_REQUIRE(crash_bridge());
  sched.run();
  // The bridge threw and its exit reached the node through the link (an
  // exit message sent by the node would have unlinked it first).
  CAF_CHECK(terminated(first));
  CAF_CHECK(bridge() == nullptr);
  CAF_CHECK(!stats().bridge_up);
  // Meanwhile the apps own every channel themselves.
  CAF_CHECK(state_of<app_state>(app_actor_of("app-1")).bridge == nullptr);
  advance_time(499ms);
  sched.run();
  CAF_CHECK_EQUAL(starts->size(), 1u);
  advance_time(1ms);
  sched.run();
  CAF_REQUIRE_EQUAL(starts->size(), 2u);
  CAF_CHECK(bridge() != nullptr);
  CAF_CHECK(bridge() != first);
  CAF_CHECK_EQUAL(starts->back().first.start_epoch, 101u);
  CAF_CHECK(state_of<app_state>(app_actor_of("app-1")).bridge == bridge());
  auto json = topology();
  CAF_MESSAGE(json);
  CAF_CHECK(has(json, R"("bridge":"running")"));
  CAF_CHECK(has(json, R"("restarts":1)"));
  CAF_CHECK(has(json, R"("start_epoch":101)"));
  CAF_CHECK_EQUAL(stats().bridge_restarts, 1u);
}

CAF_TEST(past its budget the bridge is retried every 5 s) {
  start();
  join_cluster();
  // Jobs only and explicit time: run() would fire the timers at once and
  // move the clock past the budget's window.
  for (int i = 0; i < 5; ++i) {
    CAF_REQUIRE(crash_bridge());
    advance_time(1s);
    sched.run();
    CAF_REQUIRE(bridge() != nullptr);
  }
  CAF_REQUIRE(crash_bridge());
  advance_time(1s);
  sched.run();
  CAF_CHECK(bridge() == nullptr);
  CAF_CHECK(st().bridge_tracker.failed());
  // The node still serves its apps meanwhile.
  CAF_CHECK(admitted(open("app-1")));
  advance_time(3s);
  sched.run();
  CAF_CHECK(bridge() == nullptr); // 4 s after the crash: not yet.
  advance_time(1s);
  sched.run();
  CAF_CHECK(bridge() != nullptr);
  CAF_CHECK(!st().bridge_tracker.failed());
  CAF_CHECK_EQUAL(starts->size(), 7u);
  CAF_CHECK_EQUAL(starts->back().first.start_epoch, 106u);
}

CAF_TEST(drain alone says goodbye and flushes the webhooks) {
  auto init = init_of();
  init.apps[0].webhooks.push_back(config::webhook_settings{
    "http://127.0.0.1:1/hook", {}});
  start(std::move(init));
  join_cluster();
  auto b = bridge();
  auto journal = state_of<test::fake_bridge_state>(starts->back().second)
                   .journal;
  CAF_CHECK(ask<caf::ok_atom>(node, drain_atom::value) == caf::ok_atom::value);
  CAF_CHECK(terminated(b));
  CAF_CHECK(bridge() == nullptr);
  // Alone, nothing to hand over: just the goodbye.
  CAF_CHECK_EQUAL(*journal, std::vector<std::string>({"close"}));
  // A crash still pending cannot bring the bridge back.
  CAF_CHECK(!st().make_bridge);
  CAF_CHECK(!terminated(node));
}

CAF_TEST(drain in a cluster hands the owners over before the goodbye) {
  start();
  join_cluster();
  auto b = starts->back().second;
  auto& bs = state_of<test::fake_bridge_state>(b);
  bs.view.members.push_back(cluster_member{"node-b", "127.0.0.1", 4001, 1});
  self->send(node, bs.view);
  sched.run();
  // An owner lives here; the ring keeps it here (the fake names no node).
  CAF_REQUIRE(ask<owner_actor>(node, local_owner_request{"app-1", "room"}));
  auto journal = bs.journal;
  CAF_CHECK(ask<caf::ok_atom>(node, drain_atom::value) == caf::ok_atom::value);
  CAF_CHECK_EQUAL(*journal, std::vector<std::string>({"leave", "close"}));
  CAF_CHECK(terminated(b));
  CAF_CHECK(st().handed_over);
}

CAF_TEST_FIXTURE_SCOPE_END()
