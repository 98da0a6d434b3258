// Unit tests for bridge/nats_client against a real nats-server on a free
// loopback port: publish/subscribe, no-echo, unsubscribe, and reconnecting
// with the subscription intact after the server is killed and restarted.
#define CAF_SUITE bridge_nats_client
#include <caf/test/unit_test.hpp>

#include "bridge/nats_client.hpp"
#include "bridge/subjects.hpp"
#include "tests/unit/bridge/nats_server_process.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <dirent.h>

using namespace starling;
using namespace starling::bridge;
using starling::test::free_port;
using starling::test::nats_server_process;
using namespace std::chrono_literals;

namespace {

constexpr auto wait_limit = 10s;

/// Messages received by a handler on a nats.c thread, waited for with a cv.
class inbox {
public:
  nats_message_handler handler() {
    return [this](std::string_view subject, std::string_view data) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        messages_.emplace_back(std::string{subject}, std::string{data});
      }
      cv_.notify_all();
    };
  }

  /// Waits until at least `count` messages arrived. Returns whether they did.
  bool wait_for(std::size_t count) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, wait_limit,
                        [&] { return messages_.size() >= count; });
  }

  std::vector<std::pair<std::string, std::string>> messages() {
    std::lock_guard<std::mutex> guard{mtx_};
    return messages_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, std::string>> messages_;
};

/// Counts connection events delivered on nats.c's callback thread.
class event_counter {
public:
  std::function<void()> counter(int& slot) {
    return [this, &slot] {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        ++slot;
      }
      cv_.notify_all();
    };
  }

  /// Waits until `slot` reached `count`. Returns whether it did.
  bool wait_for(const int& slot, int count) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, wait_limit, [&] { return slot >= count; });
  }

  /// Returns the current value of `slot`.
  int value(const int& slot) {
    std::lock_guard<std::mutex> guard{mtx_};
    return slot;
  }

  int disconnects = 0; // guarded by mtx_
  int reconnects = 0;  // guarded by mtx_

private:
  std::mutex mtx_;
  std::condition_variable cv_;
};

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

config::nats_settings settings_for(uint16_t port) {
  config::nats_settings settings;
  settings.servers = {"nats://127.0.0.1:" + std::to_string(port)};
  settings.name = "starling-nats-client-test";
  settings.reconnect_wait_ms = 50;
  return settings;
}

/// A running server and the settings to reach it; fails the test clearly
/// when nats-server cannot be started.
struct server_fixture {
  uint16_t port = free_port();
  nats_server_process server{port};

  server_fixture() {
    if (port == 0)
      CAF_FAIL("no free loopback port");
    if (auto error = server.start(); !error.empty())
      CAF_FAIL(error);
  }
};

} // namespace

CAF_TEST(connect fails with a reason when no server listens) {
  std::string error;
  auto client = nats_client::connect(settings_for(free_port()), {}, error);
  CAF_CHECK(client == nullptr);
  CAF_CHECK(!error.empty());
  CAF_MESSAGE("nats.c says: " << error);
}

CAF_TEST_FIXTURE_SCOPE(nats_client_tests, server_fixture)

CAF_TEST(a subscriber receives what is published on an encoded subject) {
  std::string error;
  auto client = nats_client::connect(settings_for(port), {}, error);
  CAF_REQUIRE_EQUAL(error, "");
  CAF_REQUIRE(client != nullptr);
  CAF_CHECK(client->connected());
  // The tricky channel names must make subjects the server accepts as is.
  auto dotted = event_subject("starling", "app-1", "a..b");
  auto user = event_subject("starling", "app-1", "#server-to-user-42");
  inbox dotted_box;
  inbox user_box;
  auto dotted_sub = client->subscribe(dotted, dotted_box.handler(), error);
  auto user_sub = client->subscribe(user, user_box.handler(), error);
  CAF_REQUIRE(dotted_sub);
  CAF_REQUIRE(user_sub);
  CAF_CHECK_EQUAL(dotted_sub.subject(), dotted);
  std::string binary("\0\x01\xff payload", 11);
  CAF_CHECK_EQUAL(client->publish(dotted, binary), "");
  CAF_CHECK_EQUAL(client->publish(user, "hello"), "");
  CAF_CHECK_EQUAL(client->flush(5000), "");
  CAF_REQUIRE(dotted_box.wait_for(1));
  CAF_REQUIRE(user_box.wait_for(1));
  auto got = dotted_box.messages();
  CAF_CHECK_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(got[0].first, dotted);
  CAF_CHECK_EQUAL(got[0].second, binary);
  auto user_got = user_box.messages();
  CAF_CHECK_EQUAL(user_got[0].second, "hello");
}

CAF_TEST(no echo hides the publishes of a connection from itself) {
  std::string error;
  nats_client_options quiet;
  quiet.no_echo = true;
  auto self = nats_client::connect(settings_for(port), quiet, error);
  auto other = nats_client::connect(settings_for(port), {}, error);
  CAF_REQUIRE(self != nullptr);
  CAF_REQUIRE(other != nullptr);
  inbox self_box;
  inbox other_box;
  auto self_sub = self->subscribe("t.echo", self_box.handler(), error);
  auto other_sub = other->subscribe("t.echo", other_box.handler(), error);
  CAF_REQUIRE(self_sub && other_sub);
  CAF_REQUIRE_EQUAL(self->flush(5000), "");
  CAF_REQUIRE_EQUAL(other->flush(5000), "");
  CAF_CHECK_EQUAL(self->publish("t.echo", "mine"), "");
  CAF_REQUIRE_EQUAL(self->flush(5000), "");
  CAF_REQUIRE(other_box.wait_for(1));
  // If "mine" came back it was queued before the flush's PONG, so it is
  // delivered before "theirs" on the same subscription.
  CAF_CHECK_EQUAL(other->publish("t.echo", "theirs"), "");
  CAF_REQUIRE(self_box.wait_for(1));
  auto got = self_box.messages();
  CAF_CHECK_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(got[0].second, "theirs");
  // `other` echoes: "theirs" reaches other_box too. Wait for it, or its
  // handler may still run on a nats.c thread while other_box is destroyed
  // (a handler call in flight outlives unsubscribing; see nats_subscription).
  CAF_CHECK(other_box.wait_for(2));
}

CAF_TEST(resetting a subscription stops delivery and frees its handler) {
  std::string error;
  auto client = nats_client::connect(settings_for(port), {}, error);
  CAF_REQUIRE(client != nullptr);
  std::mutex mtx;
  std::condition_variable cv;
  bool handler_destroyed = false;
  // Notifies when nats.c destroys the handler, i.e. after its last call.
  auto guard = std::shared_ptr<void>(nullptr, [&](void*) {
    {
      std::lock_guard<std::mutex> lock{mtx};
      handler_destroyed = true;
    }
    cv.notify_all();
  });
  inbox dropped;
  inbox kept;
  auto dropped_sub = client->subscribe(
    "t.reset",
    [guard, h = dropped.handler()](std::string_view s, std::string_view d) {
      h(s, d);
    },
    error);
  guard.reset();
  auto kept_sub = client->subscribe("t.reset", kept.handler(), error);
  CAF_REQUIRE(dropped_sub && kept_sub);
  CAF_CHECK_EQUAL(client->publish("t.reset", "one"), "");
  CAF_REQUIRE(dropped.wait_for(1));
  CAF_REQUIRE(kept.wait_for(1));
  dropped_sub.reset();
  CAF_CHECK(!dropped_sub);
  {
    std::unique_lock<std::mutex> lock{mtx};
    CAF_CHECK(cv.wait_for(lock, wait_limit, [&] { return handler_destroyed; }));
  }
  CAF_CHECK_EQUAL(client->publish("t.reset", "two"), "");
  CAF_REQUIRE(kept.wait_for(2));
  CAF_CHECK_EQUAL(dropped.messages().size(), 1u);
}

CAF_TEST(the client reconnects and its subscription delivers again) {
  event_counter events;
  nats_client_options options;
  options.on_disconnected = events.counter(events.disconnects);
  options.on_reconnected = events.counter(events.reconnects);
  std::string error;
  auto client = nats_client::connect(settings_for(port), options, error);
  CAF_REQUIRE_EQUAL(error, "");
  CAF_REQUIRE(client != nullptr);
  auto subject = event_subject("starling", "app-1", "presence-room.1");
  inbox box;
  auto sub = client->subscribe(subject, box.handler(), error);
  CAF_REQUIRE(sub);
  CAF_CHECK_EQUAL(client->publish(subject, "before"), "");
  CAF_REQUIRE(box.wait_for(1));

  server.stop();
  CAF_REQUIRE(events.wait_for(events.disconnects, 1));
  CAF_CHECK(!client->connected());
  if (auto start_error = server.start(); !start_error.empty())
    CAF_FAIL("restart: " << start_error);
  CAF_REQUIRE(events.wait_for(events.reconnects, 1));
  CAF_CHECK(client->connected());

  // nats.c sends the subscriptions again before it reports "reconnected".
  CAF_CHECK_EQUAL(client->publish(subject, "after"), "");
  CAF_REQUIRE(box.wait_for(2));
  auto got = box.messages();
  CAF_CHECK_EQUAL(got.back().second, "after");
  CAF_CHECK_EQUAL(got.back().first, subject);
}

CAF_TEST(subscriptions share the delivery pool instead of a thread each) {
  std::string error;
  auto client = nats_client::connect(settings_for(port), {}, error);
  CAF_REQUIRE(client != nullptr);
  inbox box;
  std::vector<nats_subscription> subs;
  // The first subscription may start the pool's worker.
  subs.push_back(client->subscribe("t.pool.0", box.handler(), error));
  auto before = thread_count();
  for (int i = 1; i < 200; ++i)
    subs.push_back(
      client->subscribe("t.pool." + std::to_string(i), box.handler(), error));
  for (const auto& sub : subs)
    CAF_REQUIRE(sub);
  CAF_CHECK_LESS_OR_EQUAL(thread_count(), before + 2);
  for (int i = 0; i < 200; ++i)
    client->publish("t.pool." + std::to_string(i), "x");
  CAF_CHECK(box.wait_for(200));
}

CAF_TEST(a subscription may outlive its client) {
  std::string error;
  auto client = nats_client::connect(settings_for(port), {}, error);
  CAF_REQUIRE(client != nullptr);
  inbox box;
  auto sub = client->subscribe("t.outlive", box.handler(), error);
  CAF_REQUIRE(sub);
  CAF_CHECK_EQUAL(client->publish("t.outlive", "x"), "");
  CAF_REQUIRE(box.wait_for(1));
  // Closing the connection closes the subscription; the handle then only
  // releases its reference (nats.c keeps the connection alive for it).
  client.reset();
  sub.reset();
  CAF_CHECK(!sub);
}

CAF_TEST(closing the client reports no disconnect) {
  event_counter events;
  nats_client_options options;
  options.on_disconnected = events.counter(events.disconnects);
  std::string error;
  auto client = nats_client::connect(settings_for(port), options, error);
  CAF_REQUIRE(client != nullptr);
  client.reset();
  // The destructor waited for nats.c's last connection event, so an
  // unmuted disconnect would have been counted by now.
  CAF_CHECK_EQUAL(events.value(events.disconnects), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
