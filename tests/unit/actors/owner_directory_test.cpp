// Unit tests for actors/owner_directory: owners spawned on first use and
// forgotten when they end (idle or crashed), publishes and queries of the
// HTTP API, interest on the bus, and in a cluster of two directories (fake
// bridge and fake nodes between them): the ring's lookups, handoff of moved
// owners, forwarders answering peers, settling after a view change.
#define CAF_SUITE actors_owner_directory
#include "tests/support/actor_fixture.hpp"

#include "actors/owner_directory.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "actors/channel_owner.hpp"
#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "tests/support/probes.hpp"

using namespace starling;
using namespace std::chrono_literals;

namespace {

using strings = std::vector<std::string>;
using reports = std::vector<channel_report>;

strings names_of(const reports& rs) {
  strings result;
  for (auto& r : rs)
    result.push_back(r.name);
  std::sort(result.begin(), result.end());
  return result;
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  caf::actor app;
  owner_directory_actor dir;

  fixture() {
    app = spawn_tracked(test::fake_app, caf::actor{});
    sched.run();
    dir = spawn_directory(ctx);
  }

  owner_directory_actor spawn_directory(std::shared_ptr<app_context> c) {
    auto result = spawn_tracked(owner_directory_behavior, app_context_ptr{c},
                                caf::actor_cast<app_actor>(app));
    sched.run();
    return result;
  }

  /// A fake local channel of this node (owner calls go to `owner`).
  caf::actor listener(caf::actor owner = {}) {
    auto result = spawn_tracked(test::fake_channel, std::move(owner));
    sched.run();
    return result;
  }

  test::fake_channel_state& seen(const caf::actor& ch) {
    return state_of<test::fake_channel_state>(ch);
  }

  owner_actor resolve(const owner_directory_actor& d, const std::string& name,
                      const caf::actor& ch) {
    return ask<owner_actor>(d,
                            resolve_owner{name,
                                          caf::actor_cast<channel_actor>(ch)});
  }

  uint64_t owner_count(const owner_directory_actor& d) {
    return ask<uint64_t>(d, stats_atom::value);
  }

  /// Lets `ch` join `owner` as a subscriber of `node`.
  void subscribe(const caf::actor& ch, const owner_actor& owner,
                 const std::string& node, const std::string& socket_id) {
    seen(ch).owner = caf::actor_cast<caf::actor>(owner);
    owner_join join;
    join.node = node;
    join.socket_id = socket_id;
    self->send(ch, std::move(join));
    sched.run();
    CAF_REQUIRE(!seen(ch).joined.empty());
  }

  publish_request publish_of(strings channels, std::string event,
                             std::string data) {
    return publish_request{ctx->app.id, std::move(channels), std::move(event),
                           std::move(data), ""};
  }
};

} // namespace

// -- a single node ------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(directory_alone, fixture)

CAF_TEST(a resolve spawns one owner per channel) {
  auto ch = listener();
  auto o1 = resolve(dir, "room", ch);
  CAF_REQUIRE(o1);
  CAF_CHECK(resolve(dir, "room", ch) == o1);
  CAF_CHECK(ask<owner_actor>(dir, owner_request{"room"}) == o1);
  auto o2 = resolve(dir, "other", ch);
  CAF_CHECK(o2 && o2 != o1);
  CAF_CHECK_EQUAL(owner_count(dir), 2u);
  auto topology = ask<std::string>(dir, topology_request{});
  CAF_CHECK(topology.find("\"room\"") != std::string::npos);
  CAF_CHECK(topology.find("\"other\"") != std::string::npos);
  // Alone, nothing goes on a bus.
  CAF_CHECK_EQUAL(seen(ch).resolves, 0u);
}

CAF_TEST(a publish to an unknown channel that keeps no event spawns nothing) {
  CAF_CHECK(ask<caf::ok_atom>(dir, publish_of({"room"}, "ev", "d"))
            == caf::ok_atom::value);
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  // A cache channel keeps the event for later subscribers.
  ask<caf::ok_atom>(dir, publish_of({"room", "cache-news"}, "ev", "d"));
  CAF_CHECK_EQUAL(owner_count(dir), 1u);
  auto report = ask<channel_report>(dir,
                                    channel_request{"app-1", "cache-news"});
  CAF_CHECK(report.cache_hit);
  CAF_CHECK_EQUAL(report.cache_event, "ev");
  CAF_CHECK_EQUAL(report.cache_data, "d");
}

CAF_TEST(a publish reaches the owner of a known channel) {
  auto ch = listener();
  auto owner = resolve(dir, "room", ch);
  subscribe(ch, owner, "node-a", "1.1");
  ask<caf::ok_atom>(dir, publish_of({"room"}, "ev", "d"));
  auto& events = seen(ch).events;
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].event, "ev");
  CAF_CHECK_EQUAL(events[0].data, "d");
}

CAF_TEST(queries for an unknown channel answer empty without spawning) {
  auto report = ask<channel_report>(dir, channel_request{"app-1", "room"});
  CAF_CHECK_EQUAL(report.name, "room");
  CAF_CHECK(!report.occupied);
  CAF_CHECK(ask<strings>(dir, users_request{"app-1", "presence-room"}).empty());
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
}

CAF_TEST(queries are answered by the owners) {
  auto ch = listener();
  for (auto name : {"room-1", "room-2", "#server-to-user-u1", "quiet"}) {
    auto owner = resolve(dir, name, ch);
    if (std::string{name} != "quiet")
      subscribe(ch, owner, "node-a", std::string{"1."} + name);
  }
  auto all = ask<reports>(dir, channels_request{"app-1", "", false});
  // Occupied channels only; '#' channels are not listed without a prefix.
  CAF_CHECK_EQUAL(names_of(all), strings({"room-1", "room-2"}));
  auto some = ask<reports>(dir, channels_request{"app-1", "room-2", false});
  CAF_CHECK_EQUAL(names_of(some), strings({"room-2"}));
  auto hidden = ask<reports>(dir, channels_request{"app-1", "#", false});
  CAF_CHECK_EQUAL(names_of(hidden), strings({"#server-to-user-u1"}));
  auto report = ask<channel_report>(dir, channel_request{"app-1", "room-1"});
  CAF_CHECK(report.occupied);
  CAF_CHECK_EQUAL(report.subscription_count, 1u);
}

CAF_TEST(an owner that ends idle is forgotten) {
  auto ch = listener();
  auto owner = resolve(dir, "room", ch);
  // A publish without subscribers leaves the owner nothing to do.
  ask<caf::ok_atom>(dir, publish_of({"room"}, "ev", "d"));
  CAF_CHECK(terminated(owner));
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  auto again = resolve(dir, "room", ch);
  CAF_CHECK(again && again != owner);
}

CAF_TEST(a crashed owner is forgotten and the next use spawns a fresh one) {
  auto ch = listener();
  auto owner = resolve(dir, "room", ch);
  CAF_CHECK(ask<caf::ok_atom>(dir, crash_request{"app-1", "owner", "room"})
            == caf::ok_atom::value);
  sched.run();
  CAF_CHECK(terminated(owner));
  // The channel has subscribers here: a successor is rebuilt at once and
  // the channel told to find it.
  CAF_CHECK_EQUAL(owner_count(dir), 1u);
  auto again = resolve(dir, "room", ch);
  CAF_CHECK(again && again != owner);
  // The directory itself lives on; unknown owners are an error.
  CAF_CHECK(!terminated(dir));
  auto err = ask_error<caf::ok_atom>(dir, crash_request{"app-1", "owner",
                                                        "nope"});
  CAF_CHECK(err == errc::not_available);
  err = ask_error<caf::ok_atom>(dir, crash_request{"app-1", "logic",
                                                   "gate/nope"});
  CAF_CHECK(err == errc::not_available);
}

CAF_TEST(channel_gone takes the interest off the bus) {
  auto bridge = spawn_tracked(test::fake_bridge,
                              cluster_member{"node-a", "127.0.0.1", 1, 1});
  sched.run();
  auto& calls = state_of<test::fake_bridge_state>(bridge).calls;
  auto ch = listener();
  auto owner = resolve(dir, "room", ch);
  // A bridge with this node alone: the interest goes on the bus, then the
  // channel checks its owner.
  self->send(dir, cluster_changed{cluster_view{{{"node-a", "127.0.0.1", 1, 1}},
                                               1, "start"},
                                  caf::actor_cast<cluster_actor>(bridge)});
  sched.run();
  CAF_CHECK_EQUAL(calls, strings({"subscribe:room"}));
  CAF_CHECK_EQUAL(seen(ch).resolves, 1u);
  // Alone, the ring is not asked: the owner stays here.
  CAF_CHECK(resolve(dir, "room", ch) == owner);
  self->send(dir, channel_gone{"room"});
  sched.run();
  CAF_CHECK_EQUAL(calls, strings({"subscribe:room", "unsubscribe:room"}));
  // The next view change registers nothing for it.
  self->send(dir, cluster_changed{cluster_view{{{"node-a", "127.0.0.1", 1, 1}},
                                               2, "joined"},
                                  caf::actor_cast<cluster_actor>(bridge)});
  sched.run();
  CAF_CHECK_EQUAL(calls.size(), 2u);
  CAF_CHECK_EQUAL(seen(ch).resolves, 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- two nodes ----------------------------------------------------------------

namespace {

/// node-a (the directory under test, `dir`) and node-b (`dir_b`), with a
/// fake bridge on node-a and fake node actors that route peer calls to the
/// directories.
struct cluster_fixture : fixture {
  std::shared_ptr<app_context> ctx_b = test::make_context();
  owner_directory_actor dir_b;
  caf::actor node_a;
  caf::actor node_b;
  caf::actor bridge;
  cluster_view view;

  cluster_fixture() {
    ctx_b->node_id = "node-b";
    dir_b = spawn_directory(ctx_b);
    node_a = spawn_tracked(test::fake_node, caf::actor_cast<caf::actor>(dir));
    node_b = spawn_tracked(test::fake_node, caf::actor_cast<caf::actor>(dir_b));
    bridge = spawn_tracked(test::fake_bridge,
                           cluster_member{"node-a", "127.0.0.1", 1, 1});
    sched.run();
    view.members = {{"node-a", "127.0.0.1", 1, 1},
                    {"node-b", "127.0.0.1", 2, 1}};
    view.epoch = 1;
    bridge_seen().view = view;
    bridge_seen().peers = {node_b};
  }

  test::fake_bridge_state& bridge_seen() {
    return state_of<test::fake_bridge_state>(bridge);
  }

  /// Tells node-a's directory the current view.
  void change_view() {
    self->send(dir,
               cluster_changed{view, caf::actor_cast<cluster_actor>(bridge)});
    sched.run();
    ++view.epoch;
  }

  /// Joins the cluster long enough ago that new owners do not settle.
  void join_cluster() {
    change_view();
    advance_time(6s);
    sched.run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(directory_cluster, cluster_fixture)

CAF_TEST(a node just on the bus spawns no owner until it knows it is alone) {
  // Its peers answer its first announce at once; until they do (or the
  // discovery window passes), an owner spawned here would number events
  // that no other node's channels follow, and a publish would be lost.
  ctx->shared_bus = true;
  dir = spawn_directory(ctx);
  auto bridge = spawn_tracked(test::fake_bridge,
                              cluster_member{"node-a", "127.0.0.1", 1, 1});
  sched.run();
  self->send(dir, cluster_changed{cluster_view{{{"node-a", "127.0.0.1", 1, 1}},
                                               1, "start"},
                                  caf::actor_cast<cluster_actor>(bridge)});
  sched.run();
  auto ch = listener();
  auto err = ask_error<owner_actor>(
    dir, resolve_owner{"room", caf::actor_cast<channel_actor>(ch)});
  CAF_CHECK(err == errc::not_available);
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  // A publish waits (parked) instead of being answered for nobody.
  auto rh = self->request(dir, caf::infinite,
                          publish_of({"room"}, "ev", "{}"));
  sched.run();
  CAF_CHECK(!self_has_mail());
  // Nobody answered: alone after the window, the parked publish goes to
  // an owner here (nobody is subscribed: it ends again at once).
  advance_time(1500ms);
  sched.run();
  bool answered = false;
  rh.receive([&](caf::ok_atom) { answered = true; },
             [&](caf::error& err) { CAF_FAIL("publish failed: " << err); });
  CAF_CHECK(answered);
  CAF_CHECK(resolve(dir, "room", ch) != nullptr);
}

CAF_TEST(a resolve puts the interest on the bus before asking the ring) {
  join_cluster();
  auto ch = listener();
  auto owner = resolve(dir, "room", ch);
  CAF_REQUIRE(owner);
  CAF_CHECK_EQUAL(bridge_seen().calls,
                  strings({"subscribe:room", "owner:room"}));
  CAF_REQUIRE_EQUAL(bridge_seen().subscriptions.size(), 1u);
  CAF_CHECK_EQUAL(bridge_seen().subscriptions[0].first, "app-1");
  // The ring named this node: the owner lives here.
  CAF_CHECK_EQUAL(owner_count(dir), 1u);
}

CAF_TEST(an owner on another node is found through its node) {
  join_cluster();
  bridge_seen().owner_nodes["room"] = node_b;
  auto ch = listener();
  auto owner = resolve(dir, "room", ch);
  CAF_REQUIRE(owner);
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  CAF_CHECK_EQUAL(owner_count(dir_b), 1u);
  CAF_CHECK(ask<owner_actor>(dir_b, local_owner_request{"app-1", "room"})
            == owner);
  // Publishes go to that owner too: one order for the channel. (Asked by a
  // peer before node-b saw the cluster, it settles for a moment first.)
  subscribe(ch, owner, "node-a", "1.1");
  advance_time(1s);
  sched.run();
  ask<caf::ok_atom>(dir, publish_of({"room"}, "ev", "d"));
  sched.run();
  auto& events = seen(ch).events;
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK_EQUAL(events[0].origin, "node-b");
}

CAF_TEST(a moved owner hands over and its forwarder answers peers) {
  join_cluster();
  auto ch = listener();
  auto owner = resolve(dir, "room", ch);
  subscribe(ch, owner, "node-a", "1.1");
  // The ring moves the channel to node-b.
  bridge_seen().owner_nodes["room"] = node_b;
  change_view();
  // The channel was told to look again; its interest stayed on the bus.
  CAF_CHECK_EQUAL(seen(ch).resolves, 1u);
  auto successor = ask<owner_actor>(dir_b,
                                    local_owner_request{"app-1", "room"});
  CAF_REQUIRE(successor);
  CAF_CHECK(successor != owner);
  CAF_CHECK(!terminated(owner));
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  // A peer with an older view asks node-a: the forwarder answers.
  CAF_CHECK(ask<owner_actor>(dir, local_owner_request{"app-1", "room"})
            == owner);
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  // The successor took the state: node-a's subscriber.
  CAF_CHECK_EQUAL(ask<owner_stats>(successor, stats_atom::value).subscribers,
                  1u);
  // Lookups on node-a now find the successor.
  CAF_CHECK(ask<owner_actor>(dir, owner_request{"room"}) == successor);
}

CAF_TEST(leaving hands every owner to the node the ring names) {
  join_cluster();
  auto ch = listener();
  for (auto name : {"room-1", "room-2"}) {
    auto owner = resolve(dir, name, ch);
    subscribe(ch, owner, "node-a", std::string{"1."} + name);
    bridge_seen().owner_nodes[name] = node_b;
  }
  CAF_CHECK_EQUAL(owner_count(dir), 2u);
  CAF_CHECK(ask<caf::ok_atom>(dir, caf::leave_atom::value)
            == caf::ok_atom::value);
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  CAF_CHECK_EQUAL(owner_count(dir_b), 2u);
}

CAF_TEST(channels of the peers are listed once) {
  join_cluster();
  auto ch = listener();
  auto here = resolve(dir, "room-a", ch);
  subscribe(ch, here, "node-a", "1.1");
  auto ch_b = listener();
  auto there = ask<owner_actor>(dir_b, local_owner_request{"app-1", "room-b"});
  subscribe(ch_b, there, "node-b", "2.1");
  auto all = ask<reports>(dir, channels_request{"app-1", "", false});
  CAF_CHECK_EQUAL(names_of(all), strings({"room-a", "room-b"}));
  // A peer asks for this node's owners only.
  auto local = ask<reports>(dir, channels_request{"app-1", "", true});
  CAF_CHECK_EQUAL(names_of(local), strings({"room-a"}));
}

CAF_TEST(an owner spawned right after a view change settles for a moment) {
  change_view();
  auto ch = listener();
  auto owner = ask<owner_actor>(dir, local_owner_request{"app-1", "room"});
  subscribe(ch, owner, "node-a", "1.1");
  auto rh = self->request(dir, caf::infinite, publish_of({"room"}, "ev", "d"));
  sched.run();
  // A predecessor may still hand its state over: events wait, and so does
  // the publisher's answer (it is only given once the event is numbered).
  CAF_CHECK(seen(ch).events.empty());
  CAF_CHECK(!self_has_mail());
  advance_time(1s);
  sched.run();
  CAF_CHECK_EQUAL(seen(ch).events.size(), 1u);
  CAF_REQUIRE(self_has_mail());
  bool acked = false;
  rh.receive([&](caf::ok_atom) { acked = true; },
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK(acked);
}

CAF_TEST(a view change tells the owners the current bridge) {
  join_cluster();
  auto ch = listener();
  auto owner = resolve(dir, "room", ch);
  subscribe(ch, owner, "node-a", "1.1");
  auto remote = listener();
  subscribe(remote, owner, "node-b", "2.1");
  ask<caf::ok_atom>(dir, publish_of({"room"}, "one", "1"));
  sched.run();
  CAF_CHECK_EQUAL(bridge_seen().fan_outs.size(), 1u);
  CAF_CHECK(seen(remote).events.empty());
  // The bridge went down: this node owns everything alone for a while.
  self->send(dir, cluster_changed{view, cluster_actor{}});
  sched.run();
  ask<caf::ok_atom>(dir, publish_of({"room"}, "two", "2"));
  sched.run();
  CAF_CHECK_EQUAL(bridge_seen().fan_outs.size(), 1u);
  CAF_CHECK_EQUAL(seen(remote).events.size(), 1u);
}

CAF_TEST(a dead peers occupancy copy sends its channels leave webhooks here) {
  auto hooks = spawn_tracked(test::fake_webhooks);
  sched.run();
  ctx->webhooks = std::make_shared<actor_slot<webhook_actor>>();
  ctx->webhooks->set(caf::actor_cast<webhook_actor>(hooks));
  join_cluster();
  // node-b owned these with every subscriber; node-a is their standby.
  auto copy = [&](std::string channel, bool occupied, strings members) {
    ask<caf::ok_atom>(dir, standby_copy{ctx->app.id, std::move(channel),
                                        "node-b", {}, occupied,
                                        std::move(members)});
  };
  copy("presence-solo", true, {"u1"});
  copy("presence-solo", true, {"u1", "u2"}); // The latest wins.
  copy("room", true, {});
  copy("vacated", true, {});
  copy("vacated", false, {}); // Ended there: dropped.
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  // A view that still has node-b changes nothing.
  change_view();
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  // node-b dies: the ring names node-a for its channels.
  view.members = {{"node-a", "127.0.0.1", 1, 1}};
  bridge_seen().view = view;
  bridge_seen().peers = {};
  change_view();
  CAF_CHECK_EQUAL(owner_count(dir), 2u);
  advance_time(4s);
  sched.run();
  strings got;
  for (auto& ev : state_of<test::fake_webhooks_state>(hooks).events)
    got.push_back(ev.name + " " + ev.channel + " " + ev.user_id);
  std::sort(got.begin(), got.end());
  CAF_CHECK_EQUAL(got, strings({"channel_vacated presence-solo ",
                                "channel_vacated room ",
                                "member_removed presence-solo u1",
                                "member_removed presence-solo u2"}));
  // Their owners end; the copies were used once.
  CAF_CHECK_EQUAL(owner_count(dir), 0u);
  change_view();
  advance_time(4s);
  sched.run();
  CAF_CHECK_EQUAL(state_of<test::fake_webhooks_state>(hooks).events.size(),
                  4u);
}

CAF_TEST_FIXTURE_SCOPE_END()
