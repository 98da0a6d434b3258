// Unit tests for the HTTP API publish hook and the signin hook (actors/logic,
// logic_hooks, app_signin) through a real app, channels and owners: allow,
// drop (errc::publish_refused) and rewrite of publishes, their order, a
// logic actor's own publishes not asked, fail closed (errc::
// logic_unavailable) or "pass" when nobody answers, no hook call for a
// binding without the hook, and signin verdicts of app-bound bindings
// (waiting for a restarting instance, then the fallback).
#define CAF_SUITE actors_logic_api_hooks
#include "tests/support/actor_fixture.hpp"

#include "actors/logic.hpp"

#include <memory>
#include <string>
#include <vector>

#include "actors/app.hpp"
#include "actors/app_signin.hpp"
#include "actors/errors.hpp"
#include "actors/logic_bindings.hpp"
#include "actors/messages.hpp"
#include "pusher/frame.hpp"
#include "tests/support/fake_session_link.hpp"
#include "tests/support/probes.hpp"

using namespace starling;
using test::fake_link_ptr;
using test::make_fake_link;

namespace {

using strings = std::vector<std::string>;

/// "spam" in the data: dropped; event "shout": renamed "message", data
/// "LOUD"; else allowed.
using filter_actor = logic_actor<publish_hook>;
filter_actor::behavior_type filter(filter_actor::pointer, logic_handle) {
  return {
    [](logic_publish_atom, const std::string&, const api_event& ev) {
      if (ev.data.find("spam") != std::string::npos)
        return publish_verdict::drop("no spam");
      if (ev.event == "shout")
        return publish_verdict::rewrite("message", "LOUD");
      if (ev.event == "bad-rename")
        return publish_verdict::rewrite("pusher:evil", "x");
      return publish_verdict::pass();
    },
  };
}

/// Never answers a publish.
filter_actor::behavior_type silent(filter_actor::pointer self, logic_handle) {
  auto held = std::make_shared<
    std::vector<caf::typed_response_promise<publish_verdict>>>();
  return {
    [self, held](logic_publish_atom, const std::string&, const api_event&) {
      held->push_back(self->make_response_promise<publish_verdict>());
      return held->back();
    },
  };
}

/// Refuses user ids starting with "banned".
using door_actor = logic_actor<signin_hook>;
door_actor::behavior_type door(door_actor::pointer, logic_handle) {
  return {
    [](logic_signin_atom, const signin_attempt& who) {
      if (who.user_id.rfind("banned", 0) == 0)
        return signin_verdict::refused("banned: " + who.user_data);
      return signin_verdict::allowed();
    },
  };
}

/// A subscribe gate that allows everyone (it handles no publish or signin).
using gate_actor = logic_actor<subscribe_hook>;
gate_actor::behavior_type gate(gate_actor::pointer, logic_handle) {
  return {
    [](logic_subscribe_atom, const std::string&, const std::string&,
       const std::string&) { return subscribe_verdict::allowed(); },
  };
}

config::logic_binding_settings binding(std::string actor, std::string channels,
                                       std::string on_unavailable = "closed",
                                       uint32_t max_restarts = 5) {
  config::logic_binding_settings b;
  b.actor = std::move(actor);
  b.channels = std::move(channels);
  b.on_unavailable = std::move(on_unavailable);
  b.max_restarts = max_restarts;
  return b;
}

std::string frame(const std::string& event, const std::string& channel,
                  const std::string& data) {
  return pusher::encode_event(event, channel, data,
                              pusher::data_format::as_string);
}

bool is(const caf::error& err, errc code) {
  return err.category() == caf::atom("starling")
         && err.code() == static_cast<uint8_t>(code);
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  logic_registry registry;
  app_actor app;

  fixture() {
    registry.add("filter", filter)
      .add("silent", silent)
      .add("door", door)
      .add("gate", gate);
  }

  void start(std::vector<config::logic_binding_settings> bindings) {
    ctx->app.logic = std::move(bindings);
    ctx->logic = make_logic_table(ctx->app, registry);
    app = spawn_tracked(app_behavior, app_context_ptr{ctx});
    run();
  }

  const logic_stats& stats(std::size_t binding) {
    return *ctx->logic->bindings.at(binding).stats;
  }

  /// Subscribes a fresh connection to `name`; returns its link.
  fake_link_ptr subscriber(const std::string& name) {
    auto link = make_fake_link();
    auto conn = spawn_tracked(test::fake_connection,
                              caf::actor_cast<caf::actor>(app));
    channel_join j;
    j.channel = name;
    j.socket_id = "1." + std::to_string(++sockets);
    j.link = link;
    link->set_socket_id(j.socket_id); // As the connection actor does.
    self->send(conn, std::move(j));
    run();
    link->clear_frames();
    return link;
  }

  publish_request publish(const std::string& channel, const std::string& event,
                          const std::string& data) {
    return publish_request{ctx->app.id, {channel}, event, data, {}};
  }

  /// Publishes; returns the error, or none once the owners took it. Hook
  /// timeouts fire (run()).
  caf::error publish_error(publish_request req) {
    auto rh = self->request(app, caf::infinite, std::move(req));
    run();
    caf::error result = caf::make_error(caf::sec::request_timeout);
    CAF_REQUIRE(self_has_mail());
    rh.receive([&](caf::ok_atom) { result = caf::none; },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Asks the app about a signin; returns the verdict or the error.
  std::pair<signin_verdict, caf::error> signin(const std::string& user) {
    auto rh = self->request(app, caf::infinite,
                            signin_request{"1.9", user, "{\"id\":\"" + user
                                                          + "\"}"});
    run();
    std::pair<signin_verdict, caf::error> result;
    rh.receive([&](signin_verdict& v) { result.first = std::move(v); },
               [&](caf::error& err) { result.second = std::move(err); });
    return result;
  }

  int sockets = 0;
};

} // namespace

CAF_TEST(verdict helpers of the new hooks say what they do) {
  CAF_CHECK(publish_verdict::pass().action == event_action::pass);
  auto d = publish_verdict::drop("why");
  CAF_CHECK(d.action == event_action::drop && d.reason == "why");
  auto r = publish_verdict::rewrite("e", "d");
  CAF_CHECK(r.action == event_action::rewrite && r.event == "e"
            && r.data == "d");
  CAF_CHECK(signin_verdict::allowed().allow);
  auto s = signin_verdict::refused("no");
  CAF_CHECK(!s.allow && s.reason == "no");
  // The compiler sees which hooks an actor handles.
  logic_registry registry;
  registry.add("filter", filter).add("door", door);
  CAF_CHECK_EQUAL(registry.find("filter")->hooks, hook_set{hook_publish});
  CAF_CHECK_EQUAL(registry.find("door")->hooks, hook_set{hook_signin});
}

CAF_TEST_FIXTURE_SCOPE(logic_api_hooks_tests, fixture)

CAF_TEST(publishes are allowed dropped and rewritten) {
  start({binding("filter", "news-*")});
  auto sub = subscriber("news-1");
  CAF_CHECK(!publish_error(publish("news-1", "hello", "plain")));
  CAF_CHECK_EQUAL(sub->texts(), strings({frame("hello", "news-1", "plain")}));
  sub->clear_frames();
  auto err = publish_error(publish("news-1", "hello", "buy spam"));
  CAF_CHECK(is(err, errc::publish_refused));
  CAF_CHECK(sub->texts().empty());
  CAF_CHECK(!publish_error(publish("news-1", "shout", "quiet")));
  CAF_CHECK_EQUAL(sub->texts(), strings({frame("message", "news-1", "LOUD")}));
  sub->clear_frames();
  // A rewrite to a reserved name is refused: the event goes unchanged.
  CAF_CHECK(!publish_error(publish("news-1", "bad-rename", "d")));
  CAF_CHECK_EQUAL(sub->texts(), strings({frame("bad-rename", "news-1", "d")}));
  CAF_CHECK_EQUAL(stats(0).calls.load(), 4u);
  CAF_CHECK_EQUAL(stats(0).dropped.load(), 1u);
  CAF_CHECK_EQUAL(stats(0).rewritten.load(), 1u);
}

CAF_TEST(publishes keep their order through the hook) {
  start({binding("filter", "news-*")});
  auto sub = subscriber("news-1");
  for (int i = 0; i < 5; ++i)
    self->send(app, publish("news-1", "n", i == 2 ? "spam" : std::to_string(i)));
  run();
  drain_self();
  CAF_CHECK_EQUAL(sub->texts(),
                  strings({frame("n", "news-1", "0"), frame("n", "news-1", "1"),
                           frame("n", "news-1", "3"),
                           frame("n", "news-1", "4")}));
}

CAF_TEST(a logic actors own publish is not asked) {
  start({binding("filter", "news-*")});
  auto sub = subscriber("news-1");
  auto req = publish("news-1", "hello", "spam from logic");
  req.from_logic = true;
  CAF_CHECK(!publish_error(req));
  CAF_CHECK_EQUAL(sub->texts(),
                  strings({frame("hello", "news-1", "spam from logic")}));
  CAF_CHECK_EQUAL(stats(0).calls.load(), 0u);
}

CAF_TEST(a publish nobody decides fails closed by default) {
  start({binding("silent", "news-*")});
  auto sub = subscriber("news-1");
  auto err = publish_error(publish("news-1", "hello", "x"));
  CAF_CHECK(is(err, errc::logic_unavailable));
  CAF_CHECK(sub->texts().empty());
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 1u);
}

CAF_TEST(a publish nobody decides passes with on_unavailable pass) {
  start({binding("silent", "news-*", "pass")});
  auto sub = subscriber("news-1");
  CAF_CHECK(!publish_error(publish("news-1", "hello", "x")));
  CAF_CHECK_EQUAL(sub->texts(), strings({frame("hello", "news-1", "x")}));
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 1u);
}

CAF_TEST(a failed publish filter refuses until it is back) {
  start({binding("filter", "news-*", "closed", 0)});
  auto sub = subscriber("news-1");
  auto err = ask_error<caf::ok_atom>(app, crash_request{ctx->app.id, "logic",
                                                         "filter/news-1"});
  CAF_CHECK(!err);
  run();
  CAF_CHECK_EQUAL(stats(0).failed(), 1u);
  CAF_CHECK(is(publish_error(publish("news-1", "hello", "x")),
               errc::logic_unavailable));
  CAF_CHECK(sub->texts().empty());
}

CAF_TEST(bindings without the publish hook are never asked) {
  start({binding("gate", "news-*"), binding("door", "")});
  auto sub = subscriber("news-1");
  auto calls = stats(0).calls.load();
  for (int i = 0; i < 3; ++i)
    CAF_CHECK(!publish_error(publish("news-1", "e", std::to_string(i))));
  CAF_CHECK_EQUAL(sub->texts().size(), 3u);
  CAF_CHECK_EQUAL(stats(0).calls.load(), calls);
  CAF_CHECK_EQUAL(stats(1).calls.load(), 0u);
}

CAF_TEST(app-bound signin gates allow and refuse) {
  start({binding("door", "")});
  CAF_CHECK(asks_signin(*ctx));
  auto ok = signin("ann");
  CAF_CHECK(!ok.second && ok.first.allow);
  auto no = signin("banned-bob");
  CAF_CHECK(!no.second && !no.first.allow);
  CAF_CHECK_EQUAL(no.first.reason, R"(banned: {"id":"banned-bob"})");
  CAF_CHECK_EQUAL(stats(0).calls.load(), 2u);
  CAF_CHECK_EQUAL(stats(0).refused.load(), 1u);
}

CAF_TEST(a failed signin gate fails closed or passes) {
  start({binding("door", "", "closed", 0), binding("door", "", "pass", 0)});
  CAF_CHECK(!ask_error<caf::ok_atom>(app, crash_request{ctx->app.id, "logic",
                                                         "door"}));
  run();
  auto r = signin("ann");
  CAF_CHECK(is(r.second, errc::logic_unavailable));
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 1u);
}

CAF_TEST(a signin waits for a restarting gate and gets its verdict) {
  // "pass": a fallback would allow, so a refusal comes from the instance.
  start({binding("door", "", "pass")});
  CAF_CHECK(!ask_error<caf::ok_atom>(app, crash_request{ctx->app.id, "logic",
                                                         "door"}));
  sched.run(); // The crash, not the restart (10 ms back-off).
  CAF_REQUIRE(state_of<app_state>(app).logic->restarting(0));
  auto rh = self->request(app, caf::infinite,
                          signin_request{"1.9", "banned-bob", "{}"});
  sched.run();
  CAF_CHECK(!self_has_mail()); // Waiting for the instance.
  CAF_CHECK_EQUAL(state_of<app_state>(app).signin_waiters.size(), 1u);
  sched.advance_time(std::chrono::milliseconds(10)); // The restart.
  sched.run();
  CAF_REQUIRE(self_has_mail());
  signin_verdict got;
  rh.receive([&](signin_verdict& v) { got = std::move(v); },
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK(!got.allow);
  CAF_CHECK_EQUAL(got.reason, "banned: {}");
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 0u);
  // Closed: the instance allows (a fallback would be an error).
  start({binding("door", "", "closed")});
  CAF_CHECK(!ask_error<caf::ok_atom>(app, crash_request{ctx->app.id, "logic",
                                                         "door"}));
  sched.run();
  auto ok = self->request(app, caf::infinite,
                          signin_request{"1.10", "ann", "{}"});
  sched.run();
  CAF_CHECK(!self_has_mail());
  sched.advance_time(std::chrono::milliseconds(10));
  sched.run();
  CAF_REQUIRE(self_has_mail());
  ok.receive([&](signin_verdict& v) { CAF_CHECK(v.allow); },
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_CHECK_EQUAL(stats(0).unavailable.load(), 0u);
}

CAF_TEST(a signin gate not back within unavailable_wait gets the fallback) {
  // Waits 5 ms; the restart comes after 10 ms.
  auto closed = binding("door", "", "closed");
  closed.unavailable_wait_ms = 5;
  auto pass = binding("door", "", "pass");
  pass.unavailable_wait_ms = 5;
  for (auto& b : {closed, pass}) {
    start({b});
    CAF_CHECK(!ask_error<caf::ok_atom>(app, crash_request{ctx->app.id,
                                                           "logic", "door"}));
    sched.run();
    auto rh = self->request(app, caf::infinite,
                            signin_request{"1.9", "banned-bob", "{}"});
    sched.run();
    CAF_CHECK(!self_has_mail());
    sched.advance_time(std::chrono::milliseconds(5)); // The deadline only.
    sched.run();
    CAF_REQUIRE(self_has_mail());
    std::pair<signin_verdict, caf::error> r;
    rh.receive([&](signin_verdict& v) { r.first = std::move(v); },
               [&](caf::error& err) { r.second = std::move(err); });
    if (b.on_unavailable == "closed")
      CAF_CHECK(is(r.second, errc::logic_unavailable));
    else
      CAF_CHECK(!r.second && r.first.allow); // Not the instance's refusal.
    CAF_CHECK_EQUAL(stats(0).unavailable.load(), 1u);
    CAF_CHECK(state_of<app_state>(app).signin_waiters.empty());
    // Back afterwards: the next signin is the instance's again.
    sched.advance_time(std::chrono::milliseconds(5));
    sched.run();
    auto next = signin("banned-bob");
    CAF_CHECK(!next.second && !next.first.allow);
  }
}

CAF_TEST(signin asks nobody without an app-bound signin binding) {
  start({binding("door", "news-*"), binding("gate", "")});
  CAF_CHECK(!asks_signin(*ctx));
  start({});
  CAF_CHECK(!asks_signin(*ctx));
}

CAF_TEST_FIXTURE_SCOPE_END()
