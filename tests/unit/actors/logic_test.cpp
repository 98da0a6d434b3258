// Unit tests for app logic (actors/logic*.{hpp,cpp}) through a real app,
// channels and owners: which channels a binding sees, refused
// subscriptions, rewritten / dropped / answered client events, the
// pass-through default on timeouts and crashes, member notifications,
// restarts with back-off and the failed mark past the restart limit.
#define CAF_SUITE actors_logic
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "actors/logic.hpp"

#include <memory>
#include <string>
#include <vector>

#include "actors/app.hpp"
#include "actors/channel_owner.hpp"
#include "actors/errors.hpp"
#include "actors/logic_runtime.hpp"
#include "actors/messages.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_session_link.hpp"
#include "pusher/frame.hpp"

using namespace starling;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

// -- logic actors under test ---------------------------------------------------

/// Allows user ids starting with "vip".
caf::behavior gate(caf::event_based_actor*, logic_handle) {
  return {
    [](logic_subscribe_atom, const std::string&, const std::string&,
       const std::string& user_id) {
      if (user_id.rfind("vip", 0) == 0)
        return subscribe_verdict::allowed();
      return subscribe_verdict::refused("vip only");
    },
  };
}

/// client-drop: dropped; data with "bad": rewritten to {"text":"***"} and
/// renamed client-clean; everything is answered with `ack`.
caf::behavior rewriter(caf::event_based_actor*, logic_handle) {
  return {
    [](logic_client_event_atom, const std::string&, const client_event& ev) {
      if (ev.event == "client-drop")
        return client_event_verdict::drop().answer("ack", "dropped");
      if (ev.data.find("bad") != std::string::npos)
        return client_event_verdict::rewrite("client-clean",
                                             R"({"text":"***"})")
          .answer("ack", "rewritten");
      return client_event_verdict::pass().answer("ack", "passed");
    },
  };
}

/// Never answers: every question runs into its timeout.
caf::behavior silent(caf::event_based_actor* self, logic_handle) {
  auto held = std::make_shared<std::vector<caf::response_promise>>();
  return {
    [self, held](logic_subscribe_atom, const std::string&, const std::string&,
                 const std::string&) -> caf::result<subscribe_verdict> {
      held->push_back(self->make_response_promise());
      return caf::delegated<subscribe_verdict>{};
    },
    [self, held](logic_client_event_atom, const std::string&,
                 const client_event&) -> caf::result<client_event_verdict> {
      held->push_back(self->make_response_promise());
      return caf::delegated<client_event_verdict>{};
    },
  };
}

/// Throws on every client event (a logic bug).
caf::behavior thrower(caf::event_based_actor*, logic_handle) {
  return {
    [](logic_client_event_atom, const std::string&,
       const client_event&) -> client_event_verdict {
      throw std::runtime_error("logic bug");
    },
  };
}

/// What the recorder saw.
struct recorded {
  std::vector<member_change> members;
  std::vector<logic_handle> spawned;
};

/// Records member changes and its spawns; publishes "seen" on "news".
caf::behavior recorder(caf::event_based_actor* self, logic_handle handle,
                       std::shared_ptr<recorded> log) {
  // Spawned by a raw factory: no silent drop unless it asks for it.
  self->set_default_handler(caf::drop);
  log->spawned.push_back(handle);
  return {
    [handle, log](logic_member_atom, const member_change& change) {
      log->members.push_back(change);
      handle.publish("news", "seen", change.user_id);
    },
  };
}

// -- fixture ---------------------------------------------------------------------

struct fake_connection_state {
  static inline const char* name = "fake_connection";
  std::vector<caf::actor> joined;
  std::vector<caf::error> errors;
};

using fake_connection_actor = caf::stateful_actor<fake_connection_state>;

/// Subscribes through the app on command and records the answers.
caf::behavior fake_connection(fake_connection_actor* self, caf::actor app) {
  return {
    [=](caf::join_atom, channel_join& join) {
      self
        ->request(app, caf::infinite, caf::subscribe_atom::value,
                  std::move(join))
        .then(
          [=](caf::ok_atom, caf::actor chan) {
            self->state.joined.push_back(std::move(chan));
          },
          [=](caf::error& err) {
            self->state.errors.push_back(std::move(err));
          });
    },
  };
}

config::logic_binding_settings binding(std::string actor, std::string channels,
                                       uint32_t max_restarts = 5) {
  config::logic_binding_settings b;
  b.actor = std::move(actor);
  b.channels = std::move(channels);
  b.max_restarts = max_restarts;
  return b;
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  std::shared_ptr<recorded> rec = std::make_shared<recorded>();
  logic_registry registry;
  caf::actor app;

  fixture() {
    ctx->app.enable_client_messages = true;
    registry.add("gate", gate)
      .add("rewriter", rewriter)
      .add("silent", silent)
      .add("thrower", thrower)
      .add_factory("recorder",
                   [log = rec](caf::local_actor* parent, const logic_handle& h) {
                     return caf::actor{parent->spawn(recorder, h, log)};
                   });
  }

  /// Starts the app with these bindings.
  void start(std::vector<config::logic_binding_settings> bindings) {
    ctx->app.logic = std::move(bindings);
    ctx->logic = make_logic_table(ctx->app, registry);
    app = spawn_tracked(app_behavior, app_context_ptr{ctx});
    run();
  }

  app_state& app_st() {
    return deref<caf::stateful_actor<app_state>>(app).state;
  }

  const logic_stats& stats(std::size_t binding) {
    return *ctx->logic->bindings.at(binding).stats;
  }

  caf::actor owner(const std::string& name) {
    auto i = app_st().owners.find(name);
    CAF_REQUIRE(i != app_st().owners.end());
    return i->second.actor;
  }

  owner_logic& owner_lg(const std::string& name) {
    return deref<caf::stateful_actor<channel_owner_state>>(owner(name))
      .state.logic;
  }

  caf::actor channel(const std::string& name) {
    auto i = app_st().channels.find(name);
    CAF_REQUIRE(i != app_st().channels.end());
    return i->second.actor;
  }

  /// Joins `name` as `socket_id` (presence when `presence_user` is set,
  /// else with `user_id` as the signed-in user); returns the connection.
  caf::actor join(const std::string& name, const std::string& socket_id,
                  const fake_link_ptr& link, const std::string& user_id = {},
                  bool presence = false) {
    auto conn = spawn_tracked(fake_connection, app);
    channel_join j;
    j.channel = name;
    j.socket_id = socket_id;
    j.link = link;
    j.user_id = user_id;
    j.presence = presence;
    self->send(conn, caf::join_atom::value, std::move(j));
    run();
    return conn;
  }

  fake_connection_state& seen(const caf::actor& conn) {
    return deref<fake_connection_actor>(conn).state;
  }

  /// A subscriber sends a client event on `name` (as its connection would).
  void client_send(const std::string& name, const std::string& socket_id,
                   const std::string& event, const std::string& data) {
    self->send(channel(name), client_event_atom::value,
               client_event{event, data, socket_id, {}});
    run();
  }

  /// Asks the app to crash logic `name` ("<actor>" or "<actor>/<channel>").
  caf::error crash(const std::string& name) {
    caf::error result;
    auto hdl = self->request(app, caf::infinite,
                             crash_request{ctx->app.id, "logic", name});
    run();
    hdl.receive([](caf::ok_atom) {}, [&](caf::error& err) { result = err; });
    run();
    return result;
  }

  std::string topology() {
    return request<std::string>(app, topology_atom::value);
  }
};

std::string event_frame(const std::string& event, const std::string& channel,
                        const std::string& data, bool json = true) {
  return pusher::encode_event(event, channel, data,
                             json ? pusher::data_format::as_json
                                  : pusher::data_format::as_string);
}

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

} // namespace

CAF_TEST(glob patterns match whole channel names) {
  CAF_CHECK(glob_match("chat-*", "chat-"));
  CAF_CHECK(glob_match("chat-*", "chat-room-1"));
  CAF_CHECK(!glob_match("chat-*", "private-chat-1"));
  CAF_CHECK(glob_match("*-chat-*", "private-chat-1"));
  CAF_CHECK(glob_match("room-?", "room-1"));
  CAF_CHECK(!glob_match("room-?", "room-12"));
  CAF_CHECK(glob_match("a*b*c", "axxbyyc"));
  CAF_CHECK(!glob_match("a*b*c", "axxbyy"));
  CAF_CHECK(glob_match("exact", "exact"));
  CAF_CHECK(!glob_match("exact", "exactly"));
}

CAF_TEST(verdict helpers say what they do) {
  auto r = client_event_verdict::rewrite("client-x", "{}").answer("ack", "1");
  CAF_CHECK(r.action == event_action::rewrite);
  CAF_CHECK_EQUAL(r.event, "client-x");
  CAF_CHECK_EQUAL(r.answer_event, "ack");
  CAF_CHECK(client_event_verdict::drop().action == event_action::drop);
  CAF_CHECK(!subscribe_verdict::refused("no").allow);
  CAF_CHECK_EQUAL(subscribe_verdict::refused("no").status, 403);
  CAF_CHECK(subscribe_verdict::allowed().allow);
  CAF_CHECK_EQUAL(to_string(event_action::drop), "drop");
}

CAF_TEST(the registry refuses duplicate names and lists what it has) {
  logic_registry r;
  r.add("gate", gate);
  CAF_CHECK(r.find("gate") != nullptr);
  CAF_CHECK(r.find("nope") == nullptr);
  bool threw = false;
  try {
    r.add("gate", gate);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CAF_CHECK(threw);
  CAF_CHECK_EQUAL(r.names().size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE(logic_tests, fixture)

CAF_TEST(an app without bindings takes no logic path) {
  start({});
  CAF_CHECK(ctx->logic == nullptr);
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  join("private-chat-1", "1.1", l1);
  join("private-chat-1", "1.2", l2);
  CAF_CHECK(!owner_lg("private-chat-1").active());
  CAF_CHECK(app_st().logic == nullptr);
  l2->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", R"({"text":"bad"})");
  CAF_CHECK_EQUAL(l2->texts(),
                  std::vector<std::string>({event_frame(
                    "client-msg", "private-chat-1", R"({"text":"bad"})")}));
}

CAF_TEST(channel-bound logic runs beside matching owners only) {
  start({binding("rewriter", "private-chat-*")});
  auto l1 = make_fake_link();
  join("private-other", "1.1", l1);
  CAF_CHECK(!owner_lg("private-other").active());
  CAF_CHECK_EQUAL(stats(0).running.load(), 0);
  join("private-chat-1", "1.2", l1);
  join("private-chat-2", "1.2", l1);
  CAF_CHECK(owner_lg("private-chat-1").active());
  CAF_REQUIRE(owner_lg("private-chat-1").own != nullptr);
  CAF_CHECK_EQUAL(stats(0).running.load(), 2);
  // Different instances, one per channel.
  auto a = owner_lg("private-chat-1").own->instances.at(0).actor;
  auto b = owner_lg("private-chat-2").own->instances.at(0).actor;
  CAF_CHECK(a && b && a != b);
  // They end with their owner; the channel rebuilds a crashed owner, and
  // a fresh instance starts beside it.
  auto o2 = owner("private-chat-2");
  caf::anon_send_exit(o2, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK(b->getf(caf::abstract_actor::is_terminated_flag));
  CAF_CHECK(owner("private-chat-2") != o2);
  auto b2 = owner_lg("private-chat-2").own->instances.at(0).actor;
  CAF_CHECK(b2 && b2 != b);
  CAF_CHECK_EQUAL(stats(0).running.load(), 2);
}

CAF_TEST(a refused subscription gets subscription_error and an error) {
  start({binding("gate", "private-vip-*")});
  auto bob = make_fake_link();
  auto conn = join("private-vip-lounge", "1.1", bob, "bob");
  CAF_REQUIRE_EQUAL(seen(conn).errors.size(), 1u);
  CAF_CHECK(seen(conn).errors[0] == errc::subscription_refused);
  CAF_CHECK(seen(conn).joined.empty());
  CAF_CHECK_EQUAL(bob->texts(), std::vector<std::string>(
                                  {pusher::encode_subscription_error(
                                    "private-vip-lounge", "AuthError",
                                    "vip only", 403)}));
  auto ann = make_fake_link();
  auto conn2 = join("private-vip-lounge", "1.2", ann, "vip-ann");
  CAF_CHECK_EQUAL(seen(conn2).joined.size(), 1u);
  CAF_CHECK_EQUAL(ann->texts(), std::vector<std::string>(
                                  {pusher::encode_subscription_succeeded(
                                    "private-vip-lounge", "{}")}));
  CAF_CHECK_EQUAL(stats(0).refused.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).calls.load(), 2u);
  // A public channel of the same app is not asked.
  join("lobby", "1.3", make_fake_link(), "bob");
  CAF_CHECK_EQUAL(stats(0).calls.load(), 2u);
}

CAF_TEST(a refused presence join adds no member) {
  start({binding("gate", "presence-vip-*")});
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  join("presence-vip-1", "1.1", l1, "vip-ann", true);
  l1->clear_frames();
  join("presence-vip-1", "1.2", l2, "bob", true);
  // No member_added reached the member inside.
  CAF_CHECK(l1->texts().empty());
  auto [subs, members, seq] = request<uint64_t, uint64_t, uint64_t>(
    owner("presence-vip-1"), stats_atom::value);
  CAF_CHECK_EQUAL(subs, 1u);
  CAF_CHECK_EQUAL(members, 1u);
}

CAF_TEST(client events are rewritten and dropped and answered) {
  start({binding("rewriter", "private-chat-*")});
  auto sender = make_fake_link();
  auto other = make_fake_link();
  join("private-chat-1", "1.1", sender);
  join("private-chat-1", "1.2", other);
  sender->clear_frames();
  other->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", R"({"text":"bad word"})");
  CAF_CHECK_EQUAL(other->texts(),
                  std::vector<std::string>({event_frame(
                    "client-clean", "private-chat-1", R"({"text":"***"})")}));
  CAF_CHECK_EQUAL(sender->texts(),
                  std::vector<std::string>({event_frame(
                    "ack", "private-chat-1", "rewritten", false)}));
  sender->clear_frames();
  other->clear_frames();
  client_send("private-chat-1", "1.1", "client-drop", "{}");
  CAF_CHECK(other->texts().empty());
  CAF_CHECK_EQUAL(sender->texts(),
                  std::vector<std::string>({event_frame(
                    "ack", "private-chat-1", "dropped", false)}));
  other->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", R"({"text":"fine"})");
  CAF_CHECK_EQUAL(other->texts(),
                  std::vector<std::string>({event_frame(
                    "client-msg", "private-chat-1", R"({"text":"fine"})")}));
  CAF_CHECK_EQUAL(stats(0).rewritten.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).dropped.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).answered.load(), 3u);
  CAF_CHECK_EQUAL(stats(0).passthrough.load(), 0u);
}

CAF_TEST(client events keep their order through the hooks) {
  start({binding("rewriter", "private-chat-*")});
  auto sender = make_fake_link();
  auto other = make_fake_link();
  join("private-chat-1", "1.1", sender);
  join("private-chat-1", "1.2", other);
  other->clear_frames();
  auto chan = channel("private-chat-1");
  for (int i = 0; i < 5; ++i)
    self->send(chan, client_event_atom::value,
               client_event{"client-n", std::to_string(i), "1.1", {}});
  run();
  std::vector<std::string> want;
  for (int i = 0; i < 5; ++i)
    want.push_back(event_frame("client-n", "private-chat-1", std::to_string(i)));
  CAF_CHECK_EQUAL(other->texts(), want);
}

CAF_TEST(a silent logic times out into allow and pass) {
  start({binding("silent", "private-slow-*")});
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  // run() fires the request timers once nothing else is left to do.
  auto c1 = join("private-slow-1", "1.1", l1);
  join("private-slow-1", "1.2", l2);
  CAF_CHECK_EQUAL(seen(c1).joined.size(), 1u);
  CAF_CHECK_EQUAL(stats(0).passthrough.load(), 2u);
  l2->clear_frames();
  client_send("private-slow-1", "1.1", "client-msg", "{}");
  CAF_CHECK_EQUAL(l2->texts(), std::vector<std::string>({event_frame(
                                 "client-msg", "private-slow-1", "{}")}));
  CAF_CHECK_EQUAL(stats(0).passthrough.load(), 3u);
}

CAF_TEST(a logic that throws passes the event and is restarted) {
  start({binding("thrower", "private-chat-*")});
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  join("private-chat-1", "1.1", l1);
  join("private-chat-1", "1.2", l2);
  auto first = owner_lg("private-chat-1").own->instances.at(0).actor;
  l2->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", "{}");
  CAF_CHECK_EQUAL(l2->texts(), std::vector<std::string>({event_frame(
                                 "client-msg", "private-chat-1", "{}")}));
  CAF_CHECK_EQUAL(stats(0).passthrough.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).restarts.load(), 1u);
  auto second = owner_lg("private-chat-1").own->instances.at(0).actor;
  CAF_CHECK(second && second != first);
  CAF_CHECK_EQUAL(stats(0).running.load(), 1);
}

CAF_TEST(crashes past the restart limit mark the instance failed) {
  start({binding("rewriter", "private-chat-*", 2)});
  auto sender = make_fake_link();
  auto other = make_fake_link();
  join("private-chat-1", "1.1", sender);
  join("private-chat-1", "1.2", other);
  // Only channel-bound instances beside an owner on this node.
  CAF_CHECK(crash("rewriter/private-chat-9"));
  CAF_CHECK(!crash("rewriter/private-chat-1"));
  CAF_CHECK_EQUAL(stats(0).restarts.load(), 1u);
  CAF_CHECK(!crash("rewriter/private-chat-1"));
  CAF_CHECK_EQUAL(stats(0).restarts.load(), 2u);
  CAF_CHECK_EQUAL(stats(0).failed(), 0u);
  CAF_CHECK(topology().find(R"("status":"running")") != std::string::npos);
  CAF_CHECK(!crash("rewriter/private-chat-1"));
  CAF_CHECK_EQUAL(stats(0).failed(), 1u);
  CAF_CHECK_EQUAL(stats(0).running.load(), 0);
  auto& inst = owner_lg("private-chat-1").own->instances.at(0);
  CAF_CHECK(inst.failed);
  CAF_CHECK(!inst.actor);
  // Nothing left to crash; the app serves on without it.
  CAF_CHECK(crash("rewriter/private-chat-1"));
  auto topo = topology();
  CAF_CHECK(topo.find(R"("status":"failed")") != std::string::npos);
  CAF_CHECK(topo.find(R"("failed_on":["private-chat-1"])") != std::string::npos);
  auto metrics = logic_metrics({{ctx->app.id, ctx->logic}});
  CAF_CHECK(metrics.find("starling_logic_failed{app=\"app-1\",actor=\"rewriter\","
                         "channels=\"private-chat-*\"} 1")
            != std::string::npos);
  CAF_CHECK(metrics.find("starling_logic_restarts_total{app=\"app-1\","
                         "actor=\"rewriter\",channels=\"private-chat-*\"} 2")
            != std::string::npos);
  other->clear_frames();
  sender->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", R"({"text":"bad"})");
  CAF_CHECK_EQUAL(other->texts(),
                  std::vector<std::string>({event_frame(
                    "client-msg", "private-chat-1", R"({"text":"bad"})")}));
  CAF_CHECK(sender->texts().empty());
  // The failed mark goes with its owner; the rebuilt owner starts afresh.
  caf::anon_send_exit(owner("private-chat-1"), caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(stats(0).failed(), 0u);
}

CAF_TEST(app-bound logic hears member changes of every channel) {
  start({binding("recorder", "")});
  CAF_REQUIRE(app_st().logic != nullptr);
  CAF_REQUIRE_EQUAL(rec->spawned.size(), 1u);
  CAF_CHECK_EQUAL(rec->spawned[0].channel, "");
  CAF_CHECK_EQUAL(rec->spawned[0].actor_name, "recorder");
  CAF_CHECK_EQUAL(rec->spawned[0].app_id, "app-1");
  auto news = make_fake_link();
  join("news", "1.9", news);
  auto l1 = make_fake_link();
  auto c1 = join("presence-room", "1.1", l1, "ann", true);
  join("presence-room", "1.2", make_fake_link(), "bob", true);
  CAF_REQUIRE_EQUAL(rec->members.size(), 2u);
  CAF_CHECK_EQUAL(rec->members[0].user_id, "ann");
  CAF_CHECK(rec->members[0].added);
  CAF_CHECK_EQUAL(rec->members[0].channel, "presence-room");
  // The logic published through the app: subscribers of "news" got it.
  CAF_CHECK(contains(news->texts(), event_frame("seen", "news", "bob", false)));
  // Crash it: the app restarts it and hands owners the new handle.
  CAF_CHECK(!crash("recorder"));
  CAF_CHECK_EQUAL(rec->spawned.size(), 2u);
  CAF_CHECK_EQUAL(stats(0).restarts.load(), 1u);
  auto handles = owner_lg("presence-room").app_bound;
  CAF_REQUIRE_EQUAL(handles.size(), 1u);
  CAF_CHECK(handles[0] == app_st().logic->instances.at(0).actor);
  caf::anon_send_exit(c1, caf::exit_reason::kill);
  run();
  CAF_REQUIRE_EQUAL(rec->members.size(), 3u);
  CAF_CHECK_EQUAL(rec->members[2].user_id, "ann");
  CAF_CHECK(!rec->members[2].added);
}

CAF_TEST(hooks of several bindings run in config order) {
  start({binding("gate", "private-*"), binding("rewriter", "private-*")});
  auto vip = make_fake_link();
  auto other = make_fake_link();
  join("private-x", "1.1", vip, "vip-1");
  join("private-x", "1.2", other, "vip-2");
  join("private-x", "1.3", make_fake_link(), "nobody");
  CAF_CHECK_EQUAL(stats(0).refused.load(), 1u);
  other->clear_frames();
  client_send("private-x", "1.1", "client-msg", R"("bad")");
  CAF_CHECK_EQUAL(other->texts(),
                  std::vector<std::string>({event_frame(
                    "client-clean", "private-x", R"({"text":"***"})")}));
  // The gate has no client-event hook: not handled is no fault.
  CAF_CHECK_EQUAL(stats(0).passthrough.load(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
