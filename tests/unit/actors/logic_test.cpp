// Unit tests for app logic (actors/logic, logic_bindings, logic_instances,
// logic_hooks) through a real app, channels and owners: globs, verdict
// helpers, the registry, which channels a binding sees, subscribe gates,
// rewritten / dropped / answered client events in order, the fail-closed
// on_unavailable verdict (and "pass") on timeouts and failures, questions
// that wait for a restarting instance, member notifications, restarts with
// back-off, the failed mark past the restart limit (topology, /metrics).
#define CAF_SUITE actors_logic
#include "tests/support/actor_fixture.hpp"

#include "actors/logic.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/admin.hpp"
#include "actors/app.hpp"
#include "actors/app_directory.hpp"
#include "actors/channel_owner.hpp"
#include "actors/errors.hpp"
#include "actors/logic_bindings.hpp"
#include "actors/messages.hpp"
#include "actors/owner_directory.hpp"
#include "pusher/frame.hpp"
#include "tests/support/app_metrics.hpp"
#include "tests/support/fake_session_link.hpp"
#include "tests/support/probes.hpp"

using namespace starling;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

using strings = std::vector<std::string>;

// -- logic actors under test --------------------------------------------------

/// Allows user ids starting with "vip".
using gate_actor = logic_actor<subscribe_hook>;
gate_actor::behavior_type gate(gate_actor::pointer, logic_handle) {
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
using filter_actor = logic_actor<client_event_hook>;
filter_actor::behavior_type rewriter(filter_actor::pointer, logic_handle) {
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
using silent_actor = logic_actor<subscribe_hook, client_event_hook>;
silent_actor::behavior_type silent(silent_actor::pointer self, logic_handle) {
  struct held_promises {
    std::vector<caf::typed_response_promise<subscribe_verdict>> joins;
    std::vector<caf::typed_response_promise<client_event_verdict>> events;
  };
  auto held = std::make_shared<held_promises>();
  return {
    [self, held](logic_subscribe_atom, const std::string&, const std::string&,
                 const std::string&) {
      auto rp = self->make_response_promise<subscribe_verdict>();
      held->joins.push_back(rp);
      return rp;
    },
    [self, held](logic_client_event_atom, const std::string&,
                 const client_event&) {
      auto rp = self->make_response_promise<client_event_verdict>();
      held->events.push_back(rp);
      return rp;
    },
  };
}

/// Throws on every client event (a logic bug).
filter_actor::behavior_type thrower(filter_actor::pointer, logic_handle) {
  return {
    [](logic_client_event_atom, const std::string&,
       const client_event&) -> client_event_verdict {
      throw std::runtime_error("logic bug");
    },
  };
}

/// Throws on the first client event of the process whose data says "boom"
/// (a crash under a question), then rewrites such events to "ok".
filter_actor::behavior_type flaky(filter_actor::pointer, logic_handle) {
  return {
    [](logic_client_event_atom, const std::string&,
       const client_event& ev) -> client_event_verdict {
      static int booms = 0;
      if (ev.data.find("boom") != std::string::npos && booms++ == 0)
        throw std::runtime_error("logic bug");
      return client_event_verdict::rewrite({}, R"("ok")");
    },
  };
}

/// What the recorder saw.
struct recorded {
  std::vector<member_change> members;
  std::vector<unsubscription> unsubscribed;
  std::vector<occupancy_change> occupancy;
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
    [log](logic_unsubscribe_atom, const unsubscription& x) {
      log->unsubscribed.push_back(x);
    },
    [log](logic_occupancy_atom, const occupancy_change& x) {
      log->occupancy.push_back(x);
    },
  };
}

/// One instance a factory spawned.
struct spawned_instance {
  std::string actor;   ///< Registered name.
  std::string channel; ///< Channel-bound: its channel; else empty.
  caf::actor handle;   ///< The instance.
};

using spawn_log = std::vector<spawned_instance>;

// -- fixture ------------------------------------------------------------------

config::logic_binding_settings binding(std::string actor, std::string channels,
                                       uint32_t max_restarts = 5,
                                       std::string on_unavailable = "closed") {
  config::logic_binding_settings b;
  b.actor = std::move(actor);
  b.channels = std::move(channels);
  b.max_restarts = max_restarts;
  b.on_unavailable = std::move(on_unavailable);
  return b;
}

std::string event_frame(const std::string& event, const std::string& channel,
                        const std::string& data, bool json = true) {
  return pusher::encode_event(event, channel, data,
                              json ? pusher::data_format::as_json
                                   : pusher::data_format::as_string);
}

bool contains(const strings& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  std::shared_ptr<recorded> rec = std::make_shared<recorded>();
  std::shared_ptr<spawn_log> spawns = std::make_shared<spawn_log>();
  logic_registry registry;
  app_actor app;

  fixture() {
    ctx->app.enable_client_messages = true;
    // Registered with add() (its default handler and exception handler),
    // then wrapped so the suite sees every instance spawned.
    logic_registry plain;
    plain.add("gate", gate)
      .add("rewriter", rewriter)
      .add("silent", silent)
      .add("thrower", thrower)
      .add("flaky", flaky)
      .add_factory("recorder",
                   [log = rec](caf::local_actor* parent,
                               const logic_handle& h) {
                     return caf::actor{parent->spawn(recorder, h, log)};
                   },
                   hook_member | hook_unsubscribe | hook_occupancy);
    for (auto& name : plain.names()) {
      auto entry = *plain.find(name);
      registry.add_factory(name,
                           [factory = entry.factory, name, log = spawns](
                             caf::local_actor* parent, const logic_handle& h) {
                             auto hdl = factory(parent, h);
                             log->push_back(
                               spawned_instance{name, h.channel, hdl});
                             return hdl;
                           },
                           entry.hooks);
    }
  }

  ~fixture() override {
    // Strong handles must not outlive the actor system.
    spawns->clear();
  }

  /// Starts the app with these bindings.
  void start(std::vector<config::logic_binding_settings> bindings) {
    ctx->app.logic = std::move(bindings);
    ctx->logic = make_logic_table(ctx->app, registry);
    app = spawn_tracked(app_behavior, app_context_ptr{ctx});
    run();
  }

  app_state& app_st() {
    return state_of<app_state>(app);
  }

  const logic_stats& stats(std::size_t binding) {
    return *ctx->logic->bindings.at(binding).stats;
  }

  owner_actor owner(const std::string& name) {
    auto& owners = state_of<directory_state>(app_st().directory).owners;
    auto i = owners.find(name);
    CAF_REQUIRE(i != owners.end());
    return i->second;
  }

  /// Returns whether the owner of `name` takes the logic path.
  bool has_hooks(const std::string& name) {
    auto host = caf::actor_cast<channel_actor>(owner(name));
    return state_of<channel_state>(host).owner_part->hooks != nullptr;
  }

  /// Returns the instances of `actor` spawned for `channel`, oldest first.
  std::vector<caf::actor> instances(const std::string& actor,
                                    const std::string& channel) {
    std::vector<caf::actor> result;
    for (auto& s : *spawns)
      if (s.actor == actor && s.channel == channel)
        result.push_back(s.handle);
    return result;
  }

  caf::actor latest(const std::string& actor, const std::string& channel) {
    auto xs = instances(actor, channel);
    CAF_REQUIRE(!xs.empty());
    return xs.back();
  }

  channel_actor channel(const std::string& name) {
    auto i = app_st().channels.find(name);
    CAF_REQUIRE(i != app_st().channels.end());
    return i->second.actor;
  }

  /// Joins `name` as `socket_id` (a roster member when `member`, else with
  /// `user_id` as the signed-in user); returns the connection.
  caf::actor join(const std::string& name, const std::string& socket_id,
                  const fake_link_ptr& link, const std::string& user_id = {},
                  bool member = false) {
    auto conn = spawn_tracked(test::fake_connection,
                              caf::actor_cast<caf::actor>(app));
    channel_join j;
    j.channel = name;
    j.socket_id = socket_id;
    j.link = link;
    link->set_socket_id(j.socket_id); // As the connection actor does.
    j.user_id = user_id;
    j.member = member;
    self->send(conn, std::move(j));
    run();
    return conn;
  }

  test::fake_connection_state& seen(const caf::actor& conn) {
    return state_of<test::fake_connection_state>(conn);
  }

  /// A subscriber sends a client event on `name` (as its connection would).
  void client_send(const std::string& name, const std::string& socket_id,
                   const std::string& event, const std::string& data) {
    self->send(channel(name), client_event{event, data, socket_id, {}});
    run();
  }

  /// Asks the app to crash logic `name` ("<actor>" or "<actor>/<channel>").
  caf::error crash(const std::string& name) {
    auto err = ask_error<caf::ok_atom>(app, crash_request{ctx->app.id, "logic",
                                                          name});
    run();
    return err;
  }

  std::string topology() {
    return ask<std::string>(app, topology_request{});
  }

  /// Returns the actor side of /metrics, through an admin actor.
  std::string metrics() {
    return test::app_metrics(*this, ctx, app);
  }
};

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
  CAF_CHECK(glob_match("*", ""));
  CAF_CHECK(glob_match("**a", "a"));
  CAF_CHECK(!glob_match("?", ""));
  CAF_CHECK(!glob_match("", "x"));
}

CAF_TEST(verdict helpers say what they do) {
  auto r = client_event_verdict::rewrite("client-x", "{}").answer("ack", "1");
  CAF_CHECK(r.action == event_action::rewrite);
  CAF_CHECK_EQUAL(r.event, "client-x");
  CAF_CHECK_EQUAL(r.data, "{}");
  CAF_CHECK_EQUAL(r.answer_event, "ack");
  CAF_CHECK_EQUAL(r.answer_data, "1");
  CAF_CHECK(client_event_verdict::drop().action == event_action::drop);
  CAF_CHECK(client_event_verdict::pass().action == event_action::pass);
  CAF_CHECK(!subscribe_verdict::refused("no").allow);
  CAF_CHECK_EQUAL(subscribe_verdict::refused("no").status, 403);
  CAF_CHECK_EQUAL(subscribe_verdict::refused("no", 401).status, 401);
  CAF_CHECK_EQUAL(subscribe_verdict::refused("no").reason, "no");
  CAF_CHECK(subscribe_verdict::allowed().allow);
  CAF_CHECK_EQUAL(to_string(event_action::drop), "drop");
  CAF_CHECK_EQUAL(to_string(event_action::pass), "pass");
  CAF_CHECK_EQUAL(to_string(event_action::rewrite), "rewrite");
}

CAF_TEST(the registry refuses duplicate names and lists what it has) {
  logic_registry r;
  r.add("gate", gate).add("silent", silent);
  CAF_REQUIRE(r.find("gate") != nullptr);
  // The hooks come from the actor's type.
  CAF_CHECK_EQUAL(r.find("gate")->hooks, hook_set{hook_subscribe});
  CAF_CHECK_EQUAL(r.find("silent")->hooks,
                  hook_set{hook_subscribe | hook_client_event});
  CAF_CHECK(r.find("nope") == nullptr);
  bool threw = false;
  try {
    r.add("gate", gate);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CAF_CHECK(threw);
  threw = false;
  try {
    r.add_factory("empty", logic_factory{}, all_hooks);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CAF_CHECK(threw);
  CAF_CHECK_EQUAL(r.names().size(), 2u);
}

CAF_TEST(bindings resolve against the registry) {
  logic_registry r;
  r.add("gate", gate);
  auto app = test::test_app_settings();
  CAF_CHECK(make_logic_table(app, r) == nullptr);
  auto b = binding("gate", "private-*");
  b.timeout_ms = 50;
  b.max_backoff_ms = 300;
  app.logic = {binding("nope", ""), b, binding("gate", "")};
  auto table = make_logic_table(app, r);
  CAF_REQUIRE(table != nullptr);
  // Unknown names are skipped; the rest keeps config order.
  CAF_REQUIRE_EQUAL(table->bindings.size(), 2u);
  auto& first = table->bindings[0];
  CAF_CHECK_EQUAL(first.actor, "gate");
  CAF_CHECK(first.channel_bound());
  CAF_CHECK(first.applies_to("private-x"));
  CAF_CHECK(!first.applies_to("presence-x"));
  CAF_CHECK(first.timeout == std::chrono::milliseconds(50));
  CAF_CHECK(first.restarts.max_delay == std::chrono::milliseconds(300));
  CAF_CHECK_EQUAL(first.restarts.max_restarts, 5u);
  auto& second = table->bindings[1];
  CAF_CHECK(!second.channel_bound());
  CAF_CHECK(second.applies_to("anything"));
  app.logic = {binding("nope", "")};
  CAF_CHECK(make_logic_table(app, r) == nullptr);
}

CAF_TEST_FIXTURE_SCOPE(logic_tests, fixture)

CAF_TEST(an app without bindings takes no logic path) {
  start({});
  CAF_CHECK(ctx->logic == nullptr);
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  join("private-chat-1", "1.1", l1);
  join("private-chat-1", "1.2", l2);
  CAF_CHECK(!has_hooks("private-chat-1"));
  CAF_CHECK(app_st().logic == nullptr);
  l2->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", R"({"text":"bad"})");
  CAF_CHECK_EQUAL(l2->texts(),
                  strings({event_frame("client-msg", "private-chat-1",
                                       R"({"text":"bad"})")}));
  CAF_CHECK(spawns->empty());
}

CAF_TEST(channel-bound logic runs beside matching owners only) {
  start({binding("rewriter", "private-chat-*")});
  auto l1 = make_fake_link();
  join("private-other", "1.1", l1);
  CAF_CHECK(!has_hooks("private-other"));
  CAF_CHECK_EQUAL(stats(0).running.load(), 0);
  join("private-chat-1", "1.2", l1);
  join("private-chat-2", "1.2", l1);
  CAF_CHECK(has_hooks("private-chat-1"));
  CAF_CHECK_EQUAL(stats(0).running.load(), 2);
  // Different instances, one per channel.
  auto a = latest("rewriter", "private-chat-1");
  auto b = latest("rewriter", "private-chat-2");
  CAF_CHECK(a && b && a != b);
  // They end with their owner; the channel rebuilds a crashed owner, and
  // a fresh instance starts beside it.
  auto o2 = owner("private-chat-2");
  caf::anon_send_exit(o2, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK(terminated(b));
  // It was hosted by the channel, which ended with it: its subscriber
  // re-joins the channel's replacement (as a connection does), which hosts
  // the rebuilt owner.
  join("private-chat-2", "1.2", l1);
  CAF_CHECK(owner("private-chat-2") != o2);
  auto b2 = latest("rewriter", "private-chat-2");
  CAF_CHECK(b2 && b2 != b);
  CAF_CHECK(!terminated(b2));
  CAF_CHECK_EQUAL(stats(0).running.load(), 2);
}

CAF_TEST(a refused subscription gets subscription_error and an error) {
  start({binding("gate", "private-vip-*")});
  auto bob = make_fake_link();
  auto conn = join("private-vip-lounge", "1.1", bob, "bob");
  CAF_REQUIRE_EQUAL(seen(conn).errors.size(), 1u);
  CAF_CHECK(seen(conn).errors[0] == errc::subscription_refused);
  CAF_CHECK(seen(conn).joined.empty());
  CAF_CHECK_EQUAL(bob->texts(), strings({pusher::encode_subscription_error(
                                  "private-vip-lounge", "AuthError",
                                  "vip only", 403)}));
  CAF_CHECK_EQUAL(ctx->counters->subscription_errors.load(), 1u);
  auto ann = make_fake_link();
  auto conn2 = join("private-vip-lounge", "1.2", ann, "vip-ann");
  CAF_CHECK_EQUAL(seen(conn2).joined.size(), 1u);
  CAF_CHECK_EQUAL(ann->texts(), strings({pusher::encode_subscription_succeeded(
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
  auto s = ask<owner_stats>(owner("presence-vip-1"), stats_atom::value);
  CAF_CHECK_EQUAL(s.subscribers, 1u);
  CAF_CHECK_EQUAL(s.members, 1u);
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
                  strings({event_frame("client-clean", "private-chat-1",
                                       R"({"text":"***"})")}));
  CAF_CHECK_EQUAL(sender->texts(),
                  strings({event_frame("ack", "private-chat-1", "rewritten",
                                       false)}));
  sender->clear_frames();
  other->clear_frames();
  client_send("private-chat-1", "1.1", "client-drop", "{}");
  CAF_CHECK(other->texts().empty());
  CAF_CHECK_EQUAL(sender->texts(),
                  strings({event_frame("ack", "private-chat-1", "dropped",
                                       false)}));
  other->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", R"({"text":"fine"})");
  CAF_CHECK_EQUAL(other->texts(),
                  strings({event_frame("client-msg", "private-chat-1",
                                       R"({"text":"fine"})")}));
  CAF_CHECK_EQUAL(stats(0).rewritten.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).dropped.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).answered.load(), 3u);
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 0u);
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
    self->send(chan, client_event{"client-n", std::to_string(i), "1.1", {}});
  run();
  strings want;
  for (int i = 0; i < 5; ++i)
    want.push_back(
      event_frame("client-n", "private-chat-1", std::to_string(i)));
  CAF_CHECK_EQUAL(other->texts(), want);
}

CAF_TEST(a silent logic times out into refuse and drop by default) {
  start({binding("silent", "private-slow-*"), binding("rewriter", "private-*")});
  auto l1 = make_fake_link();
  // run() fires the request timers once nothing else is left to do.
  auto c1 = join("private-slow-1", "1.1", l1);
  CAF_CHECK(seen(c1).joined.empty());
  CAF_CHECK_EQUAL(l1->texts(), strings({pusher::encode_subscription_error(
                                 "private-slow-1", "AuthError",
                                 "silent is unavailable", 503)}));
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 1u);
  // The owner of the refused channel ended with its instances.
  CAF_CHECK_EQUAL(stats(0).running.load(), 0);
}

CAF_TEST(a silent logic with on_unavailable pass times out into allow and pass) {
  start({binding("silent", "private-slow-*", 5, "pass")});
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  auto c1 = join("private-slow-1", "1.1", l1);
  join("private-slow-1", "1.2", l2);
  CAF_CHECK_EQUAL(seen(c1).joined.size(), 1u);
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 2u);
  l2->clear_frames();
  client_send("private-slow-1", "1.1", "client-msg", "{}");
  CAF_CHECK_EQUAL(l2->texts(),
                  strings({event_frame("client-msg", "private-slow-1", "{}")}));
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 3u);
}

CAF_TEST(an event whose logic crashed under it waits for the restart) {
  start({binding("flaky", "private-chat-*")});
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  join("private-chat-1", "1.1", l1);
  join("private-chat-1", "1.2", l2);
  auto first = latest("flaky", "private-chat-1");
  l2->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", R"("boom")");
  // The restarted instance decided it: nothing passed undecided.
  CAF_CHECK_EQUAL(l2->texts(),
                  strings({event_frame("client-msg", "private-chat-1",
                                       R"("ok")")}));
  CAF_CHECK_EQUAL(stats(0).restarts.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 0u);
  CAF_CHECK(terminated(first));
  CAF_CHECK(latest("flaky", "private-chat-1") != first);
}

CAF_TEST(a logic that always throws is restarted then the event dropped) {
  start({binding("thrower", "private-chat-*")});
  auto l1 = make_fake_link();
  auto l2 = make_fake_link();
  join("private-chat-1", "1.1", l1);
  join("private-chat-1", "1.2", l2);
  auto first = latest("thrower", "private-chat-1");
  l2->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", "{}");
  // Asked again after each restart, up to the limit; then failed: dropped.
  CAF_CHECK(l2->texts().empty());
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).restarts.load(), 5u);
  CAF_CHECK_EQUAL(stats(0).failed(), 1u);
  CAF_CHECK(terminated(first));
  CAF_CHECK_EQUAL(stats(0).running.load(), 0);
  // Failed: later events are dropped at once.
  client_send("private-chat-1", "1.1", "client-msg", "{}");
  CAF_CHECK(l2->texts().empty());
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 2u);
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
  CAF_CHECK(topology().find(R"("failed_on":[])") != std::string::npos);
  CAF_CHECK(!crash("rewriter/private-chat-1"));
  CAF_CHECK_EQUAL(stats(0).failed(), 1u);
  CAF_CHECK_EQUAL(stats(0).running.load(), 0);
  CAF_CHECK_EQUAL(instances("rewriter", "private-chat-1").size(), 3u);
  // Nothing left to crash; the app serves on without it.
  CAF_CHECK(crash("rewriter/private-chat-1") == errc::not_available);
  auto topo = topology();
  CAF_MESSAGE(topo);
  CAF_CHECK(topo.find(R"("status":"failed")") != std::string::npos);
  CAF_CHECK(topo.find(R"("failed_on":["private-chat-1"])")
            != std::string::npos);
  auto text = metrics();
  CAF_CHECK(text.find("starling_logic_failed{app=\"app-1\",actor=\"rewriter\","
                      "channels=\"private-chat-*\"} 1")
            != std::string::npos);
  CAF_CHECK(text.find("starling_logic_restarts_total{app=\"app-1\","
                      "actor=\"rewriter\",channels=\"private-chat-*\"} 2")
            != std::string::npos);
  other->clear_frames();
  sender->clear_frames();
  client_send("private-chat-1", "1.1", "client-msg", R"({"text":"bad"})");
  // Fail closed: a failed filter drops.
  CAF_CHECK(other->texts().empty());
  CAF_CHECK(sender->texts().empty());
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 1u);
  // The failed mark goes with its owner; the rebuilt owner starts afresh.
  caf::anon_send_exit(owner("private-chat-1"), caf::exit_reason::user_shutdown);
  run();
  // Its channel ended with it; a re-join hosts the rebuilt owner.
  join("private-chat-1", "1.1", sender);
  CAF_CHECK_EQUAL(stats(0).failed(), 0u);
  CAF_CHECK_EQUAL(stats(0).running.load(), 1);
}

CAF_TEST(app-bound logic hears member changes of every channel) {
  start({binding("recorder", "")});
  CAF_REQUIRE(app_st().logic != nullptr);
  CAF_REQUIRE_EQUAL(rec->spawned.size(), 1u);
  CAF_CHECK_EQUAL(rec->spawned[0].channel, "");
  CAF_CHECK_EQUAL(rec->spawned[0].actor_name, "recorder");
  CAF_CHECK_EQUAL(rec->spawned[0].app_id, "app-1");
  CAF_CHECK_EQUAL(rec->spawned[0].node_id, "node-a");
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
  auto handles = app_st().logic->handles();
  CAF_REQUIRE_EQUAL(handles.size(), 1u);
  CAF_CHECK(handles[0] == latest("recorder", ""));
  CAF_CHECK(!terminated(handles[0]));
  caf::anon_send_exit(c1, caf::exit_reason::kill);
  run();
  CAF_REQUIRE_EQUAL(rec->members.size(), 3u);
  CAF_CHECK_EQUAL(rec->members[2].user_id, "ann");
  CAF_CHECK(!rec->members[2].added);
  // App-bound instances are no channel's: crashing one "beside" a channel
  // is an error.
  CAF_CHECK(crash("recorder/presence-room") == errc::not_available);
}

CAF_TEST(app-bound logic hears unsubscriptions and occupancy changes) {
  start({binding("recorder", "")});
  auto c1 = join("room", "1.1", make_fake_link());
  auto c2 = join("room", "1.2", make_fake_link());
  CAF_REQUIRE_EQUAL(rec->occupancy.size(), 1u);
  CAF_CHECK_EQUAL(rec->occupancy[0].channel, "room");
  CAF_CHECK(rec->occupancy[0].occupied);
  caf::anon_send_exit(c1, caf::exit_reason::kill);
  run();
  CAF_REQUIRE_EQUAL(rec->unsubscribed.size(), 1u);
  CAF_CHECK_EQUAL(rec->unsubscribed[0].channel, "room");
  CAF_CHECK_EQUAL(rec->unsubscribed[0].socket_id, "1.1");
  CAF_CHECK_EQUAL(rec->occupancy.size(), 1u);
  caf::anon_send_exit(c2, caf::exit_reason::kill);
  run();
  CAF_CHECK_EQUAL(rec->unsubscribed.size(), 2u);
  CAF_REQUIRE_EQUAL(rec->occupancy.size(), 2u);
  CAF_CHECK(!rec->occupancy[1].occupied);
}

CAF_TEST(hooks of several bindings run in config order) {
  start({binding("gate", "private-*"), binding("rewriter", "private-*")});
  auto vip = make_fake_link();
  auto other = make_fake_link();
  join("private-x", "1.1", vip, "vip-1");
  join("private-x", "1.2", other, "vip-2");
  join("private-x", "1.3", make_fake_link(), "nobody");
  CAF_CHECK_EQUAL(stats(0).refused.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).calls.load(), 3u);
  // The rewriter has no subscribe hook: it is not asked at all.
  CAF_CHECK_EQUAL(stats(1).calls.load(), 0u);
  CAF_CHECK_EQUAL(stats(1).unavailable.load(), 0u);
  other->clear_frames();
  client_send("private-x", "1.1", "client-msg", R"("bad")");
  CAF_CHECK_EQUAL(other->texts(),
                  strings({event_frame("client-clean", "private-x",
                                       R"({"text":"***"})")}));
  // The gate has no client-event hook: not asked either.
  CAF_CHECK_EQUAL(stats(0).calls.load(), 3u);
  CAF_CHECK_EQUAL(stats(1).calls.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
