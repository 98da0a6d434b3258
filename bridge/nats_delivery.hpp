// What the NATS bridge shares with nats.c's threads: the state every
// callback reads, the route of one subscribed channel, the flusher thread
// that confirms subscriptions with the server, and the callbacks
// themselves, which decode and hand messages to actors (only anon_send from
// a nats.c thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "bridge/nats_bridge.hpp"
#include "bridge/nats_client.hpp"

namespace starling::bridge::detail {

/// Sends `xs` to the bridge behind `weak` if it is still alive. Safe on any
/// thread; callbacks hold the bridge weakly so that nats.c, which the
/// bridge's state owns, never keeps the bridge alive.
template <class... Ts>
void tell(const caf::actor_addr& weak, Ts&&... xs) {
  if (auto hdl = caf::actor_cast<nats_bridge_actor>(weak))
    caf::anon_send(hdl, std::forward<Ts>(xs)...);
}

/// What every nats.c callback of one bridge shares. Immutable but for the
/// atomic counters.
struct nats_delivery {
  std::string node_id;                   ///< This node: skip its echoes.
  caf::actor_addr bridge;                ///< Where membership news goes.
  std::atomic<uint64_t> delivered{0};    ///< Events handed to channels.
  std::atomic<uint64_t> echoes{0};       ///< Own events dropped.
  std::atomic<uint64_t> bad_payloads{0}; ///< Garbage dropped.
};

/// Where the events of one subscribed channel go. Shared by the bridge and
/// the subscription's nats.c callback.
struct channel_route {
  std::string app_id;     ///< App of the channel (to check envelopes).
  std::string channel;    ///< Channel name (to check envelopes).
  std::mutex mtx;         ///< Guards `target`.
  caf::actor_addr target; ///< The local channel; null once unsubscribed.
};

/// Confirms subscriptions off the actor's thread: a flush (PING/PONG)
/// returns once the server processed every SUB this connection sent before
/// it. Requests that arrive during a flush ride the next one, so a burst of
/// subscribes costs a few round trips, not one each.
class nats_flusher {
public:
  nats_flusher(nats_client& client, caf::actor_addr bridge);

  /// Stops the thread; waits for a flush in progress (bounded by its
  /// timeout).
  ~nats_flusher();

  nats_flusher(const nats_flusher&) = delete;
  nats_flusher& operator=(const nats_flusher&) = delete;

  /// Asks for `(flushed_atom, g)` with g >= `generation` once every SUB sent
  /// so far is confirmed. Runs on the bridge's thread.
  void request(uint64_t generation);

private:
  void run();

  nats_client& client_;
  caf::actor_addr bridge_;
  std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t requested_ = 0; // guarded by mtx_
  uint64_t done_ = 0;      // guarded by mtx_
  bool stop_ = false;      // guarded by mtx_
  std::thread thread_;     // last: starts once the members above exist
};

/// A message on `<prefix>.members`: an announce or a goodbye goes to the
/// bridge. Called on a nats.c delivery thread.
void on_members_message(nats_delivery& delivery, std::string_view data);

/// A message on a channel's subject: its event goes to the local channel.
/// Called on a nats.c delivery thread.
void on_event_message(nats_delivery& delivery, channel_route& route,
                      std::string_view data);

} // namespace starling::bridge::detail
