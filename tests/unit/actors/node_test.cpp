// Unit tests for actors/node: handshake checks (protocol 4007/4008, version
// 4006, unknown key 4001), routing to apps, and app restarts up to the
// budget (then 4100 while the other apps keep serving), and the cluster
// bridge's supervision: fault injection, restart with a new start epoch,
// and the slow retry past the budget.
#define CAF_SUITE actors_node
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "actors/node.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/app.hpp"
#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_session_link.hpp"
#include "pusher/frame.hpp"

using namespace starling;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

using node_actor = caf::stateful_actor<node_state>;

struct fixture : test::actor_fixture {
  caf::actor node;

  fixture() {
    node_init init;
    init.apps.push_back(test::test_app_settings());
    auto second = test::test_app_settings();
    second.id = "app-2";
    second.key = "app-key-2";
    init.apps.push_back(second);
    init.node_id = "node-a";
    init.socket_prefix = 42;
    node = spawn_tracked(node_behavior, std::move(init));
    run();
  }

  /// Hands a finished handshake to the node and returns the link.
  fake_link_ptr open(const std::string& key, const std::string& query) {
    auto link = make_fake_link();
    caf::anon_send(node, ws_opened{key, query, link});
    run();
    return link;
  }

  /// Checks that `link` was refused with `code` and got no frame.
  void check_refused(const fake_link_ptr& link, uint16_t code) {
    CAF_CHECK_EQUAL(link->frame_count(), 0u);
    auto closes = link->closes();
    CAF_REQUIRE_EQUAL(closes.size(), 1u);
    CAF_CHECK_EQUAL(closes[0].code, code);
    CAF_REQUIRE(closes[0].final_frame != nullptr);
    auto& final_frame = *closes[0].final_frame;
    CAF_CHECK(final_frame.find(R"("event":"pusher:error")")
              != std::string::npos);
    CAF_CHECK(final_frame.find("\"code\":" + std::to_string(code))
              != std::string::npos);
  }

  /// Checks that `link` got connection_established and stays open.
  void check_admitted(const fake_link_ptr& link) {
    CAF_CHECK(link->closes().empty());
    CAF_REQUIRE_EQUAL(link->frame_count(), 1u);
    CAF_CHECK(link->last_text().find("pusher:connection_established")
              != std::string::npos);
  }

  /// Ends an app abnormally. Not with exit_reason::kill: that reason is
  /// fatal for linked actors too and would take the node down with it.
  void stop_app(const caf::actor& app) {
    caf::anon_send_exit(app, caf::exit_reason::user_shutdown);
  }

  caf::actor app_actor(size_t index) {
    auto& apps = deref<node_actor>(node).state.apps;
    CAF_REQUIRE(index < apps.size());
    return apps[index].actor;
  }
};

/// Stands in for a bridge: the view is this node alone; crash_atom throws,
/// as both real bridges do.
caf::behavior fake_bridge(caf::event_based_actor* self, cluster_member me) {
  self->set_exception_handler([](std::exception_ptr&) -> caf::error {
    return caf::sec::runtime_error;
  });
  return {
    [=](caf::join_atom, const caf::actor& listener) {
      self->send(listener, view_atom::value, cluster_view{{me}, 1});
      return caf::ok_atom::value;
    },
    [](crash_atom) -> caf::result<void> {
      throw std::runtime_error("injected fault in fake bridge");
    },
  };
}

/// A node whose bridge factory spawns fake bridges and records each start.
struct bridge_fixture : test::actor_fixture {
  caf::actor node;
  std::shared_ptr<std::vector<cluster_member>> starts
    = std::make_shared<std::vector<cluster_member>>();

  bridge_fixture() {
    node_init init;
    init.apps.push_back(test::test_app_settings());
    init.node_id = "node-a";
    init.bridge_factory = [starts = starts](caf::local_actor* parent,
                                            const cluster_member& me) {
      starts->push_back(me);
      return parent->spawn<caf::linked>(fake_bridge, me);
    };
    node = spawn_tracked(node_behavior, std::move(init));
    run();
    caf::anon_send(node, caf::put_atom::value,
                   cluster_member{"node-a", "127.0.0.1", 4000, 100});
    run();
  }

  caf::actor bridge() {
    return deref<node_actor>(node).state.bridge;
  }

  /// Asks for a bridge crash as POST /faults/crash?kind=bridge does.
  bool crash_bridge() {
    auto hdl = self->request(node, caf::infinite,
                             crash_request{"app-1", "bridge", ""});
    sched.run(); // Jobs only: run() would also fire the restart timer.
    bool ok = false;
    hdl.receive([&](caf::ok_atom) { ok = true; },
                [](caf::error&) {});
    return ok;
  }

  std::string topology() {
    return request<std::string>(node, topology_atom::value);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(bridge_tests, bridge_fixture)

CAF_TEST(a crashed bridge restarts with the next start epoch) {
  CAF_REQUIRE_EQUAL(starts->size(), 1u);
  auto first = bridge();
  CAF_REQUIRE(first != nullptr);
  CAF_CHECK(topology().find(R"("bridge":"running","restarts":0)")
            != std::string::npos);
  CAF_REQUIRE(crash_bridge());
  // The bridge threw and its exit reached the node through the link (an
  // exit message sent by the node would have unlinked it first).
  CAF_CHECK(bridge() == nullptr);
  advance_time(std::chrono::seconds(1));
  run();
  CAF_REQUIRE_EQUAL(starts->size(), 2u);
  CAF_CHECK(bridge() != nullptr);
  CAF_CHECK(bridge() != first);
  CAF_CHECK_EQUAL(starts->back().start_epoch, 101u);
  auto json = topology();
  CAF_CHECK(json.find(R"("bridge":"running","restarts":1,"start_epoch":101)")
            != std::string::npos);
  CAF_MESSAGE(json);
}

CAF_TEST(past its budget the bridge is retried every 5 s) {
  // Jobs only and explicit time: run() would fire the 10 s join timeouts
  // and move the clock past the budget's window.
  for (int i = 0; i < 5; ++i) {
    CAF_REQUIRE(crash_bridge());
    advance_time(std::chrono::seconds(1));
    sched.run();
    CAF_REQUIRE(bridge() != nullptr);
  }
  CAF_REQUIRE(crash_bridge());
  advance_time(std::chrono::seconds(1));
  sched.run();
  CAF_CHECK(bridge() == nullptr);
  // The node still serves its app meanwhile.
  auto link = make_fake_link();
  caf::anon_send(node, ws_opened{"app-key", "protocol=7", link});
  sched.run();
  CAF_CHECK(link->closes().empty());
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
  advance_time(std::chrono::seconds(3));
  sched.run();
  CAF_CHECK(bridge() == nullptr); // 4 s after the crash: not yet.
  advance_time(std::chrono::seconds(1));
  sched.run();
  CAF_CHECK(bridge() != nullptr);
  CAF_CHECK_EQUAL(starts->size(), 7u);
  CAF_CHECK_EQUAL(starts->back().start_epoch, 106u);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(node_tests, fixture)

CAF_TEST(a known key with protocol 7 is handed to its app) {
  auto link = open("app-key", "protocol=7&client=js&version=8.4.0");
  check_admitted(link);
  auto link2 = open("app-key-2", "protocol=7");
  check_admitted(link2);
}

CAF_TEST(protocol versions 5 to 7 and a missing protocol are accepted) {
  check_admitted(open("app-key", "protocol=5"));
  check_admitted(open("app-key", "protocol=6"));
  check_admitted(open("app-key", ""));
  check_admitted(open("app-key", "client=js"));
}

CAF_TEST(an unknown app key is refused with 4001) {
  check_refused(open("no-such-key", "protocol=7"), 4001);
}

CAF_TEST(protocol 3 is refused with 4007) {
  check_refused(open("app-key", "protocol=3"), 4007);
}

CAF_TEST(protocols above 7 or not a number are refused with 4007) {
  check_refused(open("app-key", "protocol=8"), 4007);
  check_refused(open("app-key", "protocol=seven"), 4007);
  check_refused(open("app-key", "protocol=99999999999999999999"), 4007);
}

CAF_TEST(an empty protocol is refused with 4008) {
  check_refused(open("app-key", "protocol="), 4008);
}

CAF_TEST(a malformed version string is refused with 4006) {
  check_refused(open("app-key", "protocol=7&version=8.0%20beta"), 4006);
  check_admitted(open("app-key", "protocol=7&version=8.0.0-rc.1+build"));
}

CAF_TEST(the protocol is checked before the app key) {
  check_refused(open("no-such-key", "protocol=3"), 4007);
}

CAF_TEST(stats are delegated to the app and unknown apps are an error) {
  open("app-key", "protocol=7");
  auto [connections, channels, owners] =
    request<uint64_t, uint64_t, uint64_t>(node, stats_atom::value,
                                          std::string{"app-1"});
  CAF_CHECK_EQUAL(connections, 1u);
  CAF_CHECK_EQUAL(channels, 0u);
  CAF_CHECK_EQUAL(owners, 0u);
  auto hdl = self->request(node, caf::infinite, stats_atom::value,
                           std::string{"app-9"});
  run();
  bool got_error = false;
  hdl.receive([](uint64_t, uint64_t, uint64_t) { CAF_FAIL("stats for app-9"); },
              [&](caf::error& err) {
                got_error = true;
                CAF_CHECK(err == errc::unknown_app);
              });
  CAF_CHECK(got_error);
}

CAF_TEST(a crashed app is restarted five times then refused with 4100) {
  for (int i = 0; i < 5; ++i) {
    auto before = app_actor(0);
    CAF_REQUIRE(before != nullptr);
    stop_app(before);
    run();
    auto after = app_actor(0);
    CAF_CHECK(after != nullptr);
    CAF_CHECK(after != before);
    check_admitted(open("app-key", "protocol=7"));
  }
  // The sixth crash within 10 s exceeds the budget.
  stop_app(app_actor(0));
  run();
  CAF_CHECK(app_actor(0) == nullptr);
  check_refused(open("app-key", "protocol=7"), 4100);
  // The node itself and the other app keep serving.
  check_admitted(open("app-key-2", "protocol=7"));
}

CAF_TEST(connections of a crashed app are closed for reconnecting) {
  auto link = open("app-key", "protocol=7");
  check_admitted(link);
  stop_app(app_actor(0));
  run();
  // The connection died with its app: the client is told to reconnect.
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4200);
}

CAF_TEST_FIXTURE_SCOPE_END()
