// The cluster_actor contract (actors/cluster.hpp), written once and run
// against both bridges, as phoenix_pubsub's test/shared/pubsub_test.exs runs
// against every adapter: the local bridge alone in-process, and two NATS
// bridges (nodes n1 and n2) in one actor system on a nats-server that the
// suite starts on a free loopback port. Real sockets do not fit the
// deterministic coordinator, so these tests use a real actor system and
// scoped actors whose every receive is bounded.
#define CAF_SUITE bridge_bridge_contract
#include <caf/test/unit_test.hpp>

#include "bridge/local_bridge.hpp"
#include "bridge/nats_bridge.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <dirent.h>

#include "actors/cluster.hpp"
#include "actors/messages.hpp"
#include "bridge/bridge_stats.hpp"
#include "bridge/envelope.hpp"
#include "bridge/nats_client.hpp"
#include "bridge/subjects.hpp"
#include "tests/unit/bridge/nats_server_process.hpp"

using namespace starling;
using namespace starling::bridge;
using namespace std::chrono_literals;
using starling::test::free_port;
using starling::test::nats_server_process;
using clock_type = std::chrono::steady_clock;

namespace {

// -- parameters ---------------------------------------------------------------

/// Upper bound of every wait for something that must happen.
constexpr auto wait_limit = 5s;

/// How long "nothing more arrives" is watched.
constexpr auto quiet_period = 250ms;

/// Heartbeat and node timeout of the NATS nodes: short, so a killed node
/// leaves within a second, yet far apart from a goodbye's few milliseconds.
constexpr auto test_heartbeat = 100ms;
constexpr auto test_node_timeout = 800ms;

const std::string app = "app-1";
/// Dots and `@` need the subject token encoding (bridge/subjects.hpp).
const std::string channel = "presence-lobby.1@a..b";

struct test_config : caf::actor_system_config {
  test_config() {
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

cluster_member make_member(std::string id, uint16_t port) {
  return cluster_member{std::move(id), "127.0.0.1", port, 7};
}

/// Returns an event whose every field differs from the defaults.
channel_event sample_event(uint64_t seq) {
  return channel_event{seq,  "my-event", "{\"n\":" + std::to_string(seq) + "}",
                       true, "user-7",   "123.456"};
}

bool same_event(const channel_event& lhs, const channel_event& rhs) {
  return lhs.seq == rhs.seq && lhs.event == rhs.event && lhs.data == rhs.data
         && lhs.data_is_json == rhs.data_is_json && lhs.user_id == rhs.user_id
         && lhs.exclude == rhs.exclude;
}

/// Returns the number of threads of this process.
int thread_count() {
  int count = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (auto* entry = ::readdir(dir))
      if (entry->d_name[0] != '.')
        ++count;
    ::closedir(dir);
  }
  return count;
}

int64_t to_ms(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::vector<std::string> node_ids(const cluster_view& view) {
  std::vector<std::string> ids;
  for (auto& m : view.members)
    ids.push_back(m.node_id);
  return ids;
}

// -- the cluster under test ---------------------------------------------------

/// The nodes of one cluster under test, whatever bridge they run. Node ids
/// are sorted, so they are also the expected order of a view.
struct cluster_under_test {
  caf::actor_system& sys;
  std::vector<cluster_member> members; ///< Node i is members[i].
  std::vector<caf::actor> bridges;     ///< Node i's bridge.

  std::vector<std::string> ids() const {
    std::vector<std::string> result;
    for (auto& m : members)
      result.push_back(m.node_id);
    return result;
  }

  size_t size() const {
    return bridges.size();
  }
};

/// A local channel of one node: a scoped actor that receives deliveries.
using channel_probe = std::unique_ptr<caf::scoped_actor>;

channel_probe make_probe(caf::actor_system& sys) {
  return std::make_unique<caf::scoped_actor>(sys);
}

caf::actor handle(const channel_probe& probe) {
  return caf::actor_cast<caf::actor>(*probe);
}

// -- bounded requests and receives --------------------------------------------

/// Sends a request and returns whether it was answered with ok_atom.
template <class... Ts>
bool request_ok(caf::actor_system& sys, const caf::actor& dest, Ts&&... xs) {
  caf::scoped_actor self{sys};
  bool ok = false;
  self->request(dest, wait_limit, std::forward<Ts>(xs)...)
    .receive([&](caf::ok_atom) { ok = true; },
             [&](caf::error& err) {
               CAF_MESSAGE("request failed: " << sys.render(err));
             });
  return ok;
}

std::optional<cluster_view> get_view(caf::actor_system& sys,
                                     const caf::actor& bridge) {
  caf::scoped_actor self{sys};
  std::optional<cluster_view> result;
  self->request(bridge, wait_limit, caf::get_atom::value)
    .receive([&](cluster_view& view) { result = std::move(view); },
             [&](caf::error& err) {
               CAF_MESSAGE("get failed: " << sys.render(err));
             });
  return result;
}

std::optional<bridge_stats> get_stats(caf::actor_system& sys,
                                      const caf::actor& bridge) {
  caf::scoped_actor self{sys};
  std::optional<bridge_stats> result;
  self->request(bridge, wait_limit, stats_atom::value)
    .receive([&](bridge_stats& stats) { result = stats; },
             [&](caf::error& err) {
               CAF_MESSAGE("stats failed: " << sys.render(err));
             });
  return result;
}

/// Polls the stats of `bridge` until `pred` holds. Returns whether it did
/// within the wait limit. (Counters have no event to wait for.)
bool await_stats(caf::actor_system& sys, const caf::actor& bridge,
                 const std::function<bool(const bridge_stats&)>& pred) {
  auto deadline = clock_type::now() + wait_limit;
  for (;;) {
    if (auto stats = get_stats(sys, bridge); stats && pred(*stats))
      return true;
    if (clock_type::now() > deadline)
      return false;
    std::this_thread::sleep_for(20ms);
  }
}

/// Makes `listener` a listener of `bridge`.
bool join(caf::actor_system& sys, const caf::actor& bridge,
          caf::scoped_actor& listener) {
  return request_ok(sys, bridge, caf::join_atom::value,
                    caf::actor_cast<caf::actor>(listener));
}

/// Receives views until one lists exactly `ids`. Returns it, or nullopt at
/// `deadline`.
std::optional<cluster_view> await_view(caf::scoped_actor& listener,
                                       const std::vector<std::string>& ids,
                                       clock_type::time_point deadline) {
  for (;;) {
    auto now = clock_type::now();
    if (now >= deadline)
      return std::nullopt;
    std::optional<cluster_view> got;
    listener->receive([&](view_atom, cluster_view& view) { got = view; },
                      caf::after(deadline - now) >> [] {
                        // nop: the deadline check above ends the loop
                      });
    if (got && node_ids(*got) == ids)
      return got;
  }
}

/// Receives the next delivery of `probe` within `timeout`.
std::optional<channel_event> next_event(channel_probe& probe,
                                        caf::timespan timeout = wait_limit) {
  std::optional<channel_event> got;
  (*probe)->receive([&](deliver_atom, channel_event& ev) { got = ev; },
                    caf::after(timeout) >> [] {
                      // nop: nothing arrived
                    });
  return got;
}

/// Waits the quiet period once, then checks that no probe got a delivery.
void check_quiet(std::vector<channel_probe*> probes) {
  std::this_thread::sleep_for(quiet_period);
  for (auto* probe : probes) {
    auto got = next_event(*probe, 1ms);
    CAF_CHECK(!got);
    if (got)
      CAF_MESSAGE("unexpected delivery seq " << got->seq);
  }
}

// -- the contract, once for every bridge --------------------------------------

/// Every node's view lists every node, as each announced itself.
void check_views_list_every_node(cluster_under_test& c) {
  for (auto& bridge : c.bridges) {
    caf::scoped_actor listener{c.sys};
    CAF_REQUIRE(join(c.sys, bridge, listener));
    auto view = await_view(listener, c.ids(), clock_type::now() + wait_limit);
    CAF_REQUIRE(view);
    CAF_CHECK_GREATER(view->epoch, 0u);
    for (size_t i = 0; i < c.members.size(); ++i) {
      CAF_CHECK_EQUAL(view->members[i].middleman_host,
                      c.members[i].middleman_host);
      CAF_CHECK_EQUAL(view->members[i].middleman_port,
                      c.members[i].middleman_port);
      CAF_CHECK_EQUAL(view->members[i].start_epoch, c.members[i].start_epoch);
    }
    auto got = get_view(c.sys, bridge);
    CAF_REQUIRE(got);
    CAF_CHECK_EQUAL(node_ids(*got), c.ids());
    CAF_CHECK_EQUAL(got->epoch, view->epoch);
  }
}

/// Node 0 publishes: every other subscribed node gets the event exactly
/// once, with every field intact; node 0 never gets it back.
void check_publish_reaches_other_nodes_once(cluster_under_test& c) {
  std::vector<channel_probe> probes;
  for (size_t i = 0; i < c.size(); ++i) {
    probes.push_back(make_probe(c.sys));
    CAF_REQUIRE(request_ok(c.sys, c.bridges[i], caf::subscribe_atom::value, app,
                           channel, handle(probes.back())));
  }
  auto ev = sample_event(1);
  caf::anon_send(c.bridges[0], caf::publish_atom::value, app, channel, ev);
  for (size_t i = 1; i < c.size(); ++i) {
    auto got = next_event(probes[i]);
    CAF_REQUIRE(got);
    CAF_CHECK(same_event(*got, ev));
  }
  std::vector<channel_probe*> all;
  for (auto& probe : probes)
    all.push_back(&probe);
  check_quiet(all);
}

/// The events of one channel arrive in the order the owner published them.
void check_events_keep_publish_order(cluster_under_test& c) {
  CAF_REQUIRE_GREATER_OR_EQUAL(c.size(), 2u);
  auto probe = make_probe(c.sys);
  CAF_REQUIRE(request_ok(c.sys, c.bridges[1], caf::subscribe_atom::value, app,
                         channel, handle(probe)));
  constexpr uint64_t count = 200;
  for (uint64_t seq = 1; seq <= count; ++seq)
    caf::anon_send(c.bridges[0], caf::publish_atom::value, app, channel,
                   sample_event(seq));
  for (uint64_t seq = 1; seq <= count; ++seq) {
    auto got = next_event(probe);
    CAF_REQUIRE(got);
    CAF_REQUIRE_EQUAL(got->seq, seq);
  }
  check_quiet({&probe});
}

/// After unsubscribe (ok), nothing is delivered for the channel any more.
void check_unsubscribe_stops_delivery(cluster_under_test& c) {
  std::vector<channel_probe> probes;
  for (size_t i = 0; i < c.size(); ++i) {
    probes.push_back(make_probe(c.sys));
    CAF_REQUIRE(request_ok(c.sys, c.bridges[i], caf::subscribe_atom::value, app,
                           channel, handle(probes.back())));
  }
  // With another node, first show that the path works.
  if (c.size() > 1) {
    caf::anon_send(c.bridges[0], caf::publish_atom::value, app, channel,
                   sample_event(1));
    for (size_t i = 1; i < c.size(); ++i)
      CAF_REQUIRE(next_event(probes[i]));
  }
  for (auto& bridge : c.bridges) {
    CAF_CHECK(request_ok(c.sys, bridge, caf::unsubscribe_atom::value, app,
                         channel));
    // Unknown channels are fine too: unsubscribe is idempotent.
    CAF_CHECK(request_ok(c.sys, bridge, caf::unsubscribe_atom::value, app,
                         std::string{"never-subscribed"}));
    auto stats = get_stats(c.sys, bridge);
    CAF_REQUIRE(stats);
    CAF_CHECK_EQUAL(stats->subscriptions, 0u);
  }
  caf::anon_send(c.bridges[0], caf::publish_atom::value, app, channel,
                 sample_event(2));
  std::vector<channel_probe*> all;
  for (auto& probe : probes)
    all.push_back(&probe);
  check_quiet(all);
}

/// Subscribing again is idempotent and the last handle wins.
void check_last_subscription_wins(cluster_under_test& c) {
  std::vector<channel_probe> old_probes;
  std::vector<channel_probe> new_probes;
  for (size_t i = 0; i < c.size(); ++i) {
    old_probes.push_back(make_probe(c.sys));
    new_probes.push_back(make_probe(c.sys));
    CAF_REQUIRE(request_ok(c.sys, c.bridges[i], caf::subscribe_atom::value, app,
                           channel, handle(old_probes.back())));
    CAF_REQUIRE(request_ok(c.sys, c.bridges[i], caf::subscribe_atom::value, app,
                           channel, handle(new_probes.back())));
    auto stats = get_stats(c.sys, c.bridges[i]);
    CAF_REQUIRE(stats);
    CAF_CHECK_EQUAL(stats->subscriptions, 1u);
  }
  auto ev = sample_event(9);
  caf::anon_send(c.bridges[0], caf::publish_atom::value, app, channel, ev);
  for (size_t i = 1; i < c.size(); ++i) {
    auto got = next_event(new_probes[i]);
    CAF_REQUIRE(got);
    CAF_CHECK(same_event(*got, ev));
  }
  std::vector<channel_probe*> all;
  for (size_t i = 0; i < c.size(); ++i) {
    all.push_back(&old_probes[i]);
    all.push_back(&new_probes[i]);
  }
  check_quiet(all);
}

/// A node that stops cleanly (`stop` sends the goodbye) leaves node 0's
/// view long before the node timeout could have removed it.
void check_goodbye_leaves_promptly(
  cluster_under_test& c, caf::timespan node_timeout,
  const std::function<void(caf::actor&)>& stop) {
  CAF_REQUIRE_EQUAL(c.size(), 2u);
  caf::scoped_actor listener{c.sys};
  CAF_REQUIRE(join(c.sys, c.bridges[0], listener));
  CAF_REQUIRE(await_view(listener, c.ids(), clock_type::now() + wait_limit));
  auto start = clock_type::now();
  stop(c.bridges[1]);
  auto view = await_view(listener, {c.members[0].node_id},
                         start + wait_limit);
  CAF_REQUIRE(view);
  auto elapsed = clock_type::now() - start;
  CAF_MESSAGE("left after " << to_ms(elapsed) << " ms");
  CAF_CHECK_LESS(elapsed, node_timeout / 2);
}

/// A node that falls silent (killed: no goodbye) leaves node 0's view once
/// the node timeout ran out, not before.
void check_killed_node_leaves_after_timeout(cluster_under_test& c,
                                            caf::timespan node_timeout) {
  CAF_REQUIRE_EQUAL(c.size(), 2u);
  caf::scoped_actor listener{c.sys};
  CAF_REQUIRE(join(c.sys, c.bridges[0], listener));
  CAF_REQUIRE(await_view(listener, c.ids(), clock_type::now() + wait_limit));
  auto start = clock_type::now();
  // exit_reason::kill bypasses the exit handler: no goodbye, like a crash.
  caf::anon_send_exit(c.bridges[1], caf::exit_reason::kill);
  auto view = await_view(listener, {c.members[0].node_id},
                         start + node_timeout + wait_limit);
  CAF_REQUIRE(view);
  auto elapsed = clock_type::now() - start;
  CAF_MESSAGE("left after " << to_ms(elapsed) << " ms");
  // Its last heartbeat may be one period old, so half the timeout is a safe
  // lower bound that a goodbye (milliseconds) would never reach.
  CAF_CHECK_GREATER(elapsed, node_timeout / 2);
  CAF_CHECK_LESS(elapsed, node_timeout + 2s);
}

/// Sends `(crash_atom)` (fault injection) and returns the reason the
/// bridge ended with, or nullopt if it did not end within the wait limit.
std::optional<caf::error> crash(caf::actor_system& sys,
                                const caf::actor& bridge) {
  caf::scoped_actor self{sys};
  self->monitor(bridge);
  self->send(bridge, crash_atom::value);
  std::optional<caf::error> reason;
  self->receive([&](caf::down_msg& msg) { reason = msg.reason; },
                caf::after(wait_limit) >> [] {
                  // nop: the caller checks
                });
  return reason;
}

/// Receives views until one lists `node_id` with `start_epoch`. Returns
/// whether one did before `deadline`.
bool await_incarnation(caf::scoped_actor& listener, const std::string& node_id,
                       uint64_t start_epoch, clock_type::time_point deadline) {
  for (;;) {
    auto now = clock_type::now();
    if (now >= deadline)
      return false;
    bool found = false;
    listener->receive(
      [&](view_atom, cluster_view& view) {
        for (auto& m : view.members)
          found = found
                  || (m.node_id == node_id && m.start_epoch == start_epoch);
      },
      caf::after(deadline - now) >> [] {
        // nop: the deadline check above ends the loop
      });
    if (found)
      return true;
  }
}

// -- fixtures -----------------------------------------------------------------

/// One node with the local bridge.
struct local_fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  cluster_under_test cluster{sys, {make_member("n1", 4101)}, {}};

  local_fixture() {
    cluster.bridges.push_back(
      sys.spawn(local_bridge_behavior, cluster.members[0]));
  }

  ~local_fixture() {
    for (auto& bridge : cluster.bridges)
      caf::anon_send_exit(bridge, caf::exit_reason::kill);
  }
};

/// Two nodes with NATS bridges, on a fresh nats-server per test.
struct nats_fixture {
  uint16_t port = free_port();
  nats_server_process server{port};
  test_config cfg;
  caf::actor_system sys{cfg};
  cluster_under_test cluster{sys,
                             {make_member("n1", 4101), make_member("n2", 4102)},
                             {}};

  nats_fixture() {
    if (port == 0)
      CAF_FAIL("no free loopback port");
    if (auto error = server.start(); !error.empty())
      CAF_FAIL(error);
    for (auto& member : cluster.members)
      cluster.bridges.push_back(sys.spawn(nats_bridge_behavior, settings(),
                                          member, caf::timespan{test_heartbeat},
                                          caf::timespan{test_node_timeout}));
  }

  ~nats_fixture() {
    // The heartbeat timer keeps a bridge alive: stop each explicitly.
    for (auto& bridge : cluster.bridges)
      caf::anon_send_exit(bridge, caf::exit_reason::kill);
  }

  config::nats_settings settings() const {
    config::nats_settings result;
    result.servers = {"nats://127.0.0.1:" + std::to_string(port)};
    result.name = "starling-bridge-contract-test";
    result.subject_prefix = "stest";
    result.reconnect_wait_ms = 50;
    return result;
  }

  /// Returns a plain client for what no bridge would ever publish.
  std::unique_ptr<nats_client> raw_client() {
    std::string error;
    auto client = nats_client::connect(settings(), {}, error);
    if (!client)
      CAF_FAIL("raw client: " << error);
    return client;
  }
};

} // namespace

// -- the local bridge ---------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(local_bridge_contract, local_fixture)

CAF_TEST(local: the view is this node alone at epoch 1) {
  check_views_list_every_node(cluster);
  auto view = get_view(sys, cluster.bridges[0]);
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(view->epoch, 1u);
  CAF_CHECK_EQUAL(view->members.size(), 1u);
}

CAF_TEST(local: join sends the view once since it never changes) {
  caf::scoped_actor listener{sys};
  CAF_REQUIRE(join(sys, cluster.bridges[0], listener));
  CAF_REQUIRE(await_view(listener, {"n1"}, clock_type::now() + wait_limit));
  bool more = false;
  listener->receive([&](view_atom, cluster_view&) { more = true; },
                    caf::after(quiet_period) >> [] {
                      // nop: the expected outcome
                    });
  CAF_CHECK(!more);
}

CAF_TEST(local: publish delivers nowhere) {
  check_publish_reaches_other_nodes_once(cluster);
}

CAF_TEST(local: subscribe and unsubscribe reply ok) {
  check_unsubscribe_stops_delivery(cluster);
}

CAF_TEST(local: subscribing again keeps one subscription) {
  check_last_subscription_wins(cluster);
}

CAF_TEST(local: crash_atom ends the bridge with an error) {
  auto reason = crash(sys, cluster.bridges[0]);
  CAF_REQUIRE(reason);
  CAF_CHECK_EQUAL(*reason, caf::sec::runtime_error);
}

CAF_TEST(local: close replies ok and stops the bridge) {
  caf::scoped_actor self{sys};
  self->monitor(cluster.bridges[0]);
  CAF_CHECK(request_ok(sys, cluster.bridges[0], caf::close_atom::value));
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; },
                caf::after(wait_limit) >> [] {
                  // nop: checked below
                });
  CAF_CHECK(down);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- the NATS bridge ----------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(nats_bridge_contract, nats_fixture)

CAF_TEST(nats: both nodes appear in each view) {
  check_views_list_every_node(cluster);
}

CAF_TEST(nats: an event reaches the other node once and never its publisher) {
  check_publish_reaches_other_nodes_once(cluster);
  auto stats = get_stats(sys, cluster.bridges[0]);
  CAF_REQUIRE(stats);
  CAF_CHECK_EQUAL(stats->published, 1u);
  CAF_CHECK_EQUAL(stats->echoes, 0u);
}

CAF_TEST(nats: events of one channel arrive in publish order) {
  check_events_keep_publish_order(cluster);
}

CAF_TEST(nats: unsubscribe stops delivery) {
  check_unsubscribe_stops_delivery(cluster);
}

CAF_TEST(nats: subscribing again keeps one subscription; the last handle wins) {
  check_last_subscription_wins(cluster);
}

CAF_TEST(nats: a node that closes says goodbye and leaves the view promptly) {
  check_goodbye_leaves_promptly(cluster, test_node_timeout,
                                [this](caf::actor& bridge) {
                                  CAF_CHECK(request_ok(sys, bridge,
                                                       caf::close_atom::value));
                                });
}

CAF_TEST(nats: an exit message says goodbye too) {
  check_goodbye_leaves_promptly(cluster, test_node_timeout,
                                [](caf::actor& bridge) {
                                  caf::anon_send_exit(
                                    bridge, caf::exit_reason::user_shutdown);
                                });
}

CAF_TEST(nats: a killed node leaves the view after the node timeout) {
  check_killed_node_leaves_after_timeout(cluster, test_node_timeout);
}

CAF_TEST(nats: a crashed bridge lets go of NATS; its restart is taken back at once) {
  caf::scoped_actor listener{sys};
  CAF_REQUIRE(join(sys, cluster.bridges[0], listener));
  CAF_REQUIRE(await_view(listener, cluster.ids(), clock_type::now() + wait_limit));
  auto before = thread_count();
  auto member = cluster.members[1];
  for (int i = 0; i < 5; ++i) {
    auto reason = crash(sys, cluster.bridges[1]);
    CAF_REQUIRE(reason);
    CAF_CHECK_EQUAL(*reason, caf::sec::runtime_error);
    // What the node does on a restart: the next start epoch.
    ++member.start_epoch;
    auto start = clock_type::now();
    cluster.bridges[1] = sys.spawn(nats_bridge_behavior, settings(), member,
                                   caf::timespan{test_heartbeat},
                                   caf::timespan{test_node_timeout});
    // The crash said no goodbye: n1 replaces the old incarnation when the
    // new one announces itself, long before the node timeout.
    CAF_REQUIRE(await_incarnation(listener, member.node_id, member.start_epoch,
                                  start + wait_limit));
    CAF_CHECK_LESS(clock_type::now() - start, test_node_timeout / 2);
  }
  // Each crashed bridge closed its connection: no nats.c threads pile up.
  auto deadline = clock_type::now() + wait_limit;
  while (thread_count() > before && clock_type::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CAF_CHECK_LESS_OR_EQUAL(thread_count(), before);
  // The last incarnation serves: an event of n1 reaches it.
  auto probe = make_probe(sys);
  CAF_REQUIRE(request_ok(sys, cluster.bridges[1], caf::subscribe_atom::value,
                         app, channel, handle(probe)));
  auto ev = sample_event(5);
  caf::anon_send(cluster.bridges[0], caf::publish_atom::value, app, channel,
                 ev);
  auto got = next_event(probe);
  CAF_REQUIRE(got);
  CAF_CHECK(same_event(*got, ev));
}

CAF_TEST(nats: garbage on the subjects is dropped and counted) {
  check_views_list_every_node(cluster);
  auto probe = make_probe(sys);
  CAF_REQUIRE(request_ok(sys, cluster.bridges[1], caf::subscribe_atom::value,
                         app, channel, handle(probe)));
  auto raw = raw_client();
  auto subject = event_subject("stest", app, channel);
  event_envelope misaddressed{"n1", app,   "another-channel", 5, "e",
                              "d",  false, "",                ""};
  event_envelope echo{"n2", app, channel, 6, "e", "d", false, "", ""};
  CAF_CHECK_EQUAL(raw->publish(subject, std::string("\xc1\x00 garbage", 10)),
                  "");
  CAF_CHECK_EQUAL(raw->publish(subject, ""), "");
  CAF_CHECK_EQUAL(raw->publish(subject, encode(envelope{misaddressed})), "");
  CAF_CHECK_EQUAL(raw->publish(subject, encode(envelope{echo})), "");
  CAF_CHECK_EQUAL(raw->publish(members_subject("stest"), "not msgpack"), "");
  CAF_CHECK_EQUAL(raw->publish(members_subject("stest"),
                               encode(envelope{misaddressed})),
                  "");
  CAF_REQUIRE_EQUAL(raw->flush(5000), "");
  // The server handled the garbage first, so n2 sees it first.
  auto ev = sample_event(3);
  caf::anon_send(cluster.bridges[0], caf::publish_atom::value, app, channel,
                 ev);
  auto got = next_event(probe);
  CAF_REQUIRE(got);
  CAF_CHECK(same_event(*got, ev));
  check_quiet({&probe});
  CAF_CHECK(await_stats(sys, cluster.bridges[1], [](const bridge_stats& s) {
    return s.bad_payloads == 5 && s.echoes == 1 && s.delivered == 1;
  }));
  CAF_CHECK(await_stats(sys, cluster.bridges[0], [](const bridge_stats& s) {
    return s.bad_payloads == 2;
  }));
  // Both bridges still serve, and garbage changed no view.
  check_views_list_every_node(cluster);
}

CAF_TEST(nats: delivery resumes after the NATS server restarts) {
  auto probe = make_probe(sys);
  CAF_REQUIRE(request_ok(sys, cluster.bridges[1], caf::subscribe_atom::value,
                         app, channel, handle(probe)));
  check_views_list_every_node(cluster);
  server.stop();
  for (auto& bridge : cluster.bridges)
    CAF_REQUIRE(await_stats(sys, bridge, [](const bridge_stats& s) {
      return s.disconnects == 1;
    }));
  if (auto error = server.start(); !error.empty())
    CAF_FAIL("restart: " << error);
  for (auto& bridge : cluster.bridges)
    CAF_REQUIRE(await_stats(sys, bridge, [](const bridge_stats& s) {
      return s.reconnects == 1;
    }));
  // nats.c restored n2's subscription before it reported the reconnect.
  auto ev = sample_event(4);
  caf::anon_send(cluster.bridges[0], caf::publish_atom::value, app, channel,
                 ev);
  auto got = next_event(probe);
  CAF_REQUIRE(got);
  CAF_CHECK(same_event(*got, ev));
  check_views_list_every_node(cluster);
}

CAF_TEST(nats: threads do not grow with the subscribed channels) {
  std::vector<channel_probe> probes;
  probes.push_back(make_probe(sys));
  // The first subscription may start the delivery pool's worker.
  CAF_REQUIRE(request_ok(sys, cluster.bridges[1], caf::subscribe_atom::value,
                         app, std::string{"ch-0"}, handle(probes.back())));
  auto before = thread_count();
  constexpr int count = 200;
  for (int i = 1; i < count; ++i) {
    probes.push_back(make_probe(sys));
    CAF_REQUIRE(request_ok(sys, cluster.bridges[1], caf::subscribe_atom::value,
                           app, "ch-" + std::to_string(i),
                           handle(probes.back())));
  }
  CAF_CHECK_LESS_OR_EQUAL(thread_count(), before + 2);
  for (int i = 0; i < count; ++i)
    caf::anon_send(cluster.bridges[0], caf::publish_atom::value, app,
                   "ch-" + std::to_string(i), sample_event(1));
  for (int i = 0; i < count; ++i)
    CAF_REQUIRE(next_event(probes[i]));
}

CAF_TEST(nats: the bridge quits with a reason when no server accepts) {
  config::nats_settings nowhere;
  nowhere.servers = {"nats://127.0.0.1:" + std::to_string(free_port())};
  caf::scoped_actor self{sys};
  auto bridge = self->spawn<caf::monitored>(
    nats_bridge_behavior, nowhere, make_member("n3", 4103),
    caf::timespan{test_heartbeat}, caf::timespan{test_node_timeout});
  std::optional<caf::error> reason;
  self->receive([&](caf::down_msg& msg) { reason = msg.reason; },
                caf::after(wait_limit) >> [] {
                  // nop: checked below
                });
  CAF_REQUIRE(reason);
  CAF_CHECK_EQUAL(*reason, caf::sec::runtime_error);
  CAF_MESSAGE("reason: " << sys.render(*reason));
}

CAF_TEST_FIXTURE_SCOPE_END()
