// Unit tests for logic state that survives (snapshot_hook / restore_hook):
// snapshots after hooks, a crashed instance restarted from the last one,
// the size bound (refused, counted, the previous one kept), a handoff's
// snapshots restored before any other hook (and a hooked instance
// replaced), the snapshots a leaving owner hands over, and what the owner
// directory keeps beyond its owners (a crashed owner's, a peer's copy).
#define CAF_SUITE actors_logic_snapshot
#include "tests/support/actor_fixture.hpp"

#include "actors/logic.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/admin.hpp"
#include "actors/app.hpp"
#include "actors/app_directory.hpp"
#include "actors/channel_owner.hpp"
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

/// Counts client events into their data ({"n":N}); its count is its
/// snapshot; "client-boom" throws. Every restore is logged.
using counting_actor =
  logic_actor<client_event_hook, snapshot_hook, restore_hook>;

struct restore_log {
  std::vector<std::string> restored; ///< Snapshots given, in order.
};

counting_actor::behavior_type counting(counting_actor::pointer,
                                       std::shared_ptr<restore_log> log) {
  auto n = std::make_shared<uint64_t>(0);
  return {
    [n](logic_client_event_atom, const std::string&, const client_event& ev) {
      if (ev.event == "client-boom")
        throw std::runtime_error("boom");
      return client_event_verdict::rewrite(
        {}, "{\"n\":" + std::to_string(++*n) + "}");
    },
    [n](logic_snapshot_atom) { return std::to_string(*n); },
    [n, log](logic_restore_atom, const std::string& s) {
      log->restored.push_back(s);
      *n = std::stoull(s);
    },
  };
}

config::logic_binding_settings binding(uint32_t max_bytes = 65536) {
  config::logic_binding_settings b;
  b.actor = "counting";
  b.channels = "private-c-*";
  b.snapshot_max_bytes = max_bytes;
  return b;
}

std::string counted(const std::string& channel, int n) {
  return pusher::encode_event("client-x", channel,
                              "{\"n\":" + std::to_string(n) + "}",
                              pusher::data_format::as_json);
}

struct fixture : test::actor_fixture {
  std::shared_ptr<app_context> ctx = test::make_context();
  std::shared_ptr<restore_log> log = std::make_shared<restore_log>();
  std::shared_ptr<std::vector<caf::actor>> spawned
    = std::make_shared<std::vector<caf::actor>>();
  logic_registry registry;
  app_actor app;
  fake_link_ptr sender = make_fake_link();
  fake_link_ptr other = make_fake_link();

  fixture() {
    ctx->app.enable_client_messages = true;
    registry.add_factory(
      "counting",
      [log = log, spawned = spawned](caf::local_actor* parent,
                                     const logic_handle&) {
        auto init = [log](counting_actor::pointer self) {
          self->set_exception_handler(logic_exception_reason);
          return counting(self, log);
        };
        auto hdl = caf::actor_cast<caf::actor>(parent->spawn(init));
        spawned->push_back(hdl);
        return hdl;
      },
      hook_client_event | hook_snapshot | hook_restore);
  }

  ~fixture() override {
    spawned->clear();
  }

  void start(config::logic_binding_settings b) {
    ctx->app.logic = {std::move(b)};
    ctx->logic = make_logic_table(ctx->app, registry);
    app = spawn_tracked(app_behavior, app_context_ptr{ctx});
    run();
  }

  app_state& app_st() {
    return state_of<app_state>(app);
  }

  const logic_stats& stats() {
    return *ctx->logic->bindings.at(0).stats;
  }

  owner_actor owner(const std::string& name) {
    auto& owners = state_of<directory_state>(app_st().directory).owners;
    auto i = owners.find(name);
    CAF_REQUIRE(i != owners.end());
    return i->second;
  }

  void join(const std::string& name, const std::string& socket_id,
            const fake_link_ptr& link, bool rejoin = false) {
    auto conn = spawn_tracked(test::fake_connection,
                              caf::actor_cast<caf::actor>(app));
    channel_join j;
    j.channel = name;
    j.socket_id = socket_id;
    j.link = link;
    j.rejoin = rejoin;
    link->set_socket_id(j.socket_id); // As the connection actor does.
    self->send(conn, std::move(j));
    run();
  }

  /// Two subscribers on `name`; frames cleared.
  void two_on(const std::string& name) {
    join(name, "1.1", sender);
    join(name, "1.2", other);
    sender->clear_frames();
    other->clear_frames();
  }

  void client_send(const std::string& name, const std::string& event) {
    auto& channels = app_st().channels;
    auto i = channels.find(name);
    CAF_REQUIRE(i != channels.end());
    self->send(i->second.actor, client_event{event, "{}", "1.1", {}});
    run();
  }

  caf::error crash(const std::string& name) {
    auto err = ask_error<caf::ok_atom>(app, crash_request{ctx->app.id, "logic",
                                                          name});
    run();
    return err;
  }

  std::string metrics() {
    return test::app_metrics(*this, ctx, app);
  }

  /// A second instance started from snapshot "3", first, and `name` counts
  /// on at 4.
  void goes_on_from_three(const std::string& name) {
    CAF_REQUIRE_EQUAL(spawned->size(), 2u);
    CAF_CHECK_EQUAL(log->restored, strings({"3"}));
    CAF_CHECK_EQUAL(stats().restores.load(), 1u);
    other->clear_frames();
    client_send(name, "client-x");
    CAF_CHECK_EQUAL(other->texts(), strings({counted(name, 4)}));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(logic_snapshot_tests, fixture)

CAF_TEST(a crashed instance is restarted from its last snapshot) {
  start(binding());
  two_on("private-c-1");
  for (int i = 0; i < 3; ++i)
    client_send("private-c-1", "client-x");
  CAF_CHECK_EQUAL(other->texts(),
                  strings({counted("private-c-1", 1), counted("private-c-1", 2),
                           counted("private-c-1", 3)}));
  // A snapshot after each hook (none coalesced: each was answered first).
  CAF_CHECK_EQUAL(stats().snapshots.load(), 3u);
  CAF_CHECK(log->restored.empty());
  auto first = spawned->back();
  CAF_CHECK_EQUAL(crash("counting/private-c-1"), caf::error{});
  CAF_CHECK(terminated(first));
  goes_on_from_three("private-c-1");
}

CAF_TEST(an instance that crashed under an event restarts from the snapshot) {
  start(binding());
  two_on("private-c-1");
  client_send("private-c-1", "client-x");
  client_send("private-c-1", "client-x");
  other->clear_frames();
  // Thrown under the event: restarted from "2", asked again, throws again
  // until the restart limit; every fresh instance got "2" first.
  client_send("private-c-1", "client-boom");
  CAF_CHECK(other->texts().empty());
  CAF_CHECK_EQUAL(log->restored.size(), 5u);
  for (auto& s : log->restored)
    CAF_CHECK_EQUAL(s, "2");
}

CAF_TEST(an oversize snapshot is refused and counted and the last one kept) {
  // One byte: counts 1..9 fit, "10" does not.
  start(binding(1));
  two_on("private-c-1");
  for (int i = 0; i < 11; ++i)
    client_send("private-c-1", "client-x");
  CAF_CHECK_EQUAL(stats().snapshots.load(), 9u);
  CAF_CHECK_EQUAL(stats().snapshots_refused.load(), 2u);
  auto text = metrics();
  CAF_CHECK(text.find("starling_logic_snapshots_total{app=\"app-1\","
                      "actor=\"counting\",channels=\"private-c-*\","
                      "result=\"refused\"} 2")
            != std::string::npos);
  CAF_CHECK(text.find("result=\"kept\"} 9") != std::string::npos);
  crash("counting/private-c-1");
  CAF_CHECK_EQUAL(log->restored, strings({"9"}));
  other->clear_frames();
  client_send("private-c-1", "client-x");
  CAF_CHECK_EQUAL(other->texts(), strings({counted("private-c-1", 10)}));
}

CAF_TEST(a handoff restores its snapshot before any other hook) {
  start(binding());
  two_on("private-c-1");
  CAF_REQUIRE_EQUAL(spawned->size(), 1u);
  auto first = spawned->back();
  owner_handoff h;
  h.app_id = ctx->app.id;
  h.channel = "private-c-1";
  // The numbers go on (a lower one would be dropped as already seen).
  h.seq = ask<owner_stats>(owner("private-c-1"), stats_atom::value).seq;
  h.logic = {logic_state{"counting", "private-c-*", "41"},
             logic_state{"other", "private-c-*", "7"}};
  ask<owner_ref>(owner("private-c-1"), h);
  run();
  // Not hooked yet: the same instance took it, first.
  CAF_CHECK_EQUAL(spawned->size(), 1u);
  CAF_CHECK_EQUAL(log->restored, strings({"41"}));
  client_send("private-c-1", "client-x");
  CAF_CHECK_EQUAL(other->texts(), strings({counted("private-c-1", 42)}));
  // Hooked now: a second handoff replaces it with a fresh instance.
  h.seq = ask<owner_stats>(owner("private-c-1"), stats_atom::value).seq;
  h.logic = {logic_state{"counting", "private-c-*", "100"}};
  ask<owner_ref>(owner("private-c-1"), h);
  run();
  CAF_REQUIRE_EQUAL(spawned->size(), 2u);
  CAF_CHECK(terminated(first));
  CAF_CHECK_EQUAL(stats().restarts.load(), 0u);
  CAF_CHECK_EQUAL(stats().running.load(), 1);
  other->clear_frames();
  client_send("private-c-1", "client-x");
  CAF_CHECK_EQUAL(other->texts(), strings({counted("private-c-1", 101)}));
}

CAF_TEST(a leaving owner hands its fresh snapshots over) {
  start(binding());
  two_on("private-c-1");
  client_send("private-c-1", "client-x");
  client_send("private-c-1", "client-x");
  // A node that records what it is handed.
  auto got = std::make_shared<std::vector<owner_handoff>>();
  auto target = sys.spawn([got](caf::event_based_actor*) -> caf::behavior {
    // Refused: the owner stays (a test has no successor to forward to).
    return {[got](owner_handoff& h) -> caf::result<owner_ref> {
      got->push_back(h);
      return caf::make_error(caf::sec::runtime_error, "test node");
    }};
  });
  track(target);
  auto err = ask_error<caf::ok_atom>(owner("private-c-1"),
                                     hand_off{caf::actor_cast<node_actor>(
                                       target)});
  run();
  CAF_CHECK_NOT_EQUAL(err, caf::error{});
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_REQUIRE_EQUAL(got->front().logic.size(), 1u);
  CAF_CHECK_EQUAL(got->front().logic[0].actor, "counting");
  CAF_CHECK_EQUAL(got->front().logic[0].channels, "private-c-*");
  CAF_CHECK_EQUAL(got->front().logic[0].state, "2");
}

CAF_TEST(a crashed owner is rebuilt from the snapshots its directory kept) {
  start(binding());
  two_on("private-c-1");
  for (int i = 0; i < 3; ++i)
    client_send("private-c-1", "client-x");
  auto& kept = state_of<directory_state>(app_st().directory).logic_states;
  auto e = kept.find("private-c-1");
  CAF_REQUIRE(e != nullptr);
  CAF_CHECK_EQUAL(e->from, "node-a");
  CAF_REQUIRE_EQUAL(e->states.size(), 1u);
  CAF_CHECK_EQUAL(e->states[0].state, "3");
  auto old_owner = owner("private-c-1");
  auto err = ask_error<caf::ok_atom>(app, crash_request{ctx->app.id, "owner",
                                                        "private-c-1"});
  CAF_CHECK(!err);
  run();
  CAF_CHECK(terminated(old_owner));
  // The channel hosted it and crashed with it: its subscribers re-join the
  // channel's replacement (as connections do), which hosts the rebuilt
  // owner.
  join("private-c-1", "1.1", sender, true);
  join("private-c-1", "1.2", other, true);
  sender->clear_frames();
  other->clear_frames();
  CAF_CHECK_NOT_EQUAL(owner("private-c-1"), old_owner);
  // The instance beside the rebuilt owner started from "3".
  goes_on_from_three("private-c-1");
  CAF_CHECK_EQUAL(kept.find("private-c-1")->states[0].state, "4");
}

CAF_TEST(an owner started here restores from a dead peers copy) {
  start(binding());
  // The standby's part: a peer's copy, kept until an owner starts here.
  standby_copy copy{ctx->app.id, "private-c-9", "node-b",
                        {logic_state{"counting", "private-c-*", "41"}}};
  ask<caf::ok_atom>(app, copy);
  auto text = metrics();
  CAF_CHECK(text.find("starling_logic_states{app=\"app-1\"} 1")
            != std::string::npos);
  CAF_CHECK(text.find("starling_logic_state_copies_total{app=\"app-1\","
                      "result=\"received\"} 1")
            != std::string::npos);
  two_on("private-c-9");
  CAF_CHECK_EQUAL(log->restored, strings({"41"}));
  client_send("private-c-9", "client-x");
  CAF_CHECK_EQUAL(other->texts(), strings({counted("private-c-9", 42)}));
  // Its own snapshot replaces the copy.
  auto& kept = state_of<directory_state>(app_st().directory).logic_states;
  CAF_CHECK_EQUAL(kept.find("private-c-9")->from, "node-a");
  CAF_CHECK_EQUAL(kept.find("private-c-9")->states[0].state, "42");
  // A drop from another node than the one it came from changes nothing.
  ask<caf::ok_atom>(app, standby_copy{ctx->app.id, "private-c-9",
                                          "node-b", {}});
  CAF_CHECK(kept.find("private-c-9") != nullptr);
}

CAF_TEST(a copy dropped by its node is not restored) {
  start(binding());
  ask<caf::ok_atom>(app, standby_copy{ctx->app.id, "private-c-9",
                                          "node-b",
                                          {logic_state{"counting",
                                                       "private-c-*", "41"}}});
  ask<caf::ok_atom>(app, standby_copy{ctx->app.id, "private-c-9",
                                          "node-b", {}});
  two_on("private-c-9");
  CAF_CHECK(log->restored.empty());
  client_send("private-c-9", "client-x");
  CAF_CHECK_EQUAL(other->texts(), strings({counted("private-c-9", 1)}));
}

CAF_TEST_FIXTURE_SCOPE_END()
