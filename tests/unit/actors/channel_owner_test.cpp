// Unit tests for actors/channel_owner: join replies, member and count events,
// the cache, idle reports and event ordering. Probe actors stand in for the
// local channels of one or two nodes; a probe records the owner's app reports.
#define CAF_SUITE actors_channel_owner
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "actors/channel_owner.hpp"

#include <chrono>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "tests/support/actor_fixture.hpp"
#include "pusher/frame.hpp"

using namespace starling;
using namespace std::chrono_literals;

namespace {

using strings = std::vector<std::string>;

/// Stands in for one node's local channel: asks the owner on command and
/// records the replies and delivered events.
struct channel_probe_state {
  static inline const char* name = "channel_probe";
  std::vector<owner_joined> replies;
  std::vector<caf::error> errors;
  std::vector<channel_event> events;
};

using channel_probe_actor = caf::stateful_actor<channel_probe_state>;

caf::behavior channel_probe(channel_probe_actor* self, caf::actor owner) {
  return {
    [=](caf::join_atom, owner_join& join) {
      self
        ->request(owner, caf::infinite, caf::join_atom::value, std::move(join))
        .then(
          [=](owner_joined& reply) {
            self->state.replies.push_back(std::move(reply));
          },
          [=](caf::error& err) {
            self->state.errors.push_back(std::move(err));
          });
    },
    [=](caf::leave_atom, owner_leave& leave) {
      self->send(owner, caf::leave_atom::value, std::move(leave));
    },
    [=](client_event_atom, client_event& ev) {
      self->send(owner, client_event_atom::value, std::move(ev));
    },
    [=](sync_atom, owner_sync& sync) {
      self->request(owner, caf::infinite, sync_atom::value, std::move(sync))
        .then([=](owner_joined& reply) {
          self->state.replies.push_back(std::move(reply));
        });
    },
    [=](deliver_atom, const channel_event& ev) {
      self->state.events.push_back(ev);
    },
  };
}

/// Stands in for the app: records owner_idle and handoff reports.
struct app_probe_state {
  static inline const char* name = "app_probe";
  strings idle;
  strings handed_off;
};

using app_probe_actor = caf::stateful_actor<app_probe_state>;

caf::behavior app_probe(app_probe_actor* self) {
  return {
    [=](const owner_idle& idle) { self->state.idle.push_back(idle.channel); },
    [=](handoff_atom, const std::string& channel, const caf::actor&) {
      self->state.handed_off.push_back(channel);
    },
  };
}

/// Stands in for the node that takes a channel over: passes the handoff to
/// its owner.
caf::behavior node_probe(caf::event_based_actor* self, caf::actor owner) {
  return {
    [=](handoff_atom, owner_handoff& h) -> caf::result<caf::message> {
      return self->delegate(owner, handoff_atom::value, std::move(h));
    },
  };
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

/// Stands in for the app's webhook actor.
struct webhook_probe_state {
  static inline const char* name = "webhook_probe";
  std::vector<webhook_event> events;
};

using webhook_probe_actor = caf::stateful_actor<webhook_probe_state>;

caf::behavior webhook_probe(webhook_probe_actor* self) {
  return {
    [=](const webhook_event& ev) { self->state.events.push_back(ev); },
  };
}

owner_join public_join(std::string node, std::string socket_id) {
  owner_join result;
  result.node = std::move(node);
  result.socket_id = std::move(socket_id);
  return result;
}

owner_join presence_join(std::string node, std::string socket_id,
                         std::string user_id, std::string user_info = {}) {
  owner_join result{std::move(node), std::move(socket_id), true,
                    std::move(user_id), std::move(user_info)};
  return result;
}

owner_leave leave_of(const owner_join& join) {
  return owner_leave{join.node, join.socket_id, join.presence, join.user_id};
}

channel_event published(std::string event, std::string data,
                        std::string exclude = {}) {
  channel_event ev;
  ev.event = std::move(event);
  ev.data = std::move(data);
  ev.exclude = std::move(exclude);
  return ev;
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  caf::actor app;
  caf::actor owner;

  fixture() {
    app = spawn_tracked(app_probe);
    sched.run();
  }

  /// Spawns the owner of `channel` with the current ctx.
  void start(const std::string& channel) {
    owner = spawn_tracked(channel_owner_behavior, channel,
                          app_context_ptr{ctx}, app);
    sched.run();
  }

  /// Spawns a probe for one node's local channel.
  caf::actor probe() {
    auto result = spawn_tracked(channel_probe, owner);
    sched.run();
    return result;
  }

  channel_probe_state& seen(const caf::actor& probe) {
    return deref<channel_probe_actor>(probe).state;
  }

  /// Routes the owner's webhooks to a probe; call before start().
  void with_webhooks() {
    ctx->webhooks = spawn_tracked(webhook_probe);
    sched.run();
  }

  /// Returns the names of the webhooks so far, in order.
  strings webhook_names() {
    strings result;
    for (auto& ev : deref<webhook_probe_actor>(ctx->webhooks).state.events)
      result.push_back(ev.name);
    return result;
  }

  strings& idle_reports() {
    return deref<app_probe_actor>(app).state.idle;
  }

  /// Lets `probe` ask the owner and processes exactly the join and its reply
  /// (after whatever was already queued).
  owner_joined join(const caf::actor& probe, owner_join request) {
    sched.run(); // Earlier deliveries first: expect() checks mailbox heads.
    self->send(probe, caf::join_atom::value, std::move(request));
    expect((caf::join_atom, owner_join), from(self).to(probe));
    expect((caf::join_atom, owner_join), from(probe).to(owner));
    expect((owner_joined), from(owner).to(probe));
    auto& replies = seen(probe).replies;
    CAF_REQUIRE(!replies.empty());
    return replies.back();
  }

  /// Lets `probe` report a leave and processes it at the owner.
  void leave(const caf::actor& probe, owner_leave request) {
    sched.run();
    self->send(probe, caf::leave_atom::value, std::move(request));
    expect((caf::leave_atom, owner_leave), from(self).to(probe));
    expect((caf::leave_atom, owner_leave), from(probe).to(owner));
  }

  /// Publishes through the HTTP API path (anonymous sender, like the app).
  void publish(channel_event ev) {
    sched.run();
    caf::anon_send(owner, caf::publish_atom::value, std::move(ev));
    expect((caf::publish_atom, channel_event), from(_).to(owner));
  }

  /// Processes one owner -> probe delivery and returns it.
  channel_event next_delivery(const caf::actor& probe) {
    expect((deliver_atom, channel_event), from(owner).to(probe));
    auto& events = seen(probe).events;
    CAF_REQUIRE(!events.empty());
    return events.back();
  }

  /// Returns (subscribers, presence members, last seq). Not for cache
  /// channels: request<>() runs timers too.
  std::tuple<uint64_t, uint64_t, uint64_t> stats() {
    return request<uint64_t, uint64_t, uint64_t>(owner, stats_atom::value);
  }

  uint64_t subscriber_count() {
    return std::get<0>(stats());
  }

  uint64_t member_count() {
    return std::get<1>(stats());
  }

  uint64_t last_seq() {
    return std::get<2>(stats());
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(channel_owner_tests, fixture)

// -- join replies -------------------------------------------------------------

CAF_TEST(a public join is answered ok with empty data and no cache fields) {
  start("room");
  auto p = probe();
  auto reply = join(p, public_join("node-a", "1.1"));
  CAF_CHECK(reply.ok);
  CAF_CHECK_EQUAL(reply.data_json, "{}");
  CAF_CHECK(!reply.cache_channel);
  CAF_CHECK(!reply.cache_hit);
  run();
  CAF_CHECK(seen(p).events.empty());
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
}

CAF_TEST(a presence join is answered with the roster including the joiner) {
  start("presence-room");
  auto p = probe();
  auto r1 = join(p, presence_join("node-a", "1.1", "u1", R"({"name":"Ann"})"));
  CAF_CHECK(r1.ok);
  CAF_CHECK_EQUAL(r1.data_json, pusher::encode_presence_data(
                                  {{"u1", R"({"name":"Ann"})"}}));
  run();
  auto r2 = join(p, presence_join("node-a", "1.2", "u2"));
  CAF_CHECK(r2.ok);
  CAF_CHECK_EQUAL(r2.data_json, pusher::encode_presence_data(
                                  {{"u1", R"({"name":"Ann"})"}, {"u2", ""}}));
  run();
  auto [subscribers, members, seq] = stats();
  CAF_CHECK_EQUAL(subscribers, 2u);
  CAF_CHECK_EQUAL(members, 2u);
  CAF_CHECK_EQUAL(seq, 2u); // two member_added events
}

// -- presence member events ---------------------------------------------------

CAF_TEST(member_added follows the reply and excludes the joiner) {
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1", R"({"name":"Ann"})"));
  auto ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.event, "pusher_internal:member_added");
  CAF_CHECK_EQUAL(ev.data, R"({"user_id":"u1","user_info":{"name":"Ann"}})");
  CAF_CHECK(!ev.data_is_json);
  CAF_CHECK_EQUAL(ev.exclude, "1.1");
  CAF_CHECK(ev.user_id.empty());
}

CAF_TEST(member_added is sent only for the first connection of a user) {
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1"));
  next_delivery(p);
  join(p, presence_join("node-a", "1.2", "u1"));
  disallow((deliver_atom, channel_event), from(owner).to(p));
  run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 1u);
  // The same user on another node is not a new member either.
  auto p2 = probe();
  join(p2, presence_join("node-b", "2.1", "u1"));
  run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 1u);
  CAF_CHECK(seen(p2).events.empty());
  CAF_CHECK_EQUAL(member_count(), 1u);
}

CAF_TEST(member_removed is sent only when the last connection leaves) {
  start("presence-room");
  auto p = probe();
  auto first = presence_join("node-a", "1.1", "u1", R"({"name":"Ann"})");
  auto second = presence_join("node-a", "1.2", "u1", R"({"name":"Ann"})");
  join(p, first);
  join(p, second);
  run();
  auto events_before = seen(p).events.size();
  leave(p, leave_of(first));
  run();
  CAF_CHECK_EQUAL(seen(p).events.size(), events_before);
  leave(p, leave_of(second));
  // The last subscriber left: nobody is left to deliver to.
  run();
  CAF_CHECK_EQUAL(seen(p).events.size(), events_before);
  CAF_CHECK_EQUAL(member_count(), 0u);
}

CAF_TEST(member_removed reaches the remaining subscribers without exclusion) {
  start("presence-room");
  auto p = probe();
  auto ann = presence_join("node-a", "1.1", "u1");
  auto bob = presence_join("node-a", "1.2", "u2");
  join(p, ann);
  join(p, bob);
  run();
  seen(p).events.clear();
  leave(p, leave_of(ann));
  auto ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.event, "pusher_internal:member_removed");
  CAF_CHECK_EQUAL(ev.data, R"({"user_id":"u1"})");
  CAF_CHECK(ev.exclude.empty());
  run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 1u);
}

CAF_TEST(a full presence channel refuses a new user with 4100) {
  ctx->app.limits.max_presence_members = 2;
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1"));
  join(p, presence_join("node-a", "1.2", "u2"));
  run();
  auto events_before = seen(p).events.size();
  auto refused = join(p, presence_join("node-a", "1.3", "u3"));
  CAF_CHECK(!refused.ok);
  CAF_CHECK_EQUAL(refused.status, 4100);
  CAF_CHECK_EQUAL(refused.error_type, "LimitReached");
  CAF_CHECK(!refused.error.empty());
  run();
  CAF_CHECK_EQUAL(seen(p).events.size(), events_before);
  auto [subscribers, members, seq] = stats();
  CAF_CHECK_EQUAL(subscribers, 2u);
  CAF_CHECK_EQUAL(members, 2u);
  // A member's further connection still fits.
  auto again = join(p, presence_join("node-a", "1.4", "u1"));
  CAF_CHECK(again.ok);
}

// -- subscription_count -------------------------------------------------------

CAF_TEST(subscription_count follows joins and leaves when enabled) {
  ctx->app.enable_subscription_count = true;
  start("room");
  auto p = probe();
  auto s1 = public_join("node-a", "1.1");
  auto s2 = public_join("node-a", "1.2");
  join(p, s1);
  auto ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.event, "pusher_internal:subscription_count");
  CAF_CHECK_EQUAL(ev.data, R"({"subscription_count":1})");
  // The joiner gets its count with the join reply, so the broadcast skips it.
  CAF_CHECK_EQUAL(ev.exclude, "1.1");
  join(p, s2);
  ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.data, R"({"subscription_count":2})");
  leave(p, leave_of(s1));
  ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.data, R"({"subscription_count":1})");
  run();
  CAF_CHECK_EQUAL(seen(p).events.size(), 3u);
}

CAF_TEST(subscription_count is not sent when disabled) {
  start("room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  disallow((deliver_atom, channel_event), from(owner).to(p));
  run();
  CAF_CHECK(seen(p).events.empty());
}

CAF_TEST(subscription_count is never sent on presence channels) {
  ctx->app.enable_subscription_count = true;
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1"));
  join(p, presence_join("node-a", "1.2", "u2"));
  run();
  for (auto& ev : seen(p).events)
    CAF_CHECK_NOT_EQUAL(ev.event, "pusher_internal:subscription_count");
  CAF_CHECK_EQUAL(seen(p).events.size(), 2u); // two member_added
}

// -- cache channels -----------------------------------------------------------

CAF_TEST(a cache channel join before any publish is a cache miss) {
  start("cache-news");
  auto p = probe();
  auto reply = join(p, public_join("node-a", "1.1"));
  CAF_CHECK(reply.ok);
  CAF_CHECK(reply.cache_channel);
  CAF_CHECK(!reply.cache_hit);
}

CAF_TEST(a cache channel keeps the last published event for later joins) {
  start("cache-news");
  auto p = probe();
  publish(published("first", "1"));
  publish(published("second", R"({"n":2})"));
  // Cached: no subscribers, yet not idle.
  sched.run();
  CAF_CHECK(idle_reports().empty());
  auto reply = join(p, public_join("node-a", "1.1"));
  CAF_CHECK(reply.ok);
  CAF_CHECK(reply.cache_channel);
  CAF_CHECK(reply.cache_hit);
  CAF_CHECK_EQUAL(reply.cache_event, "second");
  CAF_CHECK_EQUAL(reply.cache_data, R"({"n":2})");
  CAF_CHECK_EQUAL(reply.data_json, "{}");
}

CAF_TEST(a presence cache channel answers with the roster and the cache) {
  start("presence-cache-room");
  auto p = probe();
  publish(published("ev", "d"));
  auto reply = join(p, presence_join("node-a", "1.1", "u1"));
  CAF_CHECK(reply.cache_channel);
  CAF_CHECK(reply.cache_hit);
  CAF_CHECK_EQUAL(reply.data_json, pusher::encode_presence_data({{"u1", ""}}));
}

CAF_TEST(a cached event expires after cache_ttl_s on the actor clock) {
  ctx->app.limits.cache_ttl_s = 60;
  start("cache-news");
  publish(published("ev", "d"));
  sched.run();
  CAF_CHECK(idle_reports().empty());
  // The fake clock passes the TTL: the owner's expire tick fires.
  advance_time(61s);
  sched.run();
  // Expired and nobody subscribed: the owner reports itself idle...
  CAF_CHECK_EQUAL(idle_reports(), strings({"cache-news"}));
  // ...and a join now misses the cache.
  auto p = probe();
  auto reply = join(p, public_join("node-a", "1.1"));
  CAF_CHECK(reply.cache_channel);
  CAF_CHECK(!reply.cache_hit);
}

// -- idle reports -------------------------------------------------------------

CAF_TEST(a publish on a non-cache channel without subscribers reports idle) {
  start("room");
  publish(published("ev", "d"));
  expect((owner_idle), from(owner).to(app));
  CAF_CHECK_EQUAL(idle_reports(), strings({"room"}));
}

CAF_TEST(the last leave reports idle and earlier leaves do not) {
  start("room");
  auto p = probe();
  auto s1 = public_join("node-a", "1.1");
  auto s2 = public_join("node-a", "1.2");
  join(p, s1);
  join(p, s2);
  leave(p, leave_of(s1));
  run();
  CAF_CHECK(idle_reports().empty());
  leave(p, leave_of(s2));
  expect((owner_idle), from(owner).to(app));
  CAF_CHECK_EQUAL(idle_reports(), strings({"room"}));
  CAF_CHECK_EQUAL(subscriber_count(), 0u);
}

CAF_TEST(a leave from an unknown node changes nothing) {
  start("room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  leave(p, leave_of(public_join("node-z", "9.9")));
  run();
  CAF_CHECK(idle_reports().empty());
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
}

// -- fan-out and ordering -----------------------------------------------------

CAF_TEST(sequence numbers increase by one per event) {
  ctx->app.enable_subscription_count = true;
  start("private-room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  publish(published("a", "1"));
  publish(published("b", "2"));
  self->send(p, client_event_atom::value,
             client_event{"client-c", R"({"x":3})", "1.1", ""});
  run();
  auto& events = seen(p).events;
  CAF_REQUIRE_EQUAL(events.size(), 4u);
  CAF_CHECK_EQUAL(events[0].event, "pusher_internal:subscription_count");
  CAF_CHECK_EQUAL(events[1].event, "a");
  CAF_CHECK_EQUAL(events[2].event, "b");
  CAF_CHECK_EQUAL(events[3].event, "client-c");
  for (size_t i = 0; i < events.size(); ++i)
    CAF_CHECK_EQUAL(events[i].seq, i + 1);
  CAF_CHECK_EQUAL(last_seq(), 4u);
}

CAF_TEST(published events keep their data and exclusion) {
  start("room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  publish(published("news", "plain text", "1.7"));
  auto ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.event, "news");
  CAF_CHECK_EQUAL(ev.data, "plain text");
  CAF_CHECK(!ev.data_is_json);
  CAF_CHECK_EQUAL(ev.exclude, "1.7");
}

CAF_TEST(events reach every node with subscribers and no node without) {
  start("room");
  auto pa = probe();
  auto pb = probe();
  auto a1 = public_join("node-a", "1.1");
  join(pa, a1);
  join(pb, public_join("node-b", "2.1"));
  publish(published("one", "1"));
  run();
  CAF_CHECK_EQUAL(seen(pa).events.size(), 1u);
  CAF_CHECK_EQUAL(seen(pb).events.size(), 1u);
  // node-a lost its last subscriber: it gets nothing further.
  leave(pa, leave_of(a1));
  publish(published("two", "2"));
  run();
  CAF_CHECK_EQUAL(seen(pa).events.size(), 1u);
  CAF_REQUIRE_EQUAL(seen(pb).events.size(), 2u);
  CAF_CHECK_EQUAL(seen(pb).events.back().event, "two");
  CAF_CHECK(idle_reports().empty());
}

CAF_TEST(presence client events carry the user id and exclude the sender) {
  start("presence-room");
  auto p = probe();
  join(p, presence_join("node-a", "1.1", "u1"));
  join(p, presence_join("node-a", "1.2", "u2"));
  run();
  seen(p).events.clear();
  self->send(p, client_event_atom::value,
             client_event{"client-typing", R"({"on":true})", "1.1", "u1"});
  expect((client_event_atom, client_event), from(self).to(p));
  expect((client_event_atom, client_event), from(p).to(owner));
  auto ev = next_delivery(p);
  CAF_CHECK_EQUAL(ev.event, "client-typing");
  CAF_CHECK_EQUAL(ev.data, R"({"on":true})");
  CAF_CHECK(ev.data_is_json);
  CAF_CHECK_EQUAL(ev.user_id, "u1");
  CAF_CHECK_EQUAL(ev.exclude, "1.1");
}

CAF_TEST(private client events drop the user id and exclude the sender) {
  start("private-room");
  auto p = probe();
  join(p, public_join("node-a", "1.1"));
  join(p, public_join("node-a", "1.2"));
  self->send(p, client_event_atom::value,
             client_event{"client-typing", "[1,2]", "1.2", "u-sneaky"});
  run();
  CAF_REQUIRE_EQUAL(seen(p).events.size(), 1u);
  auto& ev = seen(p).events.front();
  CAF_CHECK(ev.data_is_json);
  CAF_CHECK(ev.user_id.empty());
  CAF_CHECK_EQUAL(ev.exclude, "1.2");
}

// -- webhooks -----------------------------------------------------------------

CAF_TEST(occupied and vacated webhooks fire once per transition) {
  with_webhooks();
  start("room");
  auto p = probe();
  auto s1 = public_join("node-a", "1.1");
  auto s2 = public_join("node-b", "2.1");
  join(p, s1);
  join(p, s2);
  leave(p, leave_of(s1));
  run();
  CAF_CHECK_EQUAL(webhook_names(), strings({"channel_occupied"}));
  leave(p, leave_of(s2));
  run();
  CAF_CHECK_EQUAL(webhook_names(),
                  strings({"channel_occupied", "channel_vacated"}));
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
  run();
  CAF_CHECK_EQUAL(webhook_names(),
                  strings({"channel_occupied", "member_added",
                           "member_removed", "channel_vacated"}));
  auto& events = deref<webhook_probe_actor>(ctx->webhooks).state.events;
  CAF_CHECK_EQUAL(events[1].user_id, "u1");
  CAF_CHECK_EQUAL(events[2].user_id, "u1");
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
  self->send(p, client_event_atom::value,
             client_event{"client-a", "{}", "1.1", "u1"});
  run();
  auto& events = deref<webhook_probe_actor>(ctx->webhooks).state.events;
  CAF_REQUIRE_EQUAL(events.size(), 2u);
  CAF_CHECK_EQUAL(events[1].name, "client_event");
  CAF_CHECK_EQUAL(events[1].event, "client-a");
  CAF_CHECK_EQUAL(events[1].socket_id, "1.1");
  CAF_CHECK(events[1].user_id.empty());
}

CAF_TEST(stop ends the owner) {
  start("room");
  self->monitor(owner);
  self->send(owner, stop_atom::value);
  run();
  auto [down] = pop_self<caf::down_msg>();
  CAF_CHECK(down.source == owner.address());
  CAF_CHECK(!down.reason);
}

// -- sync, handoff, rebuild ----------------------------------------------------

CAF_TEST(a sync sets the state of a node silently and repeating it changes nothing) {
  start("presence-room");
  auto p = probe();
  auto members = std::vector<roster_entry>{{"u1", "{}"}, {"u1", "{}"}, {"u2", ""}};
  for (int i = 0; i < 2; ++i) {
    self->send(p, sync_atom::value, sync_of("node-b", 3, members));
    run();
    CAF_CHECK_EQUAL(subscriber_count(), 3u);
    CAF_CHECK_EQUAL(member_count(), 2u);
  }
  CAF_CHECK(seen(p).events.empty());
  CAF_REQUIRE_EQUAL(seen(p).replies.size(), 2u);
  CAF_CHECK_EQUAL(seen(p).replies.back().owner_node, "node-a");
}

CAF_TEST(a sync without a user removes it after the grace period) {
  start("presence-room");
  auto p = probe();
  auto q = probe();
  join(q, presence_join("node-a", "1.1", "u9"));
  run();
  self->send(p, sync_atom::value,
             sync_of("node-b", 2, {{"u1", "{}"}, {"u2", ""}}));
  run();
  auto before = seen(q).events.size();
  self->send(p, sync_atom::value, sync_of("node-b", 1, {{"u1", "{}"}}));
  sched.run(); // Not run(): that fires the grace timer at once.
  CAF_CHECK_EQUAL(seen(q).events.size(), before);
  sched.advance_time(std::chrono::seconds(3));
  run();
  CAF_CHECK_EQUAL(member_count(), 2u);
  CAF_REQUIRE_EQUAL(seen(q).events.size(), before + 1);
  CAF_CHECK_EQUAL(seen(q).events.back().event, "pusher_internal:member_removed");
  CAF_CHECK_EQUAL(seen(q).events.back().data, R"({"user_id":"u2"})");
}

CAF_TEST(a rebuilt owner removes known members that no node has) {
  start("presence-room");
  auto p = probe();
  // The edge's clients know u1 (here) and u2 (lived on the dead owner).
  self->send(p, sync_atom::value,
             sync_of("node-b", 1, {{"u1", "{}"}}, {"u1", "u2"}));
  run();
  CAF_CHECK_EQUAL(member_count(), 1u);
  sched.advance_time(std::chrono::seconds(3));
  run();
  CAF_REQUIRE_EQUAL(seen(p).events.size(), 1u);
  CAF_CHECK_EQUAL(seen(p).events[0].data, R"({"user_id":"u2"})");
}

CAF_TEST(a handoff moves the state and the old owner forwards) {
  start("cache-presence-room");
  auto old_owner = owner;
  auto p = probe();
  join(p, presence_join("node-b", "2.1", "u1", R"({"n":1})"));
  publish(published("ev", "cached"));
  run();
  auto seq_before = last_seq();
  CAF_CHECK_EQUAL(seq_before, 2u); // member_added + the event
  // The successor on another node.
  auto succ_ctx = test::make_context();
  succ_ctx->node_id = "node-c";
  auto successor = spawn_tracked(channel_owner_behavior,
                                 std::string{"cache-presence-room"},
                                 app_context_ptr{succ_ctx}, app);
  auto node_c = spawn_tracked(node_probe, successor);
  run();
  // sched.run(), not run(): run() fires timers, the forwarder's idle one too.
  self->send(old_owner, handoff_atom::value, node_c);
  sched.run();
  owner = successor;
  // A publish that reaches the old owner is ordered by the successor and
  // continues the numbers; the successor knows node-b's channel.
  auto before = seen(p).events.size();
  caf::anon_send(old_owner, caf::publish_atom::value, published("ev2", "x"));
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
  CAF_CHECK_EQUAL(reply.data_json,
                  pusher::encode_presence_data({{"u1", R"({"n":1})"}, {"u2", ""}}));
  auto [subscribers, members, seq] = stats();
  CAF_CHECK_EQUAL(subscribers, 2u);
  CAF_CHECK_EQUAL(members, 2u);
  CAF_CHECK_EQUAL(seq, seq_before + 2); // ev2, member_added u2
  CAF_CHECK_EQUAL(deref<app_probe_actor>(app).state.handed_off,
                  strings{"cache-presence-room"});
}

CAF_TEST(a handoff keeps the state a node synced itself) {
  start("presence-room");
  auto old_owner = owner;
  auto p = probe();
  join(p, presence_join("node-b", "2.1", "u1"));
  run();
  auto succ_ctx = test::make_context();
  succ_ctx->node_id = "node-c";
  auto successor = spawn_tracked(channel_owner_behavior,
                                 std::string{"presence-room"},
                                 app_context_ptr{succ_ctx}, app);
  auto node_c = spawn_tracked(node_probe, successor);
  auto q = spawn_tracked(channel_probe, successor);
  run();
  // node-b already told the successor it has two users now.
  self->send(q, sync_atom::value,
             sync_of("node-b", 2, {{"u1", ""}, {"u3", ""}}));
  run();
  self->send(old_owner, handoff_atom::value, node_c);
  run();
  owner = successor;
  CAF_CHECK_EQUAL(subscriber_count(), 2u);
  CAF_CHECK_EQUAL(member_count(), 2u);
}

CAF_TEST(a settling owner holds events and stays until the handoff names listeners) {
  start("room");
  caf::anon_send(owner, settle_atom::value, caf::timespan{std::chrono::seconds(1)});
  publish(published("ev", "held"));
  sched.run(); // Not run(): that fires the settle timer.
  CAF_CHECK(idle_reports().empty()); // held events keep it alive
  auto p = probe();
  owner_handoff h;
  h.channel = "room";
  h.seq = 41;
  h.nodes.push_back(handoff_node{"node-b", 1, p, {}});
  caf::anon_send(owner, handoff_atom::value, std::move(h));
  sched.run();
  CAF_REQUIRE_EQUAL(seen(p).events.size(), 1u);
  CAF_CHECK_EQUAL(seen(p).events[0].data, "held");
  CAF_CHECK_EQUAL(seen(p).events[0].seq, 42u); // continues the predecessor
}

CAF_TEST(a clustered owner continues from the sequence base it is given) {
  start("room");
  auto p = probe();
  join(p, public_join("node-b", "2.1"));
  caf::anon_send(owner, caf::put_atom::value, uint64_t{1000});
  publish(published("ev", "x"));
  run();
  CAF_CHECK_EQUAL(seen(p).events.back().seq, 1001u);
}

CAF_TEST_FIXTURE_SCOPE_END()
