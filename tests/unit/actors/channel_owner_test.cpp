// Unit tests for actors/channel_owner (and owner_ops): join replies, member
// and count events as typed values, the cache, webhooks, the fan-out to this
// node's channel and to the bridge, syncs and rebuilds, handoffs and
// forwarding, settling, and the owner ending itself when idle. Fake channels
// stand in for the local channels of several nodes.
#define CAF_SUITE actors_channel_owner
#include "tests/support/actor_fixture.hpp"

#include "actors/channel_owner.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "tests/support/probes.hpp"

using namespace starling;
using namespace std::chrono_literals;

namespace {

using strings = std::vector<std::string>;

owner_join public_join(std::string node, std::string socket_id) {
  owner_join result;
  result.node = std::move(node);
  result.socket_id = std::move(socket_id);
  return result;
}

owner_join presence_join(std::string node, std::string socket_id,
                         std::string user_id, std::string user_info = {}) {
  owner_join result;
  result.node = std::move(node);
  result.socket_id = std::move(socket_id);
  result.member = true;
  result.user_id = std::move(user_id);
  result.user_info = std::move(user_info);
  return result;
}

owner_leave leave_of(const owner_join& join) {
  return owner_leave{join.node, join.socket_id, join.member, join.user_id};
}

owner_sync sync_of(std::string node, uint64_t subscribers,
                   std::vector<roster_entry> members = {},
                   std::vector<std::string> known = {}) {
  owner_sync result;
  result.node = std::move(node);
  result.subscribers = subscribers;
  result.members = std::move(members);
  result.known_members = std::move(known);
  return result;
}

publish_event published(std::string event, std::string data,
                        std::string exclude = {}) {
  publish_event pe;
  pe.event.event = std::move(event);
  pe.event.data = std::move(data);
  pe.event.exclude = std::move(exclude);
  return pe;
}

/// Returns "id=info" per roster entry.
strings roster(const std::vector<roster_entry>& members) {
  strings result;
  for (auto& m : members)
    result.push_back(m.user_id + "=" + m.user_info);
  return result;
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  caf::actor app;
  caf::actor dir;
  caf::actor bridge; // null: no cluster
  caf::actor hooks;  // null: no webhooks
  owner_actor owner;

  fixture() {
    app = spawn_tracked(test::fake_app, caf::actor{});
    dir = spawn_tracked(test::fake_directory, caf::actor{});
    sched.run();
  }

  owner_start start_of(const std::string& channel) {
    owner_start s;
    s.channel = channel;
    s.ctx = ctx;
    s.directory = caf::actor_cast<owner_directory_actor>(dir);
    s.app = caf::actor_cast<app_actor>(app);
    s.bridge = caf::actor_cast<cluster_actor>(bridge);
    return s;
  }

  /// Spawns the owner of `channel` with the current ctx.
  void start(const std::string& channel, uint64_t seq_base = 0,
             caf::timespan settle = caf::timespan::zero()) {
    auto s = start_of(channel);
    s.seq_base = seq_base;
    s.settle = settle;
    owner = caf::actor_cast<owner_actor>(
      spawn_tracked(channel_owner_behavior, std::move(s)));
    sched.run();
  }

  /// Spawns a fake local channel of some node that talks to `owner`.
  caf::actor probe() {
    auto result = spawn_tracked(test::fake_channel,
                                caf::actor_cast<caf::actor>(owner));
    sched.run();
    return result;
  }

  test::fake_channel_state& seen(const caf::actor& probe) {
    return state_of<test::fake_channel_state>(probe);
  }

  /// Routes the owner's webhooks to a probe; call before start().
  void with_webhooks() {
    hooks = spawn_tracked(test::fake_webhooks);
    ctx->webhooks = std::make_shared<actor_slot<webhook_actor>>();
    ctx->webhooks->set(caf::actor_cast<webhook_actor>(hooks));
    sched.run();
  }

  std::vector<webhook_event>& webhook_events() {
    return state_of<test::fake_webhooks_state>(hooks).events;
  }

  /// Returns the names of the webhooks so far, in order.
  strings webhook_names() {
    strings result;
    for (auto& ev : webhook_events())
      result.push_back(ev.name);
    return result;
  }

  /// Makes the owner part of a cluster: a fake bridge; call before start().
  void with_bridge() {
    bridge = spawn_tracked(test::fake_bridge,
                           cluster_member{"node-a", "127.0.0.1", 1, 1});
    sched.run();
  }

  test::fake_bridge_state& bridge_seen() {
    return state_of<test::fake_bridge_state>(bridge);
  }

  /// Lets `probe` ask the owner and processes exactly the join and its reply
  /// (after whatever was already queued).
  owner_joined join(const caf::actor& probe, owner_join request) {
    sched.run(); // Earlier deliveries first: expect() checks mailbox heads.
    self->send(probe, std::move(request));
    expect((owner_join), from(self).to(probe));
    expect((owner_join), from(probe).to(owner));
    expect((owner_joined), from(owner).to(probe));
    auto& replies = seen(probe).joined;
    CAF_REQUIRE(!replies.empty());
    return replies.back();
  }

  /// Lets `probe` report a leave and processes it at the owner.
  void leave(const caf::actor& probe, owner_leave request) {
    sched.run();
    self->send(probe, std::move(request));
    expect((owner_leave), from(self).to(probe));
    expect((owner_leave), from(probe).to(owner));
  }

  /// Lets `probe` sync its node and processes sync and answer.
  void sync(const caf::actor& probe, owner_sync request) {
    sched.run();
    self->send(probe, std::move(request));
    expect((owner_sync), from(self).to(probe));
    expect((owner_sync), from(probe).to(owner));
    expect((owner_synced), from(owner).to(probe));
  }

  /// Publishes through the HTTP API path (anonymous sender, like the
  /// directory).
  void publish(publish_event pe) {
    sched.run();
    caf::anon_send(owner, std::move(pe));
    expect((publish_event), from(_).to(owner));
  }

  /// Processes one owner -> probe delivery and returns it.
  channel_event next_delivery(const caf::actor& probe) {
    expect((channel_event), from(owner).to(probe));
    auto& events = seen(probe).events;
    CAF_REQUIRE(!events.empty());
    return events.back();
  }

  owner_stats stats() {
    return ask<owner_stats>(owner, stats_atom::value);
  }

  uint64_t subscriber_count() {
    return stats().subscribers;
  }

  uint64_t member_count() {
    return stats().members;
  }

  uint64_t last_seq() {
    return stats().seq;
  }
};

} // namespace

// -- joins --------------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(owner_joins, fixture)

CAF_TEST(a public join is answered ok without roster or cache) {
  start("room");
  auto p = probe();
  auto reply = join(p, public_join("node-a", "1.1"));
  CAF_CHECK(reply.ok);
  CAF_CHECK(reply.members.empty());
  CAF_CHECK(!reply.cache_hit);
  CAF_CHECK_EQUAL(reply.subscription_count, -1);
  CAF_CHECK_EQUAL(reply.owner_node, "node-a");
  CAF_CHECK_EQUAL(reply.seq, 0u);
  sched.run();
  CAF_CHECK(seen(p).events.empty());
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
}

CAF_TEST(a presence join is answered with the roster including the joiner) {
  start("presence-room");
  auto p = probe();
  auto r1 = join(p, presence_join("node-a", "1.1", "u1", R"({"name":"Ann"})"));
  CAF_CHECK(r1.ok);
  CAF_CHECK_EQUAL(roster(r1.members), strings({R"(u1={"name":"Ann"})"}));
  auto r2 = join(p, presence_join("node-a", "1.2", "u2"));
  CAF_CHECK(r2.ok);
  CAF_CHECK_EQUAL(roster(r2.members),
                  strings({R"(u1={"name":"Ann"})", "u2="}));
  sched.run();
  auto s = stats();
  CAF_CHECK_EQUAL(s.subscribers, 2u);
  CAF_CHECK_EQUAL(s.members, 2u);
  CAF_CHECK_EQUAL(s.seq, 2u); // two member_added events
}

CAF_TEST(an owner numbers on from the sequence base it is given) {
  start("room", 1000);
  auto p = probe();
  auto reply = join(p, public_join("node-b", "2.1"));
  CAF_CHECK_EQUAL(reply.seq, 1000u);
  publish(published("ev", "x"));
  auto ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.seq, 1001u);
  CAF_CHECK_EQUAL(ev.origin, "node-a");
}

CAF_TEST(a publish its publisher gave up on is not numbered) {
  start("room");
  auto p = probe();
  join(p, public_join("node-b", "2.1"));
  sched.run();
  auto before = seen(p).events.size();
  auto late = published("late", "x");
  late.give_up_ms = 1; // long past: the publisher asked a successor
  auto err = ask_error<publish_ack>(owner, late);
  CAF_CHECK(err == caf::sec::request_timeout);
  sched.run();
  CAF_CHECK_EQUAL(seen(p).events.size(), before);
  // One with time left is numbered as usual.
  auto on_time = published("on-time", "x");
  on_time.give_up_ms = std::numeric_limits<uint64_t>::max();
  auto ack = ask<publish_ack>(owner, on_time);
  CAF_CHECK_EQUAL(ack.seq, 1u);
}

CAF_TEST(a full presence channel refuses a new user with 4100) {
  ctx->app.limits.max_presence_members = 2;
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1"));
  join(p, presence_join("node-a", "1.2", "u2"));
  sched.run();
  auto events_before = seen(p).events.size();
  auto refused = join(p, presence_join("node-a", "1.3", "u3"));
  CAF_CHECK(!refused.ok);
  CAF_CHECK_EQUAL(refused.status, 4100);
  CAF_CHECK_EQUAL(refused.error_type, "LimitReached");
  CAF_CHECK(!refused.error.empty());
  sched.run();
  CAF_CHECK_EQUAL(seen(p).events.size(), events_before);
  auto s = stats();
  CAF_CHECK_EQUAL(s.subscribers, 2u);
  CAF_CHECK_EQUAL(s.members, 2u);
  // A member's further connection still fits.
  auto again = join(p, presence_join("node-a", "1.4", "u1"));
  CAF_CHECK(again.ok);
}

CAF_TEST(the owner reports its channel and users) {
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u2"));
  join(p, presence_join("node-b", "2.1", "u1"));
  join(p, presence_join("node-b", "2.2", "u1"));
  auto report = ask<channel_report>(owner, caf::get_atom::value);
  CAF_CHECK_EQUAL(report.name, "presence-room");
  CAF_CHECK(report.occupied);
  CAF_CHECK_EQUAL(report.subscription_count, 3u);
  CAF_CHECK_EQUAL(report.user_count, 2u);
  CAF_CHECK(!report.cache_hit);
  CAF_CHECK_EQUAL(ask<strings>(owner, users_atom::value),
                  strings({"u1", "u2"}));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- member and count events --------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(owner_events, fixture)

CAF_TEST(member_added follows the reply and excludes the joiner) {
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1", R"({"name":"Ann"})"));
  auto ev = next_delivery(p);
  CAF_CHECK(ev.kind == event_kind::member_added);
  CAF_CHECK_EQUAL(ev.event, "pusher_internal:member_added");
  CAF_CHECK_EQUAL(ev.user_id, "u1");
  CAF_CHECK_EQUAL(ev.data, R"({"name":"Ann"})");
  CAF_CHECK_EQUAL(ev.exclude, "1.1");
  CAF_CHECK_EQUAL(ev.seq, 1u);
  CAF_CHECK_EQUAL(ev.origin, "node-a");
}

CAF_TEST(member_added is sent only for the first connection of a user) {
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1"));
  next_delivery(p);
  join(p, presence_join("node-a", "1.2", "u1"));
  disallow((channel_event), from(owner).to(p));
  sched.run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 1u);
  // The same user on another node is not a new member either.
  auto p2 = probe();
  join(p2, presence_join("node-b", "2.1", "u1"));
  sched.run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 1u);
  CAF_CHECK(seen(p2).events.empty());
  CAF_CHECK_EQUAL(member_count(), 1u);
}

CAF_TEST(member_removed is sent only when the last connection leaves) {
  start("presence-room");
  auto p = probe();
  auto other = presence_join("node-a", "1.9", "u9");
  auto first = presence_join("node-a", "1.1", "u1", R"({"name":"Ann"})");
  auto second = presence_join("node-a", "1.2", "u1", R"({"name":"Ann"})");
  join(p, other);
  join(p, first);
  join(p, second);
  sched.run();
  auto events_before = seen(p).events.size();
  leave(p, leave_of(first));
  sched.run();
  CAF_CHECK_EQUAL(seen(p).events.size(), events_before);
  CAF_CHECK_EQUAL(member_count(), 2u);
  leave(p, leave_of(second));
  auto ev = next_delivery(p);
  CAF_CHECK(ev.kind == event_kind::member_removed);
  CAF_CHECK_EQUAL(ev.user_id, "u1");
  CAF_CHECK_EQUAL(member_count(), 1u);
}

CAF_TEST(member_removed reaches the remaining subscribers without exclusion) {
  start("presence-room");
  auto p = probe();
  auto ann = presence_join("node-a", "1.1", "u1");
  auto bob = presence_join("node-a", "1.2", "u2");
  join(p, ann);
  join(p, bob);
  sched.run();
  seen(p).events.clear();
  leave(p, leave_of(ann));
  auto ev = next_delivery(p);
  CAF_CHECK(ev.kind == event_kind::member_removed);
  CAF_CHECK_EQUAL(ev.event, "pusher_internal:member_removed");
  CAF_CHECK_EQUAL(ev.user_id, "u1");
  CAF_CHECK(ev.exclude.empty());
  sched.run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 1u);
}

CAF_TEST(subscription_count follows joins and leaves when enabled) {
  ctx->app.enable_subscription_count = true;
  start("room");
  auto p = probe();
  auto s1 = public_join("node-a", "1.1");
  auto s2 = public_join("node-a", "1.2");
  auto r1 = join(p, s1);
  // The joiner gets its count with the reply...
  CAF_CHECK_EQUAL(r1.subscription_count, 1);
  auto ev = next_delivery(p);
  CAF_CHECK(ev.kind == event_kind::subscription_count);
  CAF_CHECK_EQUAL(ev.event, "pusher_internal:subscription_count");
  CAF_CHECK_EQUAL(ev.count, 1u);
  // ...so the broadcast skips it.
  CAF_CHECK_EQUAL(ev.exclude, "1.1");
  join(p, s2);
  ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.count, 2u);
  leave(p, leave_of(s1));
  ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.count, 1u);
  CAF_CHECK(ev.exclude.empty());
  sched.run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 3u);
}

CAF_TEST(subscription_count is not sent when disabled) {
  start("room");
  auto p = probe();
  auto reply = join(p, public_join("node-a", "1.1"));
  CAF_CHECK_EQUAL(reply.subscription_count, -1);
  disallow((channel_event), from(owner).to(p));
  sched.run();
  CAF_CHECK(seen(p).events.empty());
}

CAF_TEST(subscription_count is never sent on presence channels) {
  ctx->app.enable_subscription_count = true;
  start("presence-room");
  auto p = probe();
  auto reply = join(p, presence_join("node-a", "1.1", "u1"));
  CAF_CHECK_EQUAL(reply.subscription_count, -1);
  join(p, presence_join("node-a", "1.2", "u2"));
  sched.run();
  for (auto& ev : seen(p).events)
    CAF_CHECK(ev.kind == event_kind::member_added);
  CAF_CHECK_EQUAL(seen(p).events.size(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- fan-out and ordering -----------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(owner_fan_out, fixture)

CAF_TEST(sequence numbers increase by one per event) {
  ctx->app.enable_subscription_count = true;
  start("private-room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  publish(published("a", "1"));
  publish(published("b", "2"));
  self->send(p, client_event{"client-c", R"({"x":3})", "1.1", ""});
  sched.run();
  auto& events = seen(p).events;
  CAF_REQUIRE_EQUAL(events.size(), 4u);
  CAF_CHECK(events[0].kind == event_kind::subscription_count);
  CAF_CHECK_EQUAL(events[1].event, "a");
  CAF_CHECK_EQUAL(events[2].event, "b");
  CAF_CHECK_EQUAL(events[3].event, "client-c");
  for (size_t i = 0; i < events.size(); ++i)
    CAF_CHECK_EQUAL(events[i].seq, i + 1);
  CAF_CHECK_EQUAL(last_seq(), 4u);
}

CAF_TEST(a publish is acknowledged with its number) {
  start("room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  CAF_CHECK_EQUAL(ask<publish_ack>(owner, published("a", "1")).seq, 1u);
  CAF_CHECK_EQUAL(ask<publish_ack>(owner, published("b", "2")).seq, 2u);
}

CAF_TEST(published events keep their data and exclusion) {
  start("room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  auto pe = published("news", "plain text", "1.7");
  // Whatever the caller said, a publish is a message.
  pe.event.kind = event_kind::client;
  publish(pe);
  auto ev = next_delivery(p);
  CAF_CHECK(ev.kind == event_kind::message);
  CAF_CHECK_EQUAL(ev.event, "news");
  CAF_CHECK_EQUAL(ev.data, "plain text");
  CAF_CHECK_EQUAL(ev.exclude, "1.7");
}

CAF_TEST(alone the owner hands events to the channel of every node) {
  start("room");
  auto pa = probe();
  auto pb = probe();
  auto a1 = public_join("node-a", "1.1");
  join(pa, a1);
  join(pb, public_join("node-b", "2.1"));
  publish(published("one", "1"));
  sched.run();
  CAF_CHECK_EQUAL(seen(pa).events.size(), 1u);
  CAF_CHECK_EQUAL(seen(pb).events.size(), 1u);
  // node-a lost its last subscriber: it gets nothing further.
  leave(pa, leave_of(a1));
  publish(published("two", "2"));
  sched.run();
  CAF_CHECK_EQUAL(seen(pa).events.size(), 1u);
  CAF_REQUIRE_EQUAL(seen(pb).events.size(), 2u);
  CAF_CHECK_EQUAL(seen(pb).events.back().event, "two");
  CAF_CHECK(!terminated(owner));
}

CAF_TEST(in a cluster other nodes get events through one bridge message) {
  with_bridge();
  start("room");
  auto pa = probe();
  auto pb = probe();
  auto pc = probe();
  join(pa, public_join("node-a", "1.1"));
  join(pb, public_join("node-b", "2.1"));
  join(pc, public_join("node-c", "3.1"));
  publish(published("one", "1", "2.1"));
  sched.run();
  // This node's channel directly, the others through the bus.
  CAF_REQUIRE_EQUAL(seen(pa).events.size(), 1u);
  CAF_CHECK(seen(pb).events.empty());
  CAF_CHECK(seen(pc).events.empty());
  auto& outs = bridge_seen().fan_outs;
  CAF_REQUIRE_EQUAL(outs.size(), 1u);
  CAF_CHECK_EQUAL(outs[0].app_id, "app-1");
  CAF_CHECK_EQUAL(outs[0].channel, "room");
  CAF_CHECK_EQUAL(outs[0].event.seq, 1u);
  CAF_CHECK_EQUAL(outs[0].event.event, "one");
  CAF_CHECK_EQUAL(outs[0].event.exclude, "2.1");
  CAF_CHECK_EQUAL(outs[0].event.origin, "node-a");
  // While the bridge restarts, this node owns everything alone.
  caf::anon_send(owner, bridge_changed{});
  publish(published("two", "2"));
  sched.run();
  CAF_CHECK_EQUAL(seen(pb).events.size(), 1u);
  CAF_CHECK_EQUAL(seen(pc).events.size(), 1u);
  CAF_CHECK_EQUAL(outs.size(), 1u);
}

CAF_TEST(events for this node alone need no bridge message) {
  with_bridge();
  start("room");
  auto pa = probe();
  join(pa, public_join("node-a", "1.1"));
  publish(published("one", "1"));
  sched.run();
  CAF_CHECK_EQUAL(seen(pa).events.size(), 1u);
  CAF_CHECK(bridge_seen().fan_outs.empty());
}

CAF_TEST(presence client events carry the user id and exclude the sender) {
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1"));
  join(p, presence_join("node-a", "1.2", "u2"));
  sched.run();
  seen(p).events.clear();
  self->send(p, client_event{"client-typing", R"({"on":true})", "1.1", "u1"});
  expect((client_event), from(self).to(p));
  expect((client_event), from(p).to(owner));
  auto ev = next_delivery(p);
  CAF_CHECK(ev.kind == event_kind::client);
  CAF_CHECK_EQUAL(ev.event, "client-typing");
  CAF_CHECK_EQUAL(ev.data, R"({"on":true})");
  CAF_CHECK_EQUAL(ev.user_id, "u1");
  CAF_CHECK_EQUAL(ev.exclude, "1.1");
}

CAF_TEST(private client events drop the user id and exclude the sender) {
  start("private-room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  join(p, public_join("node-a", "1.2"));
  self->send(p, client_event{"client-typing", "[1,2]", "1.2", "u-sneaky"});
  sched.run();
  CAF_REQUIRE_EQUAL(seen(p).events.size(), 1u);
  auto& ev = seen(p).events.front();
  CAF_CHECK(ev.kind == event_kind::client);
  CAF_CHECK(ev.user_id.empty());
  CAF_CHECK_EQUAL(ev.exclude, "1.2");
}

CAF_TEST(a moved node is served for a grace period then forgotten silently) {
  start("room");
  auto pa = probe();
  auto pb = probe();
  join(pa, public_join("node-a", "1.1"));
  join(pb, public_join("node-b", "2.1"));
  join(pb, public_join("node-b", "2.2"));
  self->send(pb, node_moved{"node-b"});
  sched.run();
  // Callers with an older view still reach node-b through us for a moment.
  publish(published("one", "1"));
  sched.run();
  CAF_CHECK_EQUAL(seen(pb).events.size(), 1u);
  CAF_CHECK_EQUAL(subscriber_count(), 3u);
  advance_time(2s);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
  publish(published("two", "2"));
  sched.run();
  CAF_CHECK_EQUAL(seen(pb).events.size(), 1u);
  CAF_CHECK_EQUAL(seen(pa).events.size(), 2u);
}

CAF_TEST(a moved node that came back is not forgotten) {
  start("room");
  auto pb = probe();
  join(pb, public_join("node-b", "2.1"));
  self->send(pb, node_moved{"node-b"});
  sched.run();
  // The ring moved the channel back before the grace ended.
  sync(pb, sync_of("node-b", 1));
  advance_time(2s);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- the cache ----------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(owner_cache, fixture)

CAF_TEST(a cache channel join before any publish is a cache miss) {
  start("cache-news");
  auto p = probe();
  auto reply = join(p, public_join("node-a", "1.1"));
  CAF_CHECK(reply.ok);
  CAF_CHECK(!reply.cache_hit);
}

CAF_TEST(a cache channel keeps the last published event for later joins) {
  start("cache-news");
  publish(published("first", "1"));
  publish(published("second", R"({"n":2})"));
  // Cached: no subscribers, yet the owner stays.
  sched.run();
  CAF_CHECK(!terminated(owner));
  auto p = probe();
  auto reply = join(p, public_join("node-a", "1.1"));
  CAF_CHECK(reply.ok);
  CAF_CHECK(reply.cache_hit);
  CAF_CHECK_EQUAL(reply.cache_event, "second");
  CAF_CHECK_EQUAL(reply.cache_data, R"({"n":2})");
  CAF_CHECK(reply.members.empty());
}

CAF_TEST(a presence cache channel answers with the roster and the cache) {
  start("presence-cache-room");
  auto p = probe();
  publish(published("ev", "d"));
  auto reply = join(p, presence_join("node-a", "1.1", "u1"));
  CAF_CHECK(reply.cache_hit);
  CAF_CHECK_EQUAL(reply.cache_data, "d");
  CAF_CHECK_EQUAL(roster(reply.members), strings({"u1="}));
}

CAF_TEST(a cached event expires after cache_ttl_s and the idle owner ends) {
  ctx->app.limits.cache_ttl_s = 60;
  start("cache-news");
  self->monitor(owner);
  publish(published("ev", "d"));
  auto report = ask<channel_report>(owner, caf::get_atom::value);
  CAF_CHECK(report.cache_hit);
  CAF_CHECK_EQUAL(report.cache_event, "ev");
  CAF_CHECK_EQUAL(report.cache_ttl_s, 60u);
  CAF_CHECK(!report.occupied);
  advance_time(59s);
  sched.run();
  CAF_CHECK(!terminated(owner));
  // The fake clock passes the TTL: the expire tick ends the idle owner.
  advance_time(2s);
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.source == owner.address());
  CAF_CHECK(!down.reason);
}

CAF_TEST(an expired cache misses for later joins) {
  ctx->app.limits.cache_ttl_s = 60;
  start("cache-news");
  auto p = probe();
  publish(published("ev", "d"));
  CAF_CHECK(join(p, public_join("node-a", "1.1")).cache_hit);
  advance_time(61s);
  sched.run();
  CAF_CHECK(!join(p, public_join("node-a", "1.2")).cache_hit);
  CAF_CHECK(!ask<channel_report>(owner, caf::get_atom::value).cache_hit);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- the owner ends itself when idle ------------------------------------------

CAF_TEST_FIXTURE_SCOPE(owner_idle_end, fixture)

CAF_TEST(a publish on a non-cache channel without subscribers ends the owner) {
  start("room");
  self->monitor(owner);
  publish(published("ev", "d"));
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.source == owner.address());
  CAF_CHECK(!down.reason);
}

CAF_TEST(the last leave ends the owner and earlier leaves do not) {
  start("room");
  self->monitor(owner);
  auto p = probe();
  auto s1 = public_join("node-a", "1.1");
  auto s2 = public_join("node-a", "1.2");
  join(p, s1);
  join(p, s2);
  leave(p, leave_of(s1));
  sched.run();
  CAF_CHECK(!terminated(owner));
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
  leave(p, leave_of(s2));
  sched.run();
  CAF_CHECK(terminated(owner));
  CAF_CHECK(!pop_down().reason);
}

CAF_TEST(a leave from an unknown node changes nothing) {
  start("room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  leave(p, leave_of(public_join("node-z", "9.9")));
  sched.run();
  CAF_CHECK(!terminated(owner));
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
}

CAF_TEST(an empty sync ends an owner that has nothing else) {
  start("room");
  auto p = probe();
  self->send(p, sync_of("node-b", 0));
  sched.run();
  CAF_CHECK(terminated(owner));
}

CAF_TEST(crash_atom ends the owner with an error) {
  start("room");
  self->monitor(owner);
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  caf::anon_send(owner, crash_atom::value);
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.reason);
  // Without app logic there is no logic to crash beside it.
  start("room");
  auto err = ask_error<caf::ok_atom>(owner, crash_request{"app-1", "logic",
                                                          "x"});
  CAF_CHECK(err == errc::not_available);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- webhooks -----------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(owner_webhooks, fixture)

CAF_TEST(occupied and vacated webhooks fire once per transition) {
  with_webhooks();
  start("room");
  auto p = probe();
  auto s1 = public_join("node-a", "1.1");
  auto s2 = public_join("node-b", "2.1");
  join(p, s1);
  join(p, s2);
  leave(p, leave_of(s1));
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(), strings({"channel_occupied"}));
  leave(p, leave_of(s2));
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(),
                  strings({"channel_occupied", "channel_vacated"}));
  CAF_CHECK_EQUAL(webhook_events()[1].channel, "room");
}

CAF_TEST(member webhooks fire on first join and last leave only) {
  with_webhooks();
  start("presence-room");
  auto p = probe();
  auto a = presence_join("node-a", "1.1", "u1");
  auto b = presence_join("node-a", "1.2", "u1");
  join(p, a);
  join(p, b);
  leave(p, leave_of(a));
  leave(p, leave_of(b));
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(),
                  strings({"channel_occupied", "member_added",
                           "member_removed", "channel_vacated"}));
  CAF_CHECK_EQUAL(webhook_events()[1].user_id, "u1");
  CAF_CHECK_EQUAL(webhook_events()[2].user_id, "u1");
}

CAF_TEST(the cache_miss webhook fires once until the next publish) {
  with_webhooks();
  start("cache-news");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  join(p, public_join("node-a", "1.2"));
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(), strings({"cache_miss", "channel_occupied"}));
}

CAF_TEST(client event webhooks carry the user id only on presence channels) {
  with_webhooks();
  start("private-room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  self->send(p, client_event{"client-a", "{}", "1.1", "u1"});
  sched.run();
  auto& events = webhook_events();
  CAF_REQUIRE_EQUAL(events.size(), 2u);
  CAF_CHECK_EQUAL(events[1].name, "client_event");
  CAF_CHECK_EQUAL(events[1].event, "client-a");
  CAF_CHECK_EQUAL(events[1].data, "{}");
  CAF_CHECK_EQUAL(events[1].socket_id, "1.1");
  CAF_CHECK(events[1].user_id.empty());
}

CAF_TEST(subscription_count webhooks carry the count) {
  ctx->app.enable_subscription_count = true;
  with_webhooks();
  start("room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  join(p, public_join("node-a", "1.2"));
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(),
                  strings({"channel_occupied", "subscription_count",
                           "subscription_count"}));
  CAF_CHECK_EQUAL(webhook_events()[2].subscription_count, 2);
}

CAF_TEST(internal watchlist channels send no webhooks) {
  with_webhooks();
  start("#watchlist-u1");
  auto p = probe();
  auto own = presence_join("node-a", "1.1", "u1");
  join(p, own);
  leave(p, leave_of(own));
  sched.run();
  CAF_CHECK(webhook_events().empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- syncs, lost channels and rebuilds ----------------------------------------

CAF_TEST_FIXTURE_SCOPE(owner_sync, fixture)

CAF_TEST(a sync sets the state of a node silently and repeating it changes nothing) {
  start("presence-room");
  auto p = probe();
  auto members = std::vector<roster_entry>{{"u1", "{}"}, {"u1", "{}"},
                                           {"u2", ""}};
  for (int i = 0; i < 2; ++i) {
    sync(p, sync_of("node-b", 3, members));
    CAF_CHECK_EQUAL(subscriber_count(), 3u);
    CAF_CHECK_EQUAL(member_count(), 2u);
  }
  CAF_CHECK(seen(p).events.empty());
  CAF_REQUIRE_EQUAL(seen(p).synced.size(), 2u);
  CAF_CHECK_EQUAL(seen(p).synced.back().owner_node, "node-a");
  CAF_CHECK_EQUAL(seen(p).synced.back().seq, 0u);
}

CAF_TEST(a sync without a user removes it after the grace period) {
  start("presence-room");
  auto p = probe();
  auto q = probe();
  join(q, presence_join("node-a", "1.1", "u9"));
  sched.run();
  sync(p, sync_of("node-b", 2, {{"u1", "{}"}, {"u2", ""}}));
  auto before = seen(q).events.size();
  sync(p, sync_of("node-b", 1, {{"u1", "{}"}}));
  sched.run();
  CAF_CHECK_EQUAL(seen(q).events.size(), before);
  advance_time(3s);
  sched.run();
  CAF_CHECK_EQUAL(member_count(), 2u);
  CAF_REQUIRE_EQUAL(seen(q).events.size(), before + 1);
  CAF_CHECK(seen(q).events.back().kind == event_kind::member_removed);
  CAF_CHECK_EQUAL(seen(q).events.back().user_id, "u2");
}

CAF_TEST(a rebuilt owner removes known members that no node has) {
  start("presence-room");
  auto p = probe();
  // The edge's clients know u1 (here) and u2 (lived on the dead owner).
  sync(p, sync_of("node-b", 1, {{"u1", "{}"}}, {"u1", "u2"}));
  sched.run();
  CAF_CHECK_EQUAL(member_count(), 1u);
  advance_time(3s);
  sched.run();
  CAF_REQUIRE_EQUAL(seen(p).events.size(), 1u);
  CAF_CHECK(seen(p).events[0].kind == event_kind::member_removed);
  CAF_CHECK_EQUAL(seen(p).events[0].user_id, "u2");
}

CAF_TEST(an owner tells its directory who occupies a webhook apps channel) {
  with_webhooks();
  start("presence-room");
  auto p = probe();
  auto& kept = state_of<test::fake_directory_state>(dir).occupancy;
  auto a = presence_join("node-a", "1.1", "u1");
  join(p, a);
  sched.run();
  CAF_REQUIRE(!kept.empty());
  CAF_CHECK(kept.back().occupied);
  CAF_CHECK_EQUAL(kept.back().members, strings({"u1"}));
  leave(p, leave_of(a));
  sched.run();
  CAF_CHECK(!kept.back().occupied);
  CAF_CHECK(kept.back().members.empty());
}

CAF_TEST(an app without webhooks keeps no occupancy copies) {
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1"));
  sched.run();
  CAF_CHECK(state_of<test::fake_directory_state>(dir).occupancy.empty());
}

CAF_TEST(a dead owner nodes copy removes members not back and keeps the occupied) {
  with_webhooks();
  start("presence-room");
  auto p = probe();
  self->send(owner, lost_owner_copy{{"u1", "u2"}});
  // node-b still has u2: it syncs within the grace.
  sync(p, sync_of("node-b", 1, {{"u2", "{}"}}));
  advance_time(2s);
  sched.run();
  CAF_CHECK(webhook_names().empty());
  advance_time(2s);
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(), strings({"member_removed"}));
  CAF_CHECK_EQUAL(webhook_events()[0].user_id, "u1");
  CAF_CHECK_EQUAL(member_count(), 1u);
  // A second standby's copy of the same loss changes nothing.
  self->send(owner, lost_owner_copy{{"u1", "u3"}});
  advance_time(4s);
  sched.run();
  CAF_CHECK_EQUAL(webhook_events().size(), 1u);
}

CAF_TEST(a member a sync names as lost goes before the copys longer grace) {
  with_webhooks();
  start("presence-room");
  auto p = probe();
  self->send(owner, lost_owner_copy{{"u1", "u2"}});
  sched.run();
  // A surviving node's clients knew u1 (lived on the dead node).
  sync(p, sync_of("node-b", 1, {{"u2", "{}"}}, {"u1", "u2"}));
  advance_time(1500ms);
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(), strings({"member_removed"}));
  CAF_CHECK_EQUAL(webhook_events()[0].user_id, "u1");
  advance_time(3s);
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(), strings({"member_removed"}));
}

CAF_TEST(a dead owner nodes copy with nobody back vacates and the owner ends) {
  with_webhooks();
  start("room");
  self->send(owner, lost_owner_copy{{}});
  sched.run();
  CAF_CHECK(!terminated(owner));
  advance_time(4s);
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(), strings({"channel_vacated"}));
  CAF_CHECK(terminated(owner));
}

CAF_TEST(an owner older than the rebuild ignores a stale copy) {
  with_webhooks();
  start("room");
  auto p = probe();
  join(p, public_join("node-b", "2.1"));
  advance_time(11s);
  sched.run();
  self->send(owner, lost_owner_copy{{"u1"}});
  advance_time(4s);
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(), strings({"channel_occupied"}));
}

CAF_TEST(a node whose clients lost a member hears member_added again) {
  start("presence-room");
  auto p = probe();
  auto q = probe();
  join(q, presence_join("node-a", "1.1", "u9"));
  sync(p, sync_of("node-b", 1, {{"u1", "{}"}}, {"u1", "u9"}));
  sched.run();
  auto before = seen(p).events.size();
  // Another owner, while the cluster was split, told node-b's clients u9
  // left: its next sync does not list u9, which is still a member here.
  self->send(p, sync_of("node-b", 1, {{"u1", "{}"}}, {"u1"}));
  sched.run();
  CAF_REQUIRE_EQUAL(seen(p).events.size(), before + 1);
  CAF_CHECK(seen(p).events.back().kind == event_kind::member_added);
  CAF_CHECK_EQUAL(seen(p).events.back().user_id, "u9");
  CAF_CHECK_EQUAL(member_count(), 2u);
}

CAF_TEST(a rebuilt owner tells the new count once the syncs came in) {
  ctx->app.enable_subscription_count = true;
  start("room");
  auto pa = probe();
  auto pb = probe();
  sync(pa, sync_of("node-a", 2));
  sync(pb, sync_of("node-b", 3));
  sched.run();
  CAF_CHECK(seen(pa).events.empty());
  advance_time(500ms);
  sched.run();
  CAF_REQUIRE_EQUAL(seen(pa).events.size(), 1u);
  CAF_CHECK(seen(pa).events[0].kind == event_kind::subscription_count);
  CAF_CHECK_EQUAL(seen(pa).events[0].count, 5u);
  CAF_CHECK_EQUAL(seen(pb).events.size(), 1u);
}

CAF_TEST(members of a crashed channel that re-join in time never left) {
  with_webhooks();
  start("presence-room");
  auto pa = probe();
  auto pb = probe();
  join(pa, presence_join("node-a", "1.1", "u1"));
  join(pb, presence_join("node-b", "2.1", "u2"));
  sched.run();
  auto events_before = seen(pa).events.size();
  // node-b's channel crashes: its members get a grace period.
  caf::anon_send_exit(pb, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK(!terminated(owner));
  CAF_CHECK_EQUAL(member_count(), 1u);
  // Its connection re-joins the replacement silently.
  auto pb2 = probe();
  auto again = presence_join("node-b", "2.1", "u2");
  again.rejoin = true;
  auto reply = join(pb2, again);
  CAF_CHECK(reply.ok);
  CAF_CHECK_EQUAL(reply.subscription_count, -1);
  advance_time(3s);
  sched.run();
  CAF_CHECK_EQUAL(seen(pa).events.size(), events_before);
  CAF_CHECK(seen(pb2).events.empty());
  CAF_CHECK_EQUAL(member_count(), 2u);
  CAF_CHECK_EQUAL(subscriber_count(), 2u);
  for (auto& name : webhook_names())
    CAF_CHECK_NOT_EQUAL(name, "member_removed");
}

CAF_TEST(a replacement channel that joins before the down message of the old one replaces its count) {
  with_webhooks();
  start("room");
  auto pa = probe();
  auto pb = probe();
  auto sa = public_join("node-a", "1.1");
  auto sb = public_join("node-b", "2.1");
  join(pa, sa);
  join(pb, sb);
  sched.run();
  // node-b's channel crashed, but its replacement's re-join comes before the
  // down message (a remote node's may come later; once unwatched, never).
  auto pb2 = probe();
  auto again = sb;
  again.rejoin = true;
  CAF_CHECK(join(pb2, again).ok);
  CAF_CHECK_EQUAL(subscriber_count(), 2u);
  caf::anon_send_exit(pb, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(subscriber_count(), 2u);
  leave(pa, leave_of(sa));
  leave(pb2, leave_of(sb));
  sched.run();
  CAF_CHECK_EQUAL(webhook_names(),
                  strings({"channel_occupied", "channel_vacated"}));
}

CAF_TEST(members of a crashed channel that do not come back leave) {
  start("presence-room");
  auto pa = probe();
  auto pb = probe();
  join(pa, presence_join("node-a", "1.1", "u1"));
  join(pb, presence_join("node-b", "2.1", "u2"));
  sched.run();
  seen(pa).events.clear();
  caf::anon_send_exit(pb, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK(seen(pa).events.empty());
  advance_time(2s);
  sched.run();
  CAF_REQUIRE_EQUAL(seen(pa).events.size(), 1u);
  CAF_CHECK(seen(pa).events[0].kind == event_kind::member_removed);
  CAF_CHECK_EQUAL(seen(pa).events[0].user_id, "u2");
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
}

CAF_TEST(departing members keep an otherwise idle owner until they leave) {
  start("presence-room");
  self->monitor(owner);
  auto pb = probe();
  join(pb, presence_join("node-b", "2.1", "u2"));
  // The node died (its link broke): no replacement comes for a replay.
  caf::anon_send_exit(pb, caf::exit_reason::remote_link_unreachable);
  sched.run();
  CAF_CHECK(!terminated(owner));
  advance_time(500ms);
  sched.run();
  CAF_CHECK(terminated(owner));
}

CAF_TEST(an owner whose every channel crashed keeps its events for the replacements) {
  // Every node's channel crashed at once: the owner has nobody, but the
  // replacements come back for what it numbers meanwhile. A fresh owner
  // would number anew and those events would be gone unnoticed.
  start("room");
  self->monitor(owner);
  auto pa = probe();
  join(pa, public_join("node-a", "1.1"));
  auto before = stats().seq;
  caf::anon_send_exit(pa, caf::exit_reason::user_shutdown);
  sched.run();
  publish(published("one", "1"));
  publish(published("two", "2"));
  advance_time(2s);
  sched.run();
  CAF_CHECK(!terminated(owner));
  auto replay = ask<replay_events>(owner, replay_request{before});
  CAF_CHECK(replay.complete);
  CAF_REQUIRE_EQUAL(replay.events.size(), 2u);
  CAF_CHECK_EQUAL(replay.events[0].event, "one");
  CAF_CHECK_EQUAL(replay.events[1].event, "two");
  // Nobody came back within the window: it ends.
  advance_time(8s);
  sched.run();
  CAF_CHECK(terminated(owner));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- handoff and forwarding ---------------------------------------------------

namespace {

struct handoff_fixture : fixture {
  owner_actor old_owner;
  owner_actor successor;
  caf::actor node_c;

  /// Spawns the successor on node-c and a fake node-c that passes the
  /// handoff to it.
  void spawn_successor(const std::string& channel) {
    auto succ_ctx = test::make_context();
    succ_ctx->node_id = "node-c";
    auto s = start_of(channel);
    s.ctx = succ_ctx;
    successor = caf::actor_cast<owner_actor>(
      spawn_tracked(channel_owner_behavior, std::move(s)));
    node_c = spawn_tracked(test::fake_node,
                           caf::actor_cast<caf::actor>(successor));
    sched.run();
  }

  /// Moves the channel from `owner` to the successor; jobs only: the
  /// forwarder's 30 s idle timer must not fire.
  void hand_off_now() {
    old_owner = owner;
    self->send(owner, hand_off{caf::actor_cast<node_actor>(node_c)});
    sched.run();
    pop_self<caf::ok_atom>();
    owner = successor;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(owner_handoff_tests, handoff_fixture)

CAF_TEST(a handoff moves the state and the old owner forwards) {
  start("presence-cache-room");
  auto p = probe();
  join(p, presence_join("node-b", "2.1", "u1", R"({"n":1})"));
  publish(published("ev", "cached"));
  sched.run();
  auto seq_before = last_seq();
  CAF_CHECK_EQUAL(seq_before, 2u); // member_added + the event
  spawn_successor("presence-cache-room");
  hand_off_now();
  // A publish that reaches the old owner is ordered by the successor and
  // continues the numbers; the successor knows node-b's channel.
  auto before = seen(p).events.size();
  caf::anon_send(old_owner, published("ev2", "x"));
  sched.run();
  CAF_REQUIRE_EQUAL(seen(p).events.size(), before + 1);
  CAF_CHECK_EQUAL(seen(p).events.back().event, "ev2");
  CAF_CHECK_EQUAL(seen(p).events.back().seq, seq_before + 1);
  CAF_CHECK_EQUAL(seen(p).events.back().origin, "node-c");
  // The cached event and the member came along.
  auto q = probe();
  auto reply = join(q, presence_join("node-c", "3.1", "u2"));
  CAF_CHECK(reply.cache_hit);
  CAF_CHECK_EQUAL(reply.cache_data, "x");
  CAF_CHECK_EQUAL(roster(reply.members), strings({R"(u1={"n":1})", "u2="}));
  auto s = stats();
  CAF_CHECK_EQUAL(s.subscribers, 2u);
  CAF_CHECK_EQUAL(s.members, 2u);
  CAF_CHECK_EQUAL(s.seq, seq_before + 2); // ev2, member_added u2
  // The directory learned where the channel went.
  auto& handed = state_of<test::fake_directory_state>(dir).handed_off;
  CAF_REQUIRE_EQUAL(handed.size(), 1u);
  CAF_CHECK_EQUAL(handed[0].channel, "presence-cache-room");
  CAF_CHECK(handed[0].successor == successor);
  // Queries at the old owner are answered by the successor too.
  CAF_CHECK_EQUAL(ask<owner_stats>(old_owner, stats_atom::value).subscribers,
                  2u);
}

CAF_TEST(a handoff keeps the state a node synced itself) {
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-b", "2.1", "u1"));
  sched.run();
  spawn_successor("presence-room");
  // node-b already told the successor it has two users now.
  auto q = spawn_tracked(test::fake_channel,
                         caf::actor_cast<caf::actor>(successor));
  sched.run();
  self->send(q, sync_of("node-b", 2, {{"u1", ""}, {"u3", ""}}));
  sched.run();
  hand_off_now();
  CAF_CHECK_EQUAL(subscriber_count(), 2u);
  CAF_CHECK_EQUAL(member_count(), 2u);
}

CAF_TEST(a forwarder ends with its successor) {
  start("room");
  auto p = probe();
  join(p, public_join("node-b", "2.1"));
  spawn_successor("room");
  hand_off_now();
  self->monitor(old_owner);
  CAF_CHECK(!terminated(old_owner));
  caf::anon_send_exit(successor, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK(terminated(old_owner));
}

CAF_TEST(a forwarder ends after 30 s without callers) {
  start("room");
  auto p = probe();
  join(p, public_join("node-b", "2.1"));
  spawn_successor("room");
  hand_off_now();
  advance_time(29s);
  sched.run();
  CAF_CHECK(!terminated(old_owner));
  advance_time(1s);
  sched.run();
  CAF_CHECK(terminated(old_owner));
  CAF_CHECK(!terminated(successor));
}

CAF_TEST(a handoff answered with this owner keeps it owning) {
  start("room");
  auto p = probe();
  join(p, public_join("node-b", "2.1"));
  // The node named in the handoff redirects it back here.
  auto back = spawn_tracked(
    [o = owner](caf::event_based_actor*) -> caf::behavior {
      return {[o](owner_handoff&) { return owner_ref{o}; }};
    });
  sched.run();
  self->send(owner, hand_off{caf::actor_cast<node_actor>(back)});
  sched.run();
  pop_self<caf::ok_atom>();
  CAF_CHECK(state_of<test::fake_directory_state>(dir).handed_off.empty());
  publish(published("ev", "x"));
  sched.run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 1u);
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
}

CAF_TEST(a failed handoff keeps the owner owning) {
  start("room");
  auto p = probe();
  join(p, public_join("node-b", "2.1"));
  auto gone = spawn_tracked(test::fake_node, caf::actor{});
  caf::anon_send_exit(gone, caf::exit_reason::kill);
  sched.run();
  self->send(owner, hand_off{caf::actor_cast<node_actor>(gone)});
  sched.run();
  pop_self<caf::error>();
  publish(published("ev", "x"));
  sched.run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 1u);
  CAF_CHECK(state_of<test::fake_directory_state>(dir).handed_off.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- settling -----------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(owner_settling, fixture)

CAF_TEST(a settling owner holds events until the handoff names listeners) {
  start("room", 0, 1s);
  publish(published("ev", "held"));
  sched.run(); // Jobs only: the settle timer must not fire.
  CAF_CHECK(!terminated(owner)); // held events keep it alive
  auto p = probe();
  owner_handoff h;
  h.app_id = "app-1";
  h.channel = "room";
  h.seq = 41;
  h.nodes.push_back(
    handoff_node{"node-b", 1, caf::actor_cast<channel_actor>(p), {}});
  caf::anon_send(owner, std::move(h));
  sched.run();
  CAF_REQUIRE_EQUAL(seen(p).events.size(), 1u);
  CAF_CHECK_EQUAL(seen(p).events[0].data, "held");
  CAF_CHECK_EQUAL(seen(p).events[0].seq, 42u); // continues the predecessor
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
}

CAF_TEST(held events go out after the settle window when no handoff came) {
  start("room", 500, 1s);
  auto p = probe();
  // Joins are not held: the owner's own events stay consistent.
  CAF_CHECK(join(p, public_join("node-b", "2.1")).ok);
  // The publisher's answer waits with the event: it carries its number.
  auto rh = self->request(owner, caf::infinite, published("a", "1"));
  self->send(p, client_event{"client-b", "{}", "2.1", ""});
  sched.run();
  CAF_CHECK(seen(p).events.empty());
  CAF_CHECK(!self_has_mail());
  advance_time(1s);
  sched.run();
  CAF_REQUIRE(self_has_mail());
  uint64_t acked = 0;
  rh.receive([&](publish_ack& ack) { acked = ack.seq; },
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK_EQUAL(acked, 501u);
  auto& events = seen(p).events;
  CAF_REQUIRE_EQUAL(events.size(), 2u);
  CAF_CHECK_EQUAL(events[0].event, "a");
  CAF_CHECK_EQUAL(events[0].seq, 501u);
  CAF_CHECK_EQUAL(events[1].event, "client-b");
  CAF_CHECK_EQUAL(events[1].seq, 502u);
}

CAF_TEST(a settling owner never ends by itself) {
  start("room", 0, 1s);
  auto p = probe();
  auto s1 = public_join("node-b", "2.1");
  join(p, s1);
  leave(p, leave_of(s1));
  sched.run();
  CAF_CHECK(!terminated(owner));
  // Once settled with nothing to do, it ends.
  advance_time(1s);
  sched.run();
  CAF_CHECK(terminated(owner));
}

CAF_TEST_FIXTURE_SCOPE_END()
