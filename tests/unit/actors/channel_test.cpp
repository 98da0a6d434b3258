// Unit tests for actors/channel: the owner found through a fake directory,
// joins through a fake owner, frames handed to a recording fan-out sink once
// per event, the owner's order (gaps, stale numbers, a new owner's numbers),
// owner loss and moves, watchlist channels, and leave/idle bookkeeping when a
// subscriber unsubscribes or its connection actor ends.
#define CAF_SUITE actors_channel
#include "tests/support/actor_fixture.hpp"

#include "actors/channel.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "pusher/frame.hpp"
#include "tests/support/fake_session_link.hpp"
#include "tests/support/probes.hpp"

using namespace starling;
using namespace std::chrono_literals;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

using strings = std::vector<std::string>;

channel_event event_of(uint64_t seq, std::string name, std::string data,
                       std::string exclude = {}) {
  channel_event ev;
  ev.seq = seq;
  ev.kind = event_kind::message;
  ev.event = std::move(name);
  ev.data = std::move(data);
  ev.exclude = std::move(exclude);
  return ev;
}

/// Event `n<seq>` numbered by an owner on node-b (it came over the bus).
channel_event remote_event(uint64_t seq) {
  auto result = event_of(seq, "n" + std::to_string(seq), "x");
  result.origin = "node-b";
  return result;
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  caf::actor app;
  caf::actor owner;
  caf::actor dir;
  channel_actor chan;

  fixture() {
    app = spawn_tracked(test::fake_app, caf::actor{});
    owner = spawn_tracked(test::fake_owner);
    dir = spawn_tracked(test::fake_directory, owner);
    sched.run();
  }

  /// Spawns the channel (replacing a crashed one that delivered up to
  /// `resume_seq`); its owner lookup is left to the caller.
  void spawn_channel(const std::string& name, uint64_t resume_seq = 0) {
    chan = spawn_tracked(channel_behavior, name, app_context_ptr{ctx},
                         caf::actor_cast<app_actor>(app),
                         caf::actor_cast<owner_directory_actor>(dir),
                         resume_seq);
  }

  /// Spawns the channel and lets it find its owner.
  void start(const std::string& name, uint64_t resume_seq = 0) {
    spawn_channel(name, resume_seq);
    // The channel asks for its owner as it starts.
    sched.prioritize(chan);
    sched.run_once();
    expect((resolve_owner), from(chan).to(dir));
    expect((owner_actor), from(dir).to(chan));
  }

  test::fake_owner_state& owner_seen(const caf::actor& hdl) {
    return state_of<test::fake_owner_state>(hdl);
  }

  test::fake_owner_state& owner_seen() {
    return owner_seen(owner);
  }

  test::fake_directory_state& dir_seen() {
    return state_of<test::fake_directory_state>(dir);
  }

  std::vector<channel_idle>& idle_reports() {
    return state_of<test::fake_app_state>(app).idle;
  }

  test::fake_connection_state& conn_seen(const caf::actor& conn) {
    return state_of<test::fake_connection_state>(conn);
  }

  test::recording_fanout_sink& sink() {
    return test::sink_of(*ctx);
  }

  caf::actor connection() {
    auto result = spawn_tracked(test::fake_connection,
                                caf::actor_cast<caf::actor>(chan));
    sched.run();
    return result;
  }

  channel_join join_of(const std::string& channel, const std::string& socket_id,
                       const fake_link_ptr& link) {
    channel_join result;
    result.channel = channel;
    result.socket_id = socket_id;
    result.link = link;
    link->set_socket_id(socket_id); // As the connection actor does.
    return result;
  }

  /// Runs one join through channel and owner, message by message.
  void subscribe(const caf::actor& conn, channel_join join) {
    sched.run();
    self->send(conn, std::move(join));
    expect((channel_join), from(self).to(conn));
    expect((channel_join), from(conn).to(chan));
    expect((owner_join), from(chan).to(owner));
    expect((owner_joined), from(owner).to(chan));
  }

  /// Like subscribe(), plus the channel's answer to the connection.
  void subscribe_ok(const caf::actor& conn, channel_join join) {
    subscribe(conn, std::move(join));
    expect((channel_joined), from(chan).to(conn));
    CAF_REQUIRE_EQUAL(conn_seen(conn).joined.size(), 1u);
    CAF_CHECK(conn_seen(conn).joined.front().channel == chan);
  }

  /// One subscriber of "room", whose owner on node-b answered its join
  /// at `seq`; no frames kept from the join.
  fake_link_ptr subscriber_after(uint64_t seq) {
    start("room");
    owner_seen().reply.owner_node = "node-b";
    owner_seen().reply.seq = seq;
    auto link = make_fake_link();
    subscribe_ok(connection(), join_of("room", "1.1", link));
    link->clear_frames();
    return link;
  }

  /// Terminates `conn` as a closed socket would and processes the
  /// channel's down_msg.
  void terminate(const caf::actor& conn) {
    sched.run();
    self->send_exit(conn, caf::exit_reason::user_shutdown);
    expect((caf::exit_msg), from(_).to(conn));
    expect((caf::down_msg), from(_).to(chan));
  }

  /// Sends an event as the owner or the bus would and processes it.
  void deliver(channel_event ev) {
    sched.run();
    caf::anon_send(chan, std::move(ev));
    expect((channel_event), from(_).to(chan));
  }

  channel_stats stats() {
    return ask<channel_stats>(chan, channel_stats_atom::value);
  }

  uint64_t subscriber_count() {
    return stats().subscribers;
  }

  uint64_t delivered_count() {
    return stats().delivered;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(channel_joins, fixture)

CAF_TEST(a join asks the owner and sends subscription_succeeded) {
  start("room");
  auto link = make_fake_link();
  auto conn = connection();
  subscribe_ok(conn, join_of("room", "1.1", link));
  CAF_CHECK_EQUAL(link->texts(),
                  strings(
                    {pusher::encode_subscription_succeeded("room", "{}")}));
  auto& joins = owner_seen().joins;
  CAF_REQUIRE_EQUAL(joins.size(), 1u);
  CAF_CHECK_EQUAL(joins[0].node, "node-a");
  CAF_CHECK_EQUAL(joins[0].socket_id, "1.1");
  CAF_CHECK(!joins[0].member);
  CAF_CHECK(!joins[0].rejoin);
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
  // The directory was asked once, with this channel as the listener.
  CAF_REQUIRE_EQUAL(dir_seen().resolves.size(), 1u);
  CAF_CHECK_EQUAL(dir_seen().resolves[0].channel, "room");
  CAF_CHECK(dir_seen().resolves[0].listener == chan);
}

CAF_TEST(a presence join passes the member to the owner and the roster on) {
  start("presence-room");
  owner_seen().reply.members = {{"u1", R"({"name":"Ann"})"}, {"u2", "{}"}};
  auto link = make_fake_link();
  auto conn = connection();
  auto join = join_of("presence-room", "1.1", link);
  join.member = true;
  join.user_id = "u1";
  join.user_info = R"({"name":"Ann"})";
  subscribe_ok(conn, join);
  auto& joins = owner_seen().joins;
  CAF_REQUIRE_EQUAL(joins.size(), 1u);
  CAF_CHECK(joins[0].member);
  CAF_CHECK_EQUAL(joins[0].user_id, "u1");
  CAF_CHECK_EQUAL(joins[0].user_info, R"({"name":"Ann"})");
  CAF_CHECK_EQUAL(link->texts(),
                  strings({pusher::encode_subscription_succeeded(
                    "presence-room",
                    pusher::encode_presence_data(
                      {{"u1", R"({"name":"Ann"})"}, {"u2", "{}"}}))}));
  CAF_CHECK_EQUAL(conn_seen(conn).joined[0].members, 2u);
}

CAF_TEST(the subscription count of the reply follows subscription_succeeded) {
  start("room");
  owner_seen().reply.subscription_count = 3;
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  CAF_CHECK_EQUAL(link->texts(),
                  strings({pusher::encode_subscription_succeeded("room", "{}"),
                           pusher::encode_subscription_count("room", 3)}));
}

CAF_TEST(a cache hit follows subscription_succeeded) {
  start("cache-news");
  auto& reply = owner_seen().reply;
  reply.cache_hit = true;
  reply.cache_event = "headline";
  reply.cache_data = R"({"title":"x"})";
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("cache-news", "1.1", link));
  CAF_CHECK_EQUAL(
    link->texts(),
    strings({pusher::encode_subscription_succeeded("cache-news", "{}"),
             pusher::encode_event("headline", "cache-news", R"({"title":"x"})",
                                  pusher::data_format::as_string)}));
}

CAF_TEST(a cache miss follows subscription_succeeded) {
  start("cache-news");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("cache-news", "1.1", link));
  CAF_CHECK_EQUAL(link->texts(),
                  strings({pusher::encode_subscription_succeeded("cache-news",
                                                                 "{}"),
                           pusher::encode_cache_miss("cache-news")}));
}

CAF_TEST(an owner refusal sends subscription_error and answers an error) {
  start("presence-room");
  auto& reply = owner_seen().reply;
  reply.ok = false;
  reply.status = 4100;
  reply.error_type = "LimitReached";
  reply.error = "presence channel is full (100 members)";
  auto link = make_fake_link();
  auto conn = connection();
  subscribe(conn, join_of("presence-room", "1.1", link));
  expect((caf::error), from(chan).to(conn));
  CAF_REQUIRE_EQUAL(conn_seen(conn).errors.size(), 1u);
  CAF_CHECK(conn_seen(conn).errors[0] == errc::subscription_refused);
  CAF_CHECK(conn_seen(conn).joined.empty());
  CAF_CHECK_EQUAL(link->texts(),
                  strings({pusher::encode_subscription_error(
                    "presence-room", "LimitReached",
                    "presence channel is full (100 members)", 4100)}));
  // Nobody is subscribed: the channel reports itself idle, and no leave is
  // due for a join the owner refused.
  expect((channel_idle), from(chan).to(app));
  CAF_REQUIRE_EQUAL(idle_reports().size(), 1u);
  CAF_CHECK_EQUAL(idle_reports()[0].channel, "presence-room");
  CAF_CHECK_EQUAL(idle_reports()[0].joins, 1u);
  sched.run();
  CAF_CHECK(owner_seen().leaves.empty());
  CAF_CHECK_EQUAL(subscriber_count(), 0u);
}

CAF_TEST(an owner that does not answer in 10 s gives ServerError 503) {
  start("room");
  owner_seen().hold = true;
  auto link = make_fake_link();
  auto conn = connection();
  self->send(conn, join_of("room", "1.1", link));
  sched.run();
  CAF_CHECK_EQUAL(owner_seen().held.size(), 1u);
  CAF_CHECK_EQUAL(link->frame_count(), 0u);
  advance_time(10s);
  sched.run();
  CAF_CHECK_EQUAL(link->texts(), strings({pusher::encode_subscription_error(
                                   "room", "ServerError",
                                   "channel owner unavailable", 503)}));
  CAF_CHECK_EQUAL(conn_seen(conn).errors.size(), 1u);
  CAF_CHECK_EQUAL(idle_reports().size(), 1u);
}

CAF_TEST(joins wait while the owner is looked up) {
  dir_seen().hold = true;
  spawn_channel("room");
  sched.run();
  CAF_REQUIRE_EQUAL(dir_seen().held.size(), 1u);
  auto link = make_fake_link();
  auto conn = connection();
  self->send(conn, join_of("room", "1.1", link));
  sched.run();
  // Nothing to ask yet, and no second lookup while one is under way.
  CAF_CHECK(owner_seen().joins.empty());
  CAF_CHECK_EQUAL(dir_seen().resolves.size(), 1u);
  CAF_CHECK_EQUAL(link->frame_count(), 0u);
  self->send(dir, caf::ok_atom::value);
  expect((caf::ok_atom), from(self).to(dir));
  expect((owner_actor), from(dir).to(chan));
  expect((owner_join), from(chan).to(owner));
  expect((owner_joined), from(owner).to(chan));
  expect((channel_joined), from(chan).to(conn));
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
  // With nobody subscribed when the owner came, there was nothing to sync.
  CAF_CHECK(owner_seen().syncs.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(channel_delivery, fixture)

CAF_TEST(an event is encoded once and shared by all but the excluded) {
  start("room");
  std::vector<fake_link_ptr> links;
  for (auto id : {"1.1", "1.2", "1.3"}) {
    links.push_back(make_fake_link());
    subscribe_ok(connection(), join_of("room", id, links.back()));
  }
  for (auto& link : links)
    link->clear_frames();
  deliver(event_of(1, "news", "hello", "1.2"));
  auto f1 = links[0]->frames();
  auto f2 = links[1]->frames();
  auto f3 = links[2]->frames();
  CAF_REQUIRE_EQUAL(f1.size(), 1u);
  CAF_CHECK_EQUAL(f2.size(), 0u);
  CAF_REQUIRE_EQUAL(f3.size(), 1u);
  CAF_CHECK_EQUAL(*f1[0], pusher::encode_event("news", "room", "hello",
                                               pusher::data_format::as_string));
  // One buffer for the whole node, not one copy per subscriber...
  CAF_CHECK(f1[0].get() == f3[0].get());
  // ...handed to the transport in one batch, the sender's session skipped.
  auto batches = sink().deliveries();
  CAF_REQUIRE_EQUAL(batches.size(), 1u);
  CAF_CHECK_EQUAL(batches[0].to->size(), 3u);
  CAF_CHECK(batches[0].exclude == links[1].get());
  CAF_CHECK_EQUAL(delivered_count(), 2u);
  // No publish time (an owner's own event): nothing to measure.
  CAF_CHECK(batches[0].stamp.histogram == nullptr);
}

CAF_TEST(a published event hands its publish time to the transport) {
  start("room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  auto ev = event_of(1, "news", "hello", "");
  ev.published_ns = system_now_ns() - 2'000'000; // 2 ms ago.
  deliver(ev);
  auto batches = sink().deliveries();
  CAF_REQUIRE_EQUAL(batches.size(), 1u);
  CAF_CHECK(batches[0].stamp.histogram == &ctx->counters->flush_latency);
  CAF_CHECK_EQUAL(batches[0].stamp.published_ns, ev.published_ns);
  // The recording sink records it as direct delivery does: once, >= 2 ms.
  auto& h = ctx->counters->flush_latency;
  uint64_t total = 0;
  for (std::size_t i = 0; i <= latency_histogram::bounds.size(); ++i)
    total += h.bucket(i);
  CAF_CHECK_EQUAL(total, 1u);
  CAF_CHECK(h.sum_seconds() >= 0.002);
}

CAF_TEST(the subscriber list is shared until membership changes) {
  start("room");
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", l1));
  auto c2 = connection();
  subscribe_ok(c2, join_of("room", "1.2", l2));
  deliver(event_of(1, "a", "x"));
  deliver(event_of(2, "b", "x"));
  terminate(c2);
  deliver(event_of(3, "c", "x"));
  auto batches = sink().deliveries();
  CAF_REQUIRE_EQUAL(batches.size(), 3u);
  CAF_CHECK(batches[0].to.get() == batches[1].to.get());
  CAF_CHECK(batches[1].to.get() != batches[2].to.get());
  CAF_CHECK_EQUAL(batches[2].to->size(), 1u);
}

CAF_TEST(the subscriber list is ordered by I/O thread) {
  // The transport hands each I/O thread its own range of the list.
  start("room");
  std::vector<uint16_t> joined{1, 0, 2, 1, 0};
  for (std::size_t i = 0; i < joined.size(); ++i)
    subscribe_ok(connection(), join_of("room", "1." + std::to_string(i),
                                       make_fake_link(joined[i])));
  deliver(event_of(1, "a", "x"));
  auto batches = sink().deliveries();
  CAF_REQUIRE_EQUAL(batches.size(), 1u);
  std::vector<uint16_t> shards;
  for (auto& link : *batches[0].to)
    shards.push_back(link->shard());
  CAF_CHECK_EQUAL(shards, std::vector<uint16_t>({0, 0, 1, 1, 2}));
}

CAF_TEST(an event after a gap waits for the missing one or 50 ms) {
  start("room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  link->clear_frames();
  auto ev = remote_event;
  for (uint64_t seq : {10u, 12u, 13u})
    caf::anon_send(chan, ev(seq));
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 1u); // 12 and 13 wait for 11
  caf::anon_send(chan, ev(11));
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 4u); // 11, 12, 13 in order
  // A stale number is dropped; a gap that never fills waits 50 ms at most.
  caf::anon_send(chan, ev(12));
  caf::anon_send(chan, ev(20));
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 4u);
  advance_time(50ms);
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 5u);
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 5u);
  CAF_CHECK(texts[1].find("\"n11\"") != std::string::npos);
  CAF_CHECK(texts[3].find("\"n13\"") != std::string::npos);
  CAF_CHECK(texts[4].find("\"n20\"") != std::string::npos);
}

CAF_TEST(a gap a remote owner can fill is replayed in order) {
  owner_seen().reply.owner_node = "node-b";
  owner_seen().reply.seq = 0;
  start("room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  link->clear_frames();
  auto ev = remote_event;
  deliver(ev(1));
  owner_seen().replay.events = {ev(2), ev(3), ev(4)};
  // The bus lost 2 and 3 (NATS was down): 4 waits, then the owner is asked.
  deliver(ev(4));
  advance_time(50ms);
  sched.run();
  CAF_CHECK_EQUAL(owner_seen().replay_asks, std::vector<uint64_t>({1}));
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 4u);
  for (uint64_t i = 0; i < 4; ++i)
    CAF_CHECK(texts[i].find("\"n" + std::to_string(i + 1) + "\"")
              != std::string::npos);
  CAF_CHECK(link->closes().empty());
}

CAF_TEST(a gap beyond the replay bound of the owner closes with 4200) {
  owner_seen().reply.owner_node = "node-b";
  start("room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  auto ev = remote_event;
  deliver(ev(1));
  owner_seen().replay.events = {ev(3)};
  owner_seen().replay.complete = false;
  deliver(ev(3));
  advance_time(50ms);
  sched.run();
  // No silent hole: the client is told to reconnect and resubscribe.
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4200u);
}

CAF_TEST(a replay that times out is asked again and then closes with 4200) {
  owner_seen().reply.owner_node = "node-b";
  start("room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  link->clear_frames();
  auto ev = remote_event;
  deliver(ev(1));
  // A loaded owner misses the first deadline: the held event waits and the
  // owner is asked again; then its answer fills the gap.
  owner_seen().replay_silent = 1;
  owner_seen().replay.events = {ev(2), ev(3)};
  deliver(ev(3));
  advance_time(50ms);
  sched.run();
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
  advance_time(2s);
  sched.run();
  advance_time(50ms);
  sched.run();
  CAF_CHECK_EQUAL(owner_seen().replay_asks, std::vector<uint64_t>({1, 1}));
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 3u);
  CAF_CHECK(texts[1].find("\"n2\"") != std::string::npos);
  CAF_CHECK(texts[2].find("\"n3\"") != std::string::npos);
  CAF_CHECK(link->closes().empty());
  // An owner that never answers: after five asks the clients reconnect
  // rather than miss an event silently.
  owner_seen().replay_silent = 5;
  deliver(ev(5));
  for (int i = 0; i < 5; ++i) {
    advance_time(50ms);
    sched.run();
    advance_time(2s);
    sched.run();
  }
  CAF_CHECK_EQUAL(owner_seen().replay_asks.size(), 7u);
  auto closes = link->closes();
  CAF_REQUIRE_EQUAL(closes.size(), 1u);
  CAF_CHECK_EQUAL(closes[0].code, 4200u);
}

CAF_TEST(a crashed channel tells the app and its subscribers its last number) {
  owner_seen().reply.owner_node = "node-a";
  start("room");
  auto c1 = connection();
  auto c2 = connection();
  subscribe_ok(c1, join_of("room", "1.1", make_fake_link()));
  subscribe_ok(c2, join_of("room", "1.2", make_fake_link()));
  deliver(event_of(1, "a", "x"));
  deliver(event_of(2, "b", "x"));
  self->send(chan, crash_atom::value);
  sched.run();
  auto& crashed = state_of<test::fake_app_state>(app).crashed;
  CAF_REQUIRE_EQUAL(crashed.size(), 1u);
  CAF_CHECK_EQUAL(crashed[0].channel, "room");
  CAF_CHECK_EQUAL(crashed[0].last_seq, 2u);
  // Subscribers are told, not monitoring: each re-joins the replacement.
  for (auto& c : {c1, c2}) {
    auto& told = conn_seen(c).crashes;
    CAF_REQUIRE_EQUAL(told.size(), 1u);
    CAF_CHECK_EQUAL(told[0].channel, "room");
  }
}

CAF_TEST(a channel that crashes before its first event resumes from the join) {
  // The subscribers joined when the owner's number was 7; the crash took
  // event 8 from the mailbox: the replacement must ask for it, not start
  // after whatever the owner numbered meanwhile.
  owner_seen().reply.owner_node = "node-a";
  owner_seen().reply.seq = 7;
  start("room");
  subscribe_ok(connection(), join_of("room", "1.1", make_fake_link()));
  self->send(chan, crash_atom::value);
  sched.run();
  auto& crashed = state_of<test::fake_app_state>(app).crashed;
  CAF_REQUIRE_EQUAL(crashed.size(), 1u);
  CAF_CHECK_EQUAL(crashed[0].last_seq, 7u);
}

CAF_TEST(a replacement channel resumes rejoiners after the crashed one) {
  // The predecessor delivered up to 5; the local owner numbered 6..8 while
  // the replacement was spawned. Both rejoiners get exactly 6, 7, 8, the
  // second one from the events kept for rejoiners.
  owner_seen().reply.owner_node = "node-a";
  owner_seen().reply.seq = 8;
  start("room", 5);
  owner_seen().replay.events = {event_of(6, "n6", "x"), event_of(7, "n7", "x"),
                                event_of(8, "n8", "x")};
  auto first = make_fake_link();
  auto join = join_of("room", "1.1", first);
  join.rejoin = true;
  subscribe_ok(connection(), join);
  sched.run();
  CAF_CHECK_EQUAL(owner_seen().replay_asks, std::vector<uint64_t>({5}));
  auto second = make_fake_link();
  join = join_of("room", "1.2", second);
  join.rejoin = true;
  subscribe_ok(connection(), join);
  deliver(event_of(9, "n9", "x"));
  for (auto& link : {first, second}) {
    auto texts = link->texts();
    CAF_REQUIRE_EQUAL(texts.size(), 4u);
    for (uint64_t i = 0; i < 4; ++i)
      CAF_CHECK(texts[i].find("\"n" + std::to_string(i + 6) + "\"")
                != std::string::npos);
    CAF_CHECK(link->closes().empty());
  }
  // A fresh subscriber gets only what follows its join.
  auto fresh = make_fake_link();
  owner_seen().reply.seq = 9;
  subscribe_ok(connection(), join_of("room", "1.3", fresh));
  deliver(event_of(10, "n10", "x"));
  auto texts = fresh->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 2u); // succeeded, n10
  CAF_CHECK(texts[1].find("\"n10\"") != std::string::npos);
}

CAF_TEST(events of a concurrent owner go out without moving the order) {
  owner_seen().reply.owner_node = "node-b";
  start("room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  link->clear_frames();
  auto ev = [](uint64_t seq, std::string origin) {
    auto result = event_of(seq, "n" + std::to_string(seq), "x");
    result.origin = std::move(origin);
    return result;
  };
  uint64_t base = uint64_t{1} << 40;
  uint64_t other = base + (uint64_t{5} << 20); // numbered 5 ms later
  deliver(ev(base + 1, "node-b"));
  // Another owner of the channel while the cluster was split: its event
  // goes out at once and does not hide the followed owner's next ones.
  deliver(ev(other, "node-c"));
  deliver(ev(base + 2, "node-b"));
  CAF_CHECK_EQUAL(link->frame_count(), 3u);
  // Once merged, the owner's replay holds both kinds: nothing twice.
  owner_seen().replay.events = {ev(base + 3, "node-b"), ev(other, "node-c")};
  deliver(ev(other + 1, "node-b"));
  advance_time(50ms);
  sched.run();
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 5u);
  CAF_CHECK(texts[3].find("\"n" + std::to_string(base + 3) + "\"")
            != std::string::npos);
  CAF_CHECK(texts[4].find("\"n" + std::to_string(other + 1) + "\"")
            != std::string::npos);
}

CAF_TEST(an event without exclusion reaches every subscriber) {
  start("room");
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", l1));
  subscribe_ok(connection(), join_of("room", "1.2", l2));
  l1->clear_frames();
  l2->clear_frames();
  deliver(event_of(1, "news", "x"));
  CAF_CHECK_EQUAL(l1->frame_count(), 1u);
  CAF_CHECK_EQUAL(l2->frame_count(), 1u);
  CAF_CHECK(sink().deliveries().back().exclude == nullptr);
}

CAF_TEST(subscribers leave the right way below and above the index size) {
  // Small channels scan their list, big ones index it (channel.cpp,
  // index_from = 16); grow past it and shrink back below half of it.
  start("room");
  std::vector<caf::actor> conns;
  std::vector<fake_link_ptr> links;
  for (int i = 0; i < 20; ++i) {
    links.push_back(make_fake_link());
    conns.push_back(connection());
    subscribe_ok(conns.back(), join_of("room", "1." + std::to_string(i),
                                       links.back()));
  }
  CAF_REQUIRE_EQUAL(subscriber_count(), 20u);
  // Leave from the middle, the front and the back, down to three.
  std::vector<bool> left(20, false);
  for (int i : {7, 0, 19, 3, 11, 12, 1, 18, 5, 9, 14, 2, 16, 6, 10, 17, 4}) {
    terminate(conns[i]);
    left[i] = true;
  }
  CAF_REQUIRE_EQUAL(subscriber_count(), 3u);
  for (auto& link : links)
    link->clear_frames();
  deliver(event_of(1, "news", "x"));
  for (int i = 0; i < 20; ++i)
    CAF_CHECK_EQUAL(links[i]->frame_count(), left[i] ? 0u : 1u);
  // The remaining three leave too: the channel reports itself idle.
  for (int i : {8, 13, 15})
    terminate(conns[i]);
  CAF_CHECK_EQUAL(subscriber_count(), 0u);
}

CAF_TEST(a relayed client event keeps raw JSON data and the user id) {
  start("presence-room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("presence-room", "1.1", link));
  link->clear_frames();
  channel_event ev;
  ev.seq = 1;
  ev.kind = event_kind::client;
  ev.event = "client-typing";
  ev.data = R"({"on":true})";
  ev.user_id = "u2";
  ev.exclude = "1.2";
  deliver(ev);
  CAF_CHECK_EQUAL(link->texts(),
                  strings({pusher::encode_event(
                    "client-typing", "presence-room", R"({"on":true})",
                    pusher::data_format::as_json, "u2")}));
}

CAF_TEST(a client event off presence carries no user id) {
  start("private-room");
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("private-room", "1.1", link));
  link->clear_frames();
  channel_event ev;
  ev.seq = 1;
  ev.kind = event_kind::client;
  ev.event = "client-a";
  ev.data = "[1]";
  ev.user_id = "u-sneaky";
  deliver(ev);
  CAF_CHECK_EQUAL(link->texts(),
                  strings(
                    {pusher::encode_event("client-a", "private-room", "[1]",
                                          pusher::data_format::as_json)}));
}

CAF_TEST(member and count events are typed values the channel encodes) {
  start("presence-room");
  owner_seen().reply.members = {{"u1", "{}"}};
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("presence-room", "1.1", link));
  link->clear_frames();
  channel_event added;
  added.seq = 1;
  added.kind = event_kind::member_added;
  added.event = "pusher_internal:member_added";
  added.user_id = "u2";
  added.data = R"({"n":2})";
  deliver(added);
  auto& known = state_of<channel_state>(chan).more().known_members;
  CAF_CHECK_EQUAL(known.count("u1"), 1u);
  CAF_CHECK_EQUAL(known.count("u2"), 1u);
  channel_event removed;
  removed.seq = 2;
  removed.kind = event_kind::member_removed;
  removed.event = "pusher_internal:member_removed";
  removed.user_id = "u1";
  deliver(removed);
  CAF_CHECK_EQUAL(known.count("u1"), 0u);
  CAF_CHECK_EQUAL(
    link->texts(),
    strings({pusher::encode_member_added(
               "presence-room", pusher::presence_member{"u2", R"({"n":2})"}),
             pusher::encode_member_removed("presence-room", "u1")}));
  // A count on another kind of channel.
  start("room");
  auto l2 = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", l2));
  l2->clear_frames();
  channel_event count;
  count.seq = 1;
  count.kind = event_kind::subscription_count;
  count.event = "pusher_internal:subscription_count";
  count.count = 3;
  count.exclude = "1.9";
  deliver(count);
  CAF_CHECK_EQUAL(l2->texts(),
                  strings({pusher::encode_subscription_count("room", 3)}));
}

CAF_TEST(client events from a subscriber go to the owner) {
  start("private-room");
  auto conn = connection();
  subscribe_ok(conn, join_of("private-room", "1.1", make_fake_link()));
  self->send(conn, client_event{"client-a", "{}", "1.1", ""});
  expect((client_event), from(self).to(conn));
  expect((client_event), from(conn).to(chan));
  expect((client_event), from(chan).to(owner));
  CAF_REQUIRE_EQUAL(owner_seen().client_events.size(), 1u);
  CAF_CHECK_EQUAL(owner_seen().client_events[0].event, "client-a");
  CAF_CHECK_EQUAL(owner_seen().client_events[0].socket_id, "1.1");
}

CAF_TEST(an answer of the app logic reaches its sender alone) {
  start("private-room");
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  subscribe_ok(connection(), join_of("private-room", "1.1", l1));
  subscribe_ok(connection(), join_of("private-room", "1.2", l2));
  l1->clear_frames();
  l2->clear_frames();
  caf::anon_send(chan, logic_answer{"1.2", "ack", "done"});
  sched.run();
  CAF_CHECK(l1->texts().empty());
  CAF_CHECK_EQUAL(l2->texts(),
                  strings({pusher::encode_event(
                    "ack", "private-room", "done",
                    pusher::data_format::as_string)}));
  // An answer for a socket that left goes nowhere.
  caf::anon_send(chan, logic_answer{"9.9", "ack", "x"});
  sched.run();
  CAF_CHECK_EQUAL(l1->frame_count() + l2->frame_count(), 1u);
}

CAF_TEST(a watchlist channel tells watchers and writes no frames) {
  start("#watchlist-u9");
  owner_seen().reply.members = {{"u9", ""}};
  auto self_link = make_fake_link();
  auto w1_link = make_fake_link();
  auto w2_link = make_fake_link();
  auto user = connection();
  auto w1 = connection();
  auto w2 = connection();
  auto own = join_of("#watchlist-u9", "1.1", self_link);
  own.member = true;
  own.silent = true;
  own.user_id = "u9";
  subscribe_ok(user, own);
  subscribe_ok(w1, join_of("#watchlist-u9", "1.2", w1_link));
  subscribe_ok(w2, join_of("#watchlist-u9", "1.3", w2_link));
  // The answer says whether the user is online; the watcher's connection
  // tells its client, the channel writes nothing.
  CAF_CHECK_EQUAL(conn_seen(w1).joined[0].members, 1u);
  channel_event ev;
  ev.seq = 1;
  ev.kind = event_kind::member_removed;
  ev.user_id = "u9";
  deliver(ev);
  ev.seq = 2;
  ev.kind = event_kind::member_added;
  deliver(ev);
  ev.seq = 3;
  ev.kind = event_kind::message;
  deliver(ev);
  sched.run();
  for (auto& w : {w1, w2}) {
    auto& got = conn_seen(w).watch_events;
    CAF_REQUIRE_EQUAL(got.size(), 2u);
    CAF_CHECK_EQUAL(got[0].user_id, "u9");
    CAF_CHECK(!got[0].online);
    CAF_CHECK(got[1].online);
  }
  CAF_CHECK(conn_seen(user).watch_events.empty());
  CAF_CHECK_EQUAL(self_link->frame_count() + w1_link->frame_count()
                    + w2_link->frame_count(),
                  0u);
  CAF_CHECK(sink().deliveries().empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(channel_owners, fixture)

CAF_TEST(a lost owner is looked up again and told what this node has) {
  start("presence-room");
  owner_seen().reply.members = {{"u1", R"({"a":1})"}, {"u7", "{}"}};
  auto conn = connection();
  auto join = join_of("presence-room", "1.1", make_fake_link());
  join.member = true;
  join.user_id = "u1";
  join.user_info = R"({"a":1})";
  subscribe_ok(conn, join);
  auto owner2 = spawn_tracked(test::fake_owner);
  dir_seen().owner = owner2;
  // An owner that crashed on a live node is replaced at once: asking
  // again right away finds its successor.
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(dir_seen().resolves.size(), 2u);
  auto& syncs = owner_seen(owner2).syncs;
  CAF_REQUIRE_EQUAL(syncs.size(), 1u);
  CAF_CHECK_EQUAL(syncs[0].node, "node-a");
  CAF_CHECK_EQUAL(syncs[0].subscribers, 1u);
  CAF_REQUIRE_EQUAL(syncs[0].members.size(), 1u);
  CAF_CHECK_EQUAL(syncs[0].members[0].user_id, "u1");
  CAF_CHECK_EQUAL(syncs[0].members[0].user_info, R"({"a":1})");
  auto known = syncs[0].known_members;
  std::sort(known.begin(), known.end());
  CAF_CHECK_EQUAL(known, strings({"u1", "u7"}));
  // Later client events go to the new owner.
  self->send(conn, client_event{"client-a", "{}", "1.1", "u1"});
  sched.run();
  CAF_CHECK_EQUAL(owner_seen(owner2).client_events.size(), 1u);
}

CAF_TEST(an owner on an unreachable node is asked for again after a moment) {
  start("room");
  subscribe_ok(connection(), join_of("room", "1.1", make_fake_link()));
  auto owner2 = spawn_tracked(test::fake_owner);
  dir_seen().owner = owner2;
  // The dead node stays in the view until the bridge notices: asking at
  // once would find the dead owner again.
  caf::anon_send_exit(owner, caf::exit_reason::remote_link_unreachable);
  sched.run();
  CAF_CHECK_EQUAL(dir_seen().resolves.size(), 1u);
  advance_time(200ms);
  sched.run();
  CAF_CHECK_EQUAL(dir_seen().resolves.size(), 2u);
  CAF_CHECK_EQUAL(owner_seen(owner2).syncs.size(), 1u);
}

CAF_TEST(a moved owner is told the node left and the new one is synced) {
  start("room");
  subscribe_ok(connection(), join_of("room", "1.1", make_fake_link()));
  // The ring did not move the channel: nothing happens.
  caf::anon_send(chan, resolve_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(dir_seen().resolves.size(), 2u);
  CAF_CHECK(owner_seen().moved.empty());
  CAF_CHECK(owner_seen().syncs.empty());
  // The ring moved it.
  auto owner2 = spawn_tracked(test::fake_owner);
  dir_seen().owner = owner2;
  caf::anon_send(chan, resolve_atom::value);
  sched.run();
  CAF_REQUIRE_EQUAL(owner_seen().moved.size(), 1u);
  CAF_CHECK_EQUAL(owner_seen().moved[0].node, "node-a");
  CAF_REQUIRE_EQUAL(owner_seen(owner2).syncs.size(), 1u);
  CAF_CHECK_EQUAL(owner_seen(owner2).syncs[0].subscribers, 1u);
  CAF_CHECK(owner_seen(owner2).syncs[0].members.empty());
}

CAF_TEST(a failed owner lookup is retried after 500 ms) {
  dir_seen().owner = nullptr;
  spawn_channel("room");
  sched.run();
  CAF_CHECK_EQUAL(dir_seen().resolves.size(), 1u);
  dir_seen().owner = owner;
  advance_time(499ms);
  sched.run();
  CAF_CHECK_EQUAL(dir_seen().resolves.size(), 1u);
  advance_time(1ms);
  sched.run();
  CAF_CHECK_EQUAL(dir_seen().resolves.size(), 2u);
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  CAF_CHECK_EQUAL(link->frame_count(), 1u);
}

CAF_TEST(an event the bus brings before the first join is answered reaches it) {
  // The owner answered at 100, then numbered 101; the answer crosses the
  // middleman, the event the bus, and the event comes first.
  start("room");
  owner_seen().reply.owner_node = "node-b";
  owner_seen().reply.seq = 100;
  auto link = make_fake_link();
  auto conn = connection();
  self->send(conn, join_of("room", "1.1", link));
  expect((channel_join), from(self).to(conn));
  expect((channel_join), from(conn).to(chan));
  caf::anon_send(chan, event_of(101, "early", "x"));
  expect((channel_event), from(_).to(chan));
  expect((owner_join), from(chan).to(owner));
  expect((owner_joined), from(owner).to(chan));
  deliver(event_of(102, "next", "x"));
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 3u); // succeeded, early, next
  CAF_CHECK(texts[1].find("\"early\"") != std::string::npos);
  CAF_CHECK(texts[2].find("\"next\"") != std::string::npos);
}

CAF_TEST(a lost first event is a gap the owner replays) {
  auto link = subscriber_after(100);
  owner_seen().replay.events = {event_of(101, "first", "x")};
  deliver(event_of(102, "second", "x"));
  advance_time(std::chrono::milliseconds(50));
  sched.run();
  CAF_CHECK_EQUAL(owner_seen().replay_asks, std::vector<uint64_t>({100}));
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 2u);
  CAF_CHECK(texts[0].find("\"first\"") != std::string::npos);
  CAF_CHECK(texts[1].find("\"second\"") != std::string::npos);
}

CAF_TEST(events not newer than the last delivered are dropped) {
  auto link = subscriber_after(100);
  deliver(event_of(101, "a", "x"));
  deliver(event_of(101, "dup", "x"));
  deliver(event_of(99, "old", "x"));
  deliver(event_of(102, "b", "x"));
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 2u);
  CAF_CHECK(texts[0].find("\"a\"") != std::string::npos);
  CAF_CHECK(texts[1].find("\"b\"") != std::string::npos);
}

CAF_TEST(a new owner that numbers lower lowers the bar) {
  start("room");
  owner_seen().reply.owner_node = "node-b";
  uint64_t base = uint64_t{1} << 40;
  owner_seen().reply.seq = base;
  auto link = make_fake_link();
  subscribe_ok(connection(), join_of("room", "1.1", link));
  deliver(event_of(base + 1, "a", "x"));
  // A successor numbering from another node's clock, 3 ms behind, answers
  // the sync.
  auto owner2 = spawn_tracked(test::fake_owner);
  uint64_t other = base - (uint64_t{3} << 20);
  owner_seen(owner2).reply.owner_node = "node-c";
  owner_seen(owner2).reply.seq = other + 5;
  dir_seen().owner = owner2;
  caf::anon_send(chan, resolve_atom::value);
  sched.run();
  link->clear_frames();
  deliver(event_of(other + 6, "b", "x"));
  CAF_REQUIRE_EQUAL(link->frame_count(), 1u);
  CAF_CHECK(link->last_text().find("\"b\"") != std::string::npos);
}

CAF_TEST(a successor continuing the numbers keeps the bar) {
  // The successor's answer to the sync may be older or newer than the
  // events the bus brought: neither repeats nor skips one.
  auto link = subscriber_after(100);
  deliver(event_of(101, "a", "x"));
  auto successor = [&](uint64_t seq, std::vector<uint64_t> replay) {
    auto owner = spawn_tracked(test::fake_owner);
    owner_seen(owner).reply.owner_node = "node-c";
    owner_seen(owner).reply.seq = seq;
    for (auto n : replay)
      owner_seen(owner).replay.events.push_back(
        event_of(n, "r" + std::to_string(n), "x"));
    dir_seen().owner = owner;
    caf::anon_send(chan, resolve_atom::value);
    sched.run();
    return owner;
  };
  // Older: 101 came through the bus before the answer said 100.
  successor(100, {101});
  deliver(event_of(102, "b", "x"));
  // Newer: 103 is numbered, but its event is still under way.
  auto third = successor(103, {103});
  CAF_CHECK_EQUAL(owner_seen(third).replay_asks, std::vector<uint64_t>({102}));
  deliver(event_of(103, "late", "x"));
  deliver(event_of(104, "c", "x"));
  auto texts = link->texts();
  CAF_REQUIRE_EQUAL(texts.size(), 4u);
  CAF_CHECK(texts[0].find("\"a\"") != std::string::npos);
  CAF_CHECK(texts[1].find("\"b\"") != std::string::npos);
  CAF_CHECK(texts[2].find("\"r103\"") != std::string::npos);
  CAF_CHECK(texts[3].find("\"c\"") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST_FIXTURE_SCOPE(channel_leaving, fixture)

CAF_TEST(a terminated connection is removed and reported to the owner) {
  start("room");
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  auto c1 = connection();
  auto c2 = connection();
  subscribe_ok(c1, join_of("room", "1.1", l1));
  subscribe_ok(c2, join_of("room", "1.2", l2));
  terminate(c1);
  expect((owner_leave), from(chan).to(owner));
  auto& leaves = owner_seen().leaves;
  CAF_REQUIRE_EQUAL(leaves.size(), 1u);
  CAF_CHECK_EQUAL(leaves[0].node, "node-a");
  CAF_CHECK_EQUAL(leaves[0].socket_id, "1.1");
  CAF_CHECK(!leaves[0].member);
  // Someone is left: no idle report.
  disallow((channel_idle), from(chan).to(app));
  sched.run();
  CAF_CHECK(idle_reports().empty());
  CAF_CHECK_EQUAL(subscriber_count(), 1u);
  l1->clear_frames();
  l2->clear_frames();
  deliver(event_of(1, "after", "x"));
  CAF_CHECK_EQUAL(l1->frame_count(), 0u);
  CAF_CHECK_EQUAL(l2->frame_count(), 1u);
}

CAF_TEST(a presence leave carries the user id) {
  start("presence-room");
  auto conn = connection();
  auto join = join_of("presence-room", "1.1", make_fake_link());
  join.member = true;
  join.user_id = "u1";
  subscribe_ok(conn, join);
  terminate(conn);
  expect((owner_leave), from(chan).to(owner));
  auto& leaves = owner_seen().leaves;
  CAF_REQUIRE_EQUAL(leaves.size(), 1u);
  CAF_CHECK(leaves[0].member);
  CAF_CHECK_EQUAL(leaves[0].user_id, "u1");
}

CAF_TEST(the last leave reports channel_idle with the join count) {
  start("room");
  auto c1 = connection();
  auto c2 = connection();
  subscribe_ok(c1, join_of("room", "1.1", make_fake_link()));
  subscribe_ok(c2, join_of("room", "1.2", make_fake_link()));
  terminate(c1);
  expect((owner_leave), from(chan).to(owner));
  terminate(c2);
  expect((owner_leave), from(chan).to(owner));
  expect((channel_idle), from(chan).to(app));
  CAF_REQUIRE_EQUAL(idle_reports().size(), 1u);
  CAF_CHECK_EQUAL(idle_reports()[0].channel, "room");
  CAF_CHECK_EQUAL(idle_reports()[0].joins, 2u);
}

CAF_TEST(an unsubscribe removes the subscriber exactly once) {
  start("room");
  auto conn = connection();
  subscribe_ok(conn, join_of("room", "1.1", make_fake_link()));
  self->send(conn, caf::unsubscribe_atom::value);
  expect((caf::unsubscribe_atom), from(self).to(conn));
  expect((caf::unsubscribe_atom), from(conn).to(chan));
  expect((owner_leave), from(chan).to(owner));
  expect((channel_idle), from(chan).to(app));
  // The connection ending later must not produce a second leave.
  self->send_exit(conn, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_CHECK_EQUAL(owner_seen().leaves.size(), 1u);
  CAF_CHECK_EQUAL(idle_reports().size(), 1u);
}

CAF_TEST(a connection that ends while its join is pending still leaves) {
  start("room");
  owner_seen().hold = true;
  auto link = make_fake_link();
  auto conn = connection();
  self->send(conn, join_of("room", "1.1", link));
  sched.run();
  CAF_REQUIRE_EQUAL(owner_seen().held.size(), 1u);
  self->send_exit(conn, caf::exit_reason::user_shutdown);
  sched.run();
  // The owner accepts after the connection is gone.
  self->send(owner, caf::ok_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(owner_seen().leaves.size(), 1u);
  CAF_CHECK_EQUAL(idle_reports().size(), 1u);
  CAF_CHECK_EQUAL(subscriber_count(), 0u);
}

CAF_TEST(stop ends the channel) {
  start("room");
  self->monitor(chan);
  self->send(chan, stop_atom::value);
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.source == chan.address());
  CAF_CHECK(!down.reason);
}

CAF_TEST(crash_atom ends the channel with an error) {
  start("room");
  self->monitor(chan);
  self->send(chan, crash_atom::value);
  sched.run();
  auto down = pop_down();
  CAF_CHECK(down.source == chan.address());
  CAF_CHECK(down.reason);
}

CAF_TEST_FIXTURE_SCOPE_END()
