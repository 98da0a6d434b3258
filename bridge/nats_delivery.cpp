// The NATS bridge's side on nats.c threads (nats_delivery.hpp).
#include "bridge/nats_delivery.hpp"

#include <algorithm>
#include <variant>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "bridge/envelope.hpp"
#include "bridge/nats_bridge.hpp"

namespace starling::bridge::detail {

namespace {

// How long a subscribe reply may wait for the server's confirmation. Past
// it the reply goes out anyway: delivery is at most once.
constexpr int flush_timeout_ms = 2000;

} // namespace

nats_flusher::nats_flusher(nats_client& client, caf::actor_addr bridge)
  : client_(client), bridge_(std::move(bridge)), thread_([this] { run(); }) {
  // nop
}

nats_flusher::~nats_flusher() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void nats_flusher::request(uint64_t generation) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    requested_ = std::max(requested_, generation);
  }
  cv_.notify_one();
}

void nats_flusher::run() {
  std::unique_lock<std::mutex> guard{mtx_};
  for (;;) {
    cv_.wait(guard, [this] { return stop_ || requested_ > done_; });
    if (stop_)
      return;
    auto target = requested_;
    guard.unlock();
    // While disconnected a flush would only wait for its timeout; nats.c
    // sends the SUBs again on reconnect, and events meanwhile are lost
    // anyway (at most once).
    if (client_.connected())
      client_.flush(flush_timeout_ms);
    tell(bridge_, flushed_atom::value, target);
    guard.lock();
    done_ = target;
  }
}


// Called on a nats.c delivery thread: only anon_send from here.
void on_members_message(nats_delivery& delivery,
                        std::string_view data) {
  auto env = decode(data);
  if (!env) {
    ++delivery.bad_payloads;
    return;
  }
  if (auto* hello = std::get_if<announce_envelope>(&*env)) {
    tell(delivery.bridge, announce_atom::value, std::move(hello->node_id),
         std::move(hello->host), hello->port, hello->epoch);
  } else if (auto* bye = std::get_if<goodbye_envelope>(&*env)) {
    tell(delivery.bridge, goodbye_atom::value, std::move(bye->node_id),
         bye->epoch);
  } else {
    // Events never travel on the membership subject.
    ++delivery.bad_payloads;
  }
}

// Called on a nats.c delivery thread: only anon_send from here. nats.c keeps
// the order of one subscription, and one thread sends, so the channel gets
// the owner's order.
void on_event_message(nats_delivery& delivery, channel_route& route,
                      std::string_view data) {
  auto env = decode(data);
  auto* ev = env ? std::get_if<event_envelope>(&*env) : nullptr;
  // An envelope naming another channel than its subject is garbage too.
  if (ev == nullptr || ev->app_id != route.app_id
      || ev->channel != route.channel) {
    ++delivery.bad_payloads;
    return;
  }
  // no_echo already hides our publishes; this also covers a second
  // connection of the same node.
  if (ev->origin_node == delivery.node_id) {
    ++delivery.echoes;
    return;
  }
  channel_event event;
  event.seq = ev->seq;
  event.kind = static_cast<event_kind>(ev->kind);
  event.event = std::move(ev->event);
  event.data = std::move(ev->data);
  event.user_id = std::move(ev->user_id);
  event.count = ev->count;
  event.exclude = std::move(ev->exclude_socket_id);
  event.origin = ev->origin_node;
  event.published_ns = ev->published_ns;
  // Sending under the lock: once unsubscribe cleared the target, no
  // callback can still be about to send to it.
  std::lock_guard<std::mutex> guard{route.mtx};
  if (auto target = caf::actor_cast<channel_actor>(route.target)) {
    caf::anon_send(target, std::move(event));
    ++delivery.delivered;
  }
}

} // namespace starling::bridge::detail
