// The cluster_actor contract (actors/protocol/cluster.hpp), written once and
// run against both bridges, as phoenix_pubsub's test/shared/pubsub_test.exs
// runs against every adapter: every check below is instantiated per fixture
// by STARLING_CLUSTER_CONTRACT. The local fixture is one node with the local
// bridge; the NATS fixture is two nodes (n1, n2), each in its own actor
// system with a published node actor, on a nats-server that the fixture
// starts on a free loopback port. Checks that only make sense for NATS
// (goodbye, kill, restarts, garbage, the server going away, threads) follow.
// Real sockets do not fit the deterministic coordinator, so these tests use
// real actor systems and scoped actors whose every receive is bounded.
#define CAF_SUITE bridge_bridge_contract
#include <caf/test/unit_test.hpp>

#include "bridge/local_bridge.hpp"
#include "bridge/nats_bridge.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <dirent.h>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "bridge/envelope.hpp"
#include "bridge/nats_client.hpp"
#include "bridge/shard_ring.hpp"
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

using strings = std::vector<std::string>;

struct test_config : caf::actor_system_config {
  test_config() {
    load<caf::io::middleman>();
    starling::add_message_types(*this);
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

/// Returns an event whose every field differs from the defaults.
channel_event sample_event(uint64_t seq) {
  channel_event ev;
  ev.seq = seq;
  ev.kind = event_kind::client;
  ev.event = "my-event";
  ev.data = "{\"n\":" + std::to_string(seq) + "}";
  ev.user_id = "user-7";
  ev.count = 5;
  ev.exclude = "123.456";
  ev.origin = "somewhere";
  return ev;
}

/// Whether `got` is `sent` as fanned out by node `origin`.
bool same_event(const channel_event& got, const channel_event& sent,
                const std::string& origin) {
  return got.seq == sent.seq && got.kind == sent.kind
         && got.event == sent.event && got.data == sent.data
         && got.user_id == sent.user_id && got.count == sent.count
         && got.exclude == sent.exclude && got.origin == origin;
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

strings node_ids(const cluster_view& view) {
  strings ids;
  for (auto& m : view.members)
    ids.push_back(m.node_id);
  return ids;
}

// -- nodes under test ---------------------------------------------------------

/// Stands in for a node actor that peers reach through the middleman: it
/// answers topology_request with its node id, which is how the checks tell
/// nodes apart behind remote handles.
node_actor::behavior_type node_stub(node_actor::pointer, std::string id) {
  return {
    [](local_owner_request&) -> caf::result<owner_actor> {
      return caf::make_error(errc::not_available);
    },
    [](owner_handoff&) -> caf::result<owner_ref> {
      return caf::make_error(errc::not_available);
    },
    [](standby_copy&) { return caf::ok_atom::value; },
    [](channels_request&) { return std::vector<channel_report>{}; },
    [](terminate_request&) { return caf::ok_atom::value; },
    [](cluster_view&) {
      // nop
    },
    [](join_cluster&) {
      // nop
    },
    [](restart_child&) {
      // nop
    },
    [](drain_atom) { return caf::ok_atom::value; },
    [](crash_request&) { return caf::ok_atom::value; },
    [id](topology_request&) { return id; },
    [](disconnect_request&) { return false; },
    [](peers_atom) { return std::vector<caf::actor>{}; },
    [](stats_atom) { return node_stats{}; },
  };
}

/// One node: its actor system, how it announces itself, a published node
/// actor and its bridge.
struct node_env {
  test_config cfg;
  caf::actor_system sys{cfg};
  cluster_member member;
  node_actor stub;
  cluster_actor bridge;

  explicit node_env(std::string id) {
    member = cluster_member{std::move(id), "127.0.0.1", 0, 7};
  }

  /// Publishes the node actor on a free loopback port.
  void publish() {
    stub = sys.spawn(node_stub, member.node_id);
    auto port = sys.middleman().publish(stub, 0, "127.0.0.1", true);
    if (!port)
      CAF_FAIL("cannot publish node " << member.node_id << ": "
                                      << sys.render(port.error()));
    member.middleman_port = *port;
  }

  ~node_env() {
    // The heartbeat timer keeps a NATS bridge alive; the publication keeps
    // the node actor: stop both before the system waits for its actors.
    if (bridge)
      caf::anon_send_exit(bridge, caf::exit_reason::kill);
    if (stub)
      caf::anon_send_exit(stub, caf::exit_reason::kill);
  }
};

/// The nodes of one cluster under test, whatever bridge they run. Node ids
/// are sorted, so they are also the expected order of a view.
struct cluster_under_test {
  std::vector<std::unique_ptr<node_env>> nodes;
  bool has_bus = false; ///< Events go over a bus (stats count them).

  node_env& node(size_t i) {
    return *nodes.at(i);
  }

  strings ids() const {
    strings result;
    for (auto& n : nodes)
      result.push_back(n->member.node_id);
    return result;
  }

  size_t size() const {
    return nodes.size();
  }
};

/// A local channel of one node: a scoped actor that receives deliveries.
using channel_probe = std::unique_ptr<caf::scoped_actor>;

channel_probe make_probe(node_env& n) {
  return std::make_unique<caf::scoped_actor>(n.sys);
}

channel_actor handle(const channel_probe& probe) {
  return caf::actor_cast<channel_actor>(*probe);
}

// -- bounded requests and receives --------------------------------------------

/// Sends a request and returns whether it was answered with ok_atom.
template <class Handle, class... Ts>
bool request_ok(node_env& n, const Handle& dest, Ts&&... xs) {
  caf::scoped_actor self{n.sys};
  bool ok = false;
  self->request(caf::actor_cast<caf::actor>(dest), wait_limit,
                std::forward<Ts>(xs)...)
    .receive([&](caf::ok_atom) { ok = true; },
             [&](caf::error& err) {
               CAF_MESSAGE("request failed: " << n.sys.render(err));
             });
  return ok;
}

/// Asks `dest` and returns its answer of type T, or nothing on an error.
template <class T, class Handle, class... Ts>
std::optional<T> request_value(node_env& n, const Handle& dest, Ts&&... xs) {
  caf::scoped_actor self{n.sys};
  std::optional<T> result;
  self->request(caf::actor_cast<caf::actor>(dest), wait_limit,
                std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) {
               CAF_MESSAGE("request failed: " << n.sys.render(err));
             });
  return result;
}

std::optional<bridge_stats> get_stats(node_env& n) {
  return request_value<bridge_stats>(n, n.bridge, stats_atom::value);
}

/// Polls the stats of node `n`'s bridge until `pred` holds. Returns whether
/// it did within the wait limit. (Counters have no event to wait for.)
bool await_stats(node_env& n,
                 const std::function<bool(const bridge_stats&)>& pred) {
  auto deadline = clock_type::now() + wait_limit;
  for (;;) {
    if (auto stats = get_stats(n); stats && pred(*stats))
      return true;
    if (clock_type::now() > deadline)
      return false;
    std::this_thread::sleep_for(20ms);
  }
}

/// Makes `listener` a listener of node `n`'s bridge.
bool join(node_env& n, caf::scoped_actor& listener) {
  return request_ok(n, n.bridge, caf::join_atom::value,
                    caf::actor_cast<node_actor>(listener));
}

/// Receives views until one lists exactly `ids`. Returns it, or nullopt at
/// `deadline`.
std::optional<cluster_view> await_view(caf::scoped_actor& listener,
                                       const strings& ids,
                                       clock_type::time_point deadline) {
  for (;;) {
    auto now = clock_type::now();
    if (now >= deadline)
      return std::nullopt;
    std::optional<cluster_view> got;
    listener->receive([&](cluster_view& view) { got = view; },
                      caf::after(deadline - now) >> [] {
                        // nop: the deadline check above ends the loop
                      });
    if (got && node_ids(*got) == ids)
      return got;
  }
}

/// Waits until every node's view lists every node.
void await_full_views(cluster_under_test& c) {
  for (auto& n : c.nodes) {
    caf::scoped_actor listener{n->sys};
    CAF_REQUIRE(join(*n, listener));
    CAF_REQUIRE(await_view(listener, c.ids(), clock_type::now() + wait_limit));
  }
}

/// Receives the next delivery of `probe` within `timeout`.
std::optional<channel_event> next_event(channel_probe& probe,
                                        caf::timespan timeout = wait_limit) {
  std::optional<channel_event> got;
  (*probe)->receive([&](channel_event& ev) { got = ev; },
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

/// Returns the node id behind `node` as node `asker` sees it: an invalid
/// handle is `asker` itself, a valid one says who it is.
std::optional<std::string> node_name(node_env& asker, const node_actor& node) {
  if (!node)
    return asker.member.node_id;
  return request_value<std::string>(asker, node, topology_request{});
}

/// Returns the node that node `n` names as the owner of `ch`.
std::optional<std::string> owner_named_by(node_env& n, const std::string& ch) {
  auto node = request_value<node_actor>(n, n.bridge,
                                        owner_node_request{app, ch});
  if (!node)
    return std::nullopt;
  return node_name(n, *node);
}

/// Subscribes a fresh probe of every node to `ch`.
std::vector<channel_probe> subscribe_all(cluster_under_test& c,
                                         const std::string& ch = channel) {
  std::vector<channel_probe> probes;
  for (auto& n : c.nodes) {
    probes.push_back(make_probe(*n));
    CAF_REQUIRE(request_ok(*n, n->bridge, caf::subscribe_atom::value, app, ch,
                           handle(probes.back())));
  }
  return probes;
}

std::vector<channel_probe*> all_of(std::vector<channel_probe>& probes) {
  std::vector<channel_probe*> result;
  for (auto& p : probes)
    result.push_back(&p);
  return result;
}

void fan_out(node_env& n, const std::string& ch, channel_event ev) {
  caf::anon_send(n.bridge, fan_out_event{app, ch, std::move(ev)});
}

// -- the contract, once for every bridge --------------------------------------

/// Every node's view lists every node, as each announced itself; get_atom
/// answers the same view.
void check_views_list_every_node(cluster_under_test& c) {
  for (auto& n : c.nodes) {
    caf::scoped_actor listener{n->sys};
    CAF_REQUIRE(join(*n, listener));
    auto view = await_view(listener, c.ids(), clock_type::now() + wait_limit);
    CAF_REQUIRE(view);
    CAF_CHECK_GREATER(view->epoch, 0u);
    for (size_t i = 0; i < c.size(); ++i) {
      auto& want = c.node(i).member;
      CAF_CHECK_EQUAL(view->members[i].middleman_host, want.middleman_host);
      CAF_CHECK_EQUAL(view->members[i].middleman_port, want.middleman_port);
      CAF_CHECK_EQUAL(view->members[i].start_epoch, want.start_epoch);
    }
    auto got = request_value<cluster_view>(*n, n->bridge, caf::get_atom::value);
    CAF_REQUIRE(got);
    CAF_CHECK_EQUAL(node_ids(*got), c.ids());
    CAF_CHECK_EQUAL(got->epoch, view->epoch);
  }
}

/// Owner lookup: every node names the same live node for a channel (the
/// rendezvous choice over the live members), and with several nodes the
/// channels spread over all of them.
void check_owner_lookup_agrees(cluster_under_test& c) {
  await_full_views(c);
  std::map<std::string, int> owned;
  for (int k = 0; k < 24; ++k) {
    auto ch = "room-" + std::to_string(k);
    std::set<std::string> answers;
    for (auto& n : c.nodes) {
      auto who = owner_named_by(*n, ch);
      CAF_REQUIRE(who);
      answers.insert(*who);
    }
    CAF_REQUIRE_EQUAL(answers.size(), 1u);
    auto& who = *answers.begin();
    auto ids = c.ids();
    CAF_CHECK(std::find(ids.begin(), ids.end(), who) != ids.end());
    CAF_CHECK_EQUAL(who, owner_of(ids, app, ch).value_or("?"));
    ++owned[who];
  }
  CAF_CHECK_EQUAL(owned.size(), c.size());
}

/// standby_node_request names the owner of the ring without the asking
/// node: another live node, or none (an invalid handle) when alone.
void check_standby_is_the_runner_up(cluster_under_test& c) {
  await_full_views(c);
  auto ids = c.ids();
  for (int k = 0; k < 24; ++k) {
    auto ch = "room-" + std::to_string(k);
    for (auto& n : c.nodes) {
      auto node = request_value<node_actor>(*n, n->bridge,
                                            standby_node_request{app, ch});
      CAF_REQUIRE(node);
      std::vector<std::string> others;
      for (auto& id : ids)
        if (id != n->member.node_id)
          others.push_back(id);
      if (others.empty()) {
        CAF_CHECK(!*node);
        continue;
      }
      CAF_REQUIRE(*node);
      CAF_CHECK_EQUAL(node_name(*n, *node).value_or("?"),
                      owner_of(others, app, ch).value_or("!"));
    }
  }
}

/// After leave_atom a node leaves itself out of its own lookups (so its
/// owners can hand over); alone, it still owns everything.
void check_leaving_node_is_excluded(cluster_under_test& c) {
  await_full_views(c);
  auto& leaving = c.node(0);
  CAF_REQUIRE(request_ok(leaving, leaving.bridge, caf::leave_atom::value));
  for (int k = 0; k < 24; ++k) {
    auto ch = "room-" + std::to_string(k);
    auto who = owner_named_by(leaving, ch);
    CAF_REQUIRE(who);
    if (c.size() > 1)
      CAF_CHECK_NOT_EQUAL(*who, leaving.member.node_id);
    else
      CAF_CHECK_EQUAL(*who, leaving.member.node_id);
  }
}

/// peers_atom names the node actors of the other live members.
void check_peers_are_the_other_nodes(cluster_under_test& c) {
  await_full_views(c);
  for (auto& n : c.nodes) {
    auto peers = request_value<std::vector<node_actor>>(*n, n->bridge,
                                                        peers_atom::value);
    CAF_REQUIRE(peers);
    strings names;
    for (auto& p : *peers) {
      auto name = node_name(*n, p);
      CAF_REQUIRE(name);
      names.push_back(*name);
    }
    std::sort(names.begin(), names.end());
    strings want;
    for (auto& id : c.ids())
      if (id != n->member.node_id)
        want.push_back(id);
    CAF_CHECK_EQUAL(names, want);
  }
}

/// Node 0 fans out: every other subscribed node gets the event exactly
/// once, with every field intact and node 0 as its origin; node 0 never
/// gets it back (its owner delivered locally itself).
void check_fan_out_reaches_other_nodes_once(cluster_under_test& c) {
  await_full_views(c);
  auto probes = subscribe_all(c);
  auto ev = sample_event(1);
  fan_out(c.node(0), channel, ev);
  for (size_t i = 1; i < c.size(); ++i) {
    auto got = next_event(probes[i]);
    CAF_REQUIRE(got);
    CAF_CHECK(same_event(*got, ev, c.node(0).member.node_id));
  }
  check_quiet(all_of(probes));
}

/// The events of one channel arrive in the order the owner fanned them out.
void check_fan_out_keeps_order(cluster_under_test& c) {
  await_full_views(c);
  auto probes = subscribe_all(c);
  constexpr uint64_t count = 200;
  for (uint64_t seq = 1; seq <= count; ++seq)
    fan_out(c.node(0), channel, sample_event(seq));
  for (size_t i = 1; i < c.size(); ++i)
    for (uint64_t seq = 1; seq <= count; ++seq) {
      auto got = next_event(probes[i]);
      CAF_REQUIRE(got);
      CAF_REQUIRE_EQUAL(got->seq, seq);
    }
  check_quiet(all_of(probes));
}

/// Subscribe and unsubscribe reply ok; after unsubscribe nothing is
/// delivered for the channel any more; unsubscribe is idempotent.
void check_unsubscribe_stops_delivery(cluster_under_test& c) {
  await_full_views(c);
  auto probes = subscribe_all(c);
  // With another node, first show that the path works.
  if (c.size() > 1) {
    fan_out(c.node(0), channel, sample_event(1));
    for (size_t i = 1; i < c.size(); ++i)
      CAF_REQUIRE(next_event(probes[i]));
  }
  for (auto& n : c.nodes) {
    CAF_CHECK(request_ok(*n, n->bridge, caf::unsubscribe_atom::value, app,
                         channel));
    CAF_CHECK(request_ok(*n, n->bridge, caf::unsubscribe_atom::value, app,
                         std::string{"never-subscribed"}));
    auto stats = get_stats(*n);
    CAF_REQUIRE(stats);
    CAF_CHECK_EQUAL(stats->subscriptions, 0u);
  }
  fan_out(c.node(0), channel, sample_event(2));
  check_quiet(all_of(probes));
}

/// Subscribing again is idempotent and the last handle wins.
void check_last_subscription_wins(cluster_under_test& c) {
  await_full_views(c);
  std::vector<channel_probe> old_probes;
  std::vector<channel_probe> new_probes;
  for (auto& n : c.nodes) {
    old_probes.push_back(make_probe(*n));
    new_probes.push_back(make_probe(*n));
    CAF_REQUIRE(request_ok(*n, n->bridge, caf::subscribe_atom::value, app,
                           channel, handle(old_probes.back())));
    CAF_REQUIRE(request_ok(*n, n->bridge, caf::subscribe_atom::value, app,
                           channel, handle(new_probes.back())));
    auto stats = get_stats(*n);
    CAF_REQUIRE(stats);
    CAF_CHECK_EQUAL(stats->subscriptions, 1u);
  }
  auto ev = sample_event(9);
  fan_out(c.node(0), channel, ev);
  for (size_t i = 1; i < c.size(); ++i) {
    auto got = next_event(new_probes[i]);
    CAF_REQUIRE(got);
    CAF_CHECK(same_event(*got, ev, c.node(0).member.node_id));
  }
  auto all = all_of(old_probes);
  for (auto* p : all_of(new_probes))
    all.push_back(p);
  check_quiet(all);
}

/// The counters: subscriptions always; a bus counts what it published and
/// delivered, and no echoes of its own events.
void check_stats_count(cluster_under_test& c) {
  await_full_views(c);
  auto probes = subscribe_all(c);
  auto probes_b = subscribe_all(c, "other");
  for (auto& n : c.nodes) {
    auto stats = get_stats(*n);
    CAF_REQUIRE(stats);
    CAF_CHECK_EQUAL(stats->subscriptions, 2u);
  }
  fan_out(c.node(0), channel, sample_event(1));
  for (size_t i = 1; i < c.size(); ++i)
    CAF_REQUIRE(next_event(probes[i]));
  auto published = c.has_bus ? 1u : 0u;
  CAF_CHECK(await_stats(c.node(0), [&](const bridge_stats& s) {
    return s.published == published && s.delivered == 0 && s.echoes == 0
           && s.bad_payloads == 0 && s.publish_failures == 0;
  }));
  for (size_t i = 1; i < c.size(); ++i)
    CAF_CHECK(await_stats(c.node(i), [](const bridge_stats& s) {
      return s.published == 0 && s.delivered == 1 && s.echoes == 0;
    }));
}

/// close_atom replies ok and the bridge ends.
void check_close_ends_the_bridge(cluster_under_test& c) {
  auto& n = c.node(c.size() - 1);
  caf::scoped_actor self{n.sys};
  self->monitor(n.bridge);
  CAF_CHECK(request_ok(n, n.bridge, caf::close_atom::value));
  std::optional<caf::error> reason;
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(wait_limit) >> [] {
                  // nop: checked below
                });
  CAF_REQUIRE(reason);
  CAF_CHECK(!*reason);
}

/// Sends `(crash_atom)` (fault injection) and returns the reason the
/// bridge ended with, or nullopt if it did not end within the wait limit.
std::optional<caf::error> crash(node_env& n) {
  caf::scoped_actor self{n.sys};
  self->monitor(n.bridge);
  self->send(n.bridge, crash_atom::value);
  std::optional<caf::error> reason;
  self->receive([&](caf::down_msg& msg) { reason = msg.reason; },
                caf::after(wait_limit) >> [] {
                  // nop: the caller checks
                });
  return reason;
}

/// crash_atom ends the bridge with sec::runtime_error (the node restarts
/// it under the next start epoch).
void check_crash_ends_the_bridge(cluster_under_test& c) {
  auto reason = crash(c.node(0));
  CAF_REQUIRE(reason);
  CAF_CHECK_EQUAL(*reason, caf::sec::runtime_error);
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
      [&](cluster_view& view) {
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
  cluster_under_test cluster;

  local_fixture() {
    cluster.nodes.push_back(std::make_unique<node_env>("n1"));
    auto& n = cluster.node(0);
    n.member.middleman_port = 4101;
    n.bridge = n.sys.spawn(local_bridge_behavior, n.member);
  }
};

/// Two nodes with NATS bridges, on a fresh nats-server per test.
struct nats_fixture {
  uint16_t port = free_port();
  nats_server_process server{port};
  cluster_under_test cluster;

  nats_fixture() {
    cluster.has_bus = true;
    if (port == 0)
      CAF_FAIL("no free loopback port");
    if (auto error = server.start(); !error.empty())
      CAF_FAIL(error);
    for (auto id : {"n1", "n2"}) {
      cluster.nodes.push_back(std::make_unique<node_env>(id));
      auto& n = *cluster.nodes.back();
      n.publish();
      n.bridge = spawn_bridge(n, n.member);
    }
  }

  ~nats_fixture() {
    // Nodes (and their bridges) first, then the server.
    cluster.nodes.clear();
  }

  /// Spawns a bridge for `n` announcing `me` (detached, as main does: an
  /// owner lookup connects to the peer's middleman, blocking).
  cluster_actor spawn_bridge(node_env& n, const cluster_member& me) {
    return n.sys.spawn<caf::detached>(nats_bridge_behavior, settings(), me,
                                      caf::timespan{test_heartbeat},
                                      caf::timespan{test_node_timeout});
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

// -- the contract against both bridges ----------------------------------------

// CAF_TEST names its test after __LINE__: each instance gets a namespace of
// its own, so one macro line can hold them all.
#define STARLING_CONTRACT_TEST(F, check, what)                                 \
  namespace F##_##check {                                                      \
  CAF_TEST(F : what) {                                                         \
    F f;                                                                       \
    check(f.cluster);                                                          \
  }                                                                            \
  }

#define STARLING_CLUSTER_CONTRACT(F)                                           \
  STARLING_CONTRACT_TEST(F, check_views_list_every_node,                      \
                         every view lists every node)                          \
  STARLING_CONTRACT_TEST(F, check_owner_lookup_agrees,                        \
                         owner lookup names one live node and all agree)       \
  STARLING_CONTRACT_TEST(F, check_standby_is_the_runner_up,                  \
                         the standby is the owner of the ring without us)      \
  STARLING_CONTRACT_TEST(F, check_leaving_node_is_excluded,                   \
                         a leaving node leaves itself out of the ring)         \
  STARLING_CONTRACT_TEST(F, check_peers_are_the_other_nodes,                  \
                         peers are the other live nodes)                       \
  STARLING_CONTRACT_TEST(F, check_fan_out_reaches_other_nodes_once,           \
                         a fan-out reaches other nodes once and never back)    \
  STARLING_CONTRACT_TEST(F, check_fan_out_keeps_order,                        \
                         events of one channel keep their order)               \
  STARLING_CONTRACT_TEST(F, check_unsubscribe_stops_delivery,                 \
                         unsubscribe stops delivery and is idempotent)         \
  STARLING_CONTRACT_TEST(F, check_last_subscription_wins,                     \
                         subscribing again keeps one subscription)             \
  STARLING_CONTRACT_TEST(F, check_stats_count, the counters count)            \
  STARLING_CONTRACT_TEST(F, check_close_ends_the_bridge,                      \
                         close replies ok and ends the bridge)                 \
  STARLING_CONTRACT_TEST(F, check_crash_ends_the_bridge,                      \
                         crash_atom ends the bridge with an error)

STARLING_CLUSTER_CONTRACT(local_fixture)
STARLING_CLUSTER_CONTRACT(nats_fixture)

// -- the local bridge only ----------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(local_bridge_only, local_fixture)

CAF_TEST(local: the view is this node alone at epoch 1 and never changes) {
  auto& n = cluster.node(0);
  caf::scoped_actor listener{n.sys};
  CAF_REQUIRE(join(n, listener));
  auto view = await_view(listener, {"n1"}, clock_type::now() + wait_limit);
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(view->epoch, 1u);
  bool more = false;
  listener->receive([&](cluster_view&) { more = true; },
                    caf::after(quiet_period) >> [] {
                      // nop: the expected outcome
                    });
  CAF_CHECK(!more);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- the NATS bridge only -----------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(nats_bridge_only, nats_fixture)

/// A node that stops cleanly (`stop` sends the goodbye) leaves n1's view
/// long before the node timeout could have removed it.
void check_goodbye_leaves_promptly(nats_fixture& fx,
                                   const std::function<void(node_env&)>& stop) {
  auto& c = fx.cluster;
  caf::scoped_actor listener{c.node(0).sys};
  CAF_REQUIRE(join(c.node(0), listener));
  CAF_REQUIRE(await_view(listener, c.ids(), clock_type::now() + wait_limit));
  auto start = clock_type::now();
  stop(c.node(1));
  auto view = await_view(listener, {c.node(0).member.node_id},
                         start + wait_limit);
  CAF_REQUIRE(view);
  auto elapsed = clock_type::now() - start;
  CAF_MESSAGE("left after " << to_ms(elapsed) << " ms");
  CAF_CHECK_LESS(elapsed, test_node_timeout / 2);
}

CAF_TEST(nats: a node that closes says goodbye and leaves the view promptly) {
  check_goodbye_leaves_promptly(*this, [](node_env& n) {
    CAF_CHECK(request_ok(n, n.bridge, caf::close_atom::value));
  });
}

CAF_TEST(nats: an exit message says goodbye too) {
  check_goodbye_leaves_promptly(*this, [](node_env& n) {
    caf::anon_send_exit(n.bridge, caf::exit_reason::user_shutdown);
  });
}

CAF_TEST(nats: a killed node leaves the view after the node timeout) {
  auto& c = cluster;
  caf::scoped_actor listener{c.node(0).sys};
  CAF_REQUIRE(join(c.node(0), listener));
  CAF_REQUIRE(await_view(listener, c.ids(), clock_type::now() + wait_limit));
  auto start = clock_type::now();
  // exit_reason::kill bypasses the exit handler: no goodbye, like a crash.
  caf::anon_send_exit(c.node(1).bridge, caf::exit_reason::kill);
  auto view = await_view(listener, {c.node(0).member.node_id},
                         start + test_node_timeout + wait_limit);
  CAF_REQUIRE(view);
  auto elapsed = clock_type::now() - start;
  CAF_MESSAGE("left after " << to_ms(elapsed) << " ms");
  // Its last heartbeat may be one period old, so half the timeout is a safe
  // lower bound that a goodbye (milliseconds) would never reach.
  CAF_CHECK_GREATER(elapsed, test_node_timeout / 2);
  CAF_CHECK_LESS(elapsed, test_node_timeout + 2s);
  // The ring of the survivor names only itself now.
  CAF_CHECK_EQUAL(owner_named_by(c.node(0), "room-1").value_or("?"), "n1");
}

CAF_TEST(nats: a crashed bridge lets go of NATS; its restart is taken back at once) {
  auto& c = cluster;
  caf::scoped_actor listener{c.node(0).sys};
  CAF_REQUIRE(join(c.node(0), listener));
  CAF_REQUIRE(await_view(listener, c.ids(), clock_type::now() + wait_limit));
  auto before = thread_count();
  auto member = c.node(1).member;
  for (int i = 0; i < 5; ++i) {
    auto reason = crash(c.node(1));
    CAF_REQUIRE(reason);
    CAF_CHECK_EQUAL(*reason, caf::sec::runtime_error);
    // What the node does on a restart: the next start epoch.
    ++member.start_epoch;
    auto start = clock_type::now();
    c.node(1).bridge = spawn_bridge(c.node(1), member);
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
  auto probe = make_probe(c.node(1));
  CAF_REQUIRE(request_ok(c.node(1), c.node(1).bridge,
                         caf::subscribe_atom::value, app, channel,
                         handle(probe)));
  auto ev = sample_event(5);
  fan_out(c.node(0), channel, ev);
  auto got = next_event(probe);
  CAF_REQUIRE(got);
  CAF_CHECK(same_event(*got, ev, "n1"));
}

CAF_TEST(nats: garbage on the subjects is dropped and counted) {
  auto& c = cluster;
  check_views_list_every_node(c);
  auto probe = make_probe(c.node(1));
  CAF_REQUIRE(request_ok(c.node(1), c.node(1).bridge,
                         caf::subscribe_atom::value, app, channel,
                         handle(probe)));
  auto raw = raw_client();
  auto subject = event_subject("stest", app, channel);
  event_envelope misaddressed;
  misaddressed.origin_node = "n1";
  misaddressed.app_id = app;
  misaddressed.channel = "another-channel";
  misaddressed.seq = 5;
  misaddressed.event = "e";
  misaddressed.data = "d";
  auto echo = misaddressed;
  echo.origin_node = "n2";
  echo.channel = channel;
  echo.seq = 6;
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
  fan_out(c.node(0), channel, ev);
  auto got = next_event(probe);
  CAF_REQUIRE(got);
  CAF_CHECK(same_event(*got, ev, "n1"));
  check_quiet({&probe});
  CAF_CHECK(await_stats(c.node(1), [](const bridge_stats& s) {
    return s.bad_payloads == 5 && s.echoes == 1 && s.delivered == 1;
  }));
  CAF_CHECK(await_stats(c.node(0), [](const bridge_stats& s) {
    return s.bad_payloads == 2;
  }));
  // Both bridges still serve, and garbage changed no view.
  check_views_list_every_node(c);
}

CAF_TEST(nats: delivery resumes after the NATS server restarts) {
  auto& c = cluster;
  auto probe = make_probe(c.node(1));
  CAF_REQUIRE(request_ok(c.node(1), c.node(1).bridge,
                         caf::subscribe_atom::value, app, channel,
                         handle(probe)));
  check_views_list_every_node(c);
  server.stop();
  for (auto& n : c.nodes)
    CAF_REQUIRE(await_stats(*n, [](const bridge_stats& s) {
      return s.disconnects == 1;
    }));
  if (auto error = server.start(); !error.empty())
    CAF_FAIL("restart: " << error);
  for (auto& n : c.nodes)
    CAF_REQUIRE(await_stats(*n, [](const bridge_stats& s) {
      return s.reconnects == 1;
    }));
  // nats.c restored n2's subscription before it reported the reconnect.
  auto ev = sample_event(4);
  fan_out(c.node(0), channel, ev);
  auto got = next_event(probe);
  CAF_REQUIRE(got);
  CAF_CHECK(same_event(*got, ev, "n1"));
  check_views_list_every_node(c);
}

CAF_TEST(nats: threads do not grow with the subscribed channels) {
  auto& n2 = cluster.node(1);
  std::vector<channel_probe> probes;
  probes.push_back(make_probe(n2));
  // The first subscription may start the delivery pool's worker.
  CAF_REQUIRE(request_ok(n2, n2.bridge, caf::subscribe_atom::value, app,
                         std::string{"ch-0"}, handle(probes.back())));
  auto before = thread_count();
  constexpr int count = 200;
  for (int i = 1; i < count; ++i) {
    probes.push_back(make_probe(n2));
    CAF_REQUIRE(request_ok(n2, n2.bridge, caf::subscribe_atom::value, app,
                           "ch-" + std::to_string(i), handle(probes.back())));
  }
  CAF_CHECK_LESS_OR_EQUAL(thread_count(), before + 2);
  for (int i = 0; i < count; ++i)
    fan_out(cluster.node(0), "ch-" + std::to_string(i), sample_event(1));
  for (int i = 0; i < count; ++i)
    CAF_REQUIRE(next_event(probes[i]));
}

CAF_TEST(nats: the bridge quits with a reason when no server accepts) {
  auto& n = cluster.node(0);
  config::nats_settings nowhere;
  nowhere.servers = {"nats://127.0.0.1:" + std::to_string(free_port())};
  caf::scoped_actor self{n.sys};
  auto bridge = self->spawn<caf::monitored>(
    nats_bridge_behavior, nowhere, cluster_member{"n3", "127.0.0.1", 1, 1},
    caf::timespan{test_heartbeat}, caf::timespan{test_node_timeout});
  std::optional<caf::error> reason;
  self->receive([&](caf::down_msg& msg) { reason = msg.reason; },
                caf::after(wait_limit) >> [] {
                  // nop: checked below
                });
  CAF_REQUIRE(reason);
  CAF_CHECK_EQUAL(*reason, caf::sec::runtime_error);
  CAF_MESSAGE("reason: " << n.sys.render(*reason));
}

CAF_TEST_FIXTURE_SCOPE_END()
