// RAII over nats.c: options, connection, subscriptions, connection events.
#include "bridge/nats_client.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nats/nats.h>

namespace starling::bridge {

namespace detail {

/// The user's connection callbacks plus the "closed" signal the destructor
/// waits for. nats.c holds its own reference until its closed callback.
struct nats_connection_events {
  std::function<void()> on_disconnected;
  std::function<void()> on_reconnected;
  std::atomic<bool> closing{false}; // set by ~nats_client: mute the callbacks
  std::mutex mtx;
  std::condition_variable cv;
  bool closed = false; // guarded by mtx

  void mark_closed() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      closed = true;
    }
    cv.notify_all();
  }

  bool wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, timeout, [this] { return closed; });
  }
};

} // namespace detail

namespace {

using events_ref = std::shared_ptr<detail::nats_connection_events>;

// How long ~nats_client waits for nats.c to deliver its last connection
// event. Closing flushes for at most 500 ms (nats.c conn.c, _close).
constexpr auto close_timeout = std::chrono::seconds(5);

// Whether this process opened nats.c (see nats_library).
std::atomic<bool> opened{false};

std::string describe(const char* call, natsStatus status) {
  std::string text = call;
  text += ": ";
  text += natsStatus_GetText(status);
  const char* detail = nats_GetLastError(nullptr);
  if (detail != nullptr && *detail != '\0') {
    text += " (";
    text += detail;
    text += ')';
  }
  return text;
}

// The connection callbacks run on nats.c's single async callback thread, in
// order; "closed" is the last one nats.c ever calls for a connection.

void on_disconnected(natsConnection*, void* closure) noexcept {
  auto& events = **static_cast<events_ref*>(closure);
  // Our own close also reports a disconnect; the owner asked for it.
  if (!events.closing && events.on_disconnected)
    events.on_disconnected();
}

void on_reconnected(natsConnection*, void* closure) noexcept {
  auto& events = **static_cast<events_ref*>(closure);
  if (!events.closing && events.on_reconnected)
    events.on_reconnected();
}

void on_closed(natsConnection*, void* closure) noexcept {
  auto* ref = static_cast<events_ref*>(closure);
  (*ref)->mark_closed();
  delete ref;
}

/// What one subscription's callbacks need; freed by nats.c's completion
/// callback after the last message callback returned.
struct subscription_state {
  nats_message_handler handler;
};

// Called on a nats.c delivery thread: hand over views, destroy, return.
void on_message(natsConnection*, natsSubscription*, natsMsg* msg,
                void* closure) noexcept {
  auto* state = static_cast<subscription_state*>(closure);
  if (!state->handler) {
    natsMsg_Destroy(msg);
    return;
  }
  std::string_view subject = natsMsg_GetSubject(msg);
  std::string_view data{natsMsg_GetData(msg),
                        static_cast<std::size_t>(natsMsg_GetDataLength(msg))};
  state->handler(subject, data);
  natsMsg_Destroy(msg);
}

void on_subscription_complete(void* closure) noexcept {
  delete static_cast<subscription_state*>(closure);
}

/// The reconnect back-off of one configuration: the wait after the n-th
/// failed round over the server list is first * 2^(n-1), capped at `max`,
/// plus a random 0..jitter.
struct reconnect_backoff {
  int64_t first;
  int64_t max;
  int64_t jitter;

  bool operator<(const reconnect_backoff& other) const {
    return std::tie(first, max, jitter)
           < std::tie(other.first, other.max, other.jitter);
  }
};

// nats.c calls the delay handler on its reconnect thread, which may outlive
// the nats_client that configured it; so the closure is an interned
// back-off that is never freed (one per distinct configuration).
const reconnect_backoff* intern(reconnect_backoff backoff) {
  static std::mutex mtx;
  static std::set<reconnect_backoff> interned;
  std::lock_guard<std::mutex> guard{mtx};
  return &*interned.insert(backoff).first;
}

int64_t reconnect_delay(natsConnection*, int attempts, void* closure) noexcept {
  const auto& b = *static_cast<const reconnect_backoff*>(closure);
  int64_t wait = b.first;
  for (int i = 1; i < attempts && wait < b.max; ++i)
    wait *= 2;
  wait = std::min(wait, b.max);
  if (b.jitter > 0) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    wait += std::uniform_int_distribution<int64_t>{0, b.jitter}(rng);
  }
  return wait;
}

} // namespace

void nats_subscription::deleter::operator()(natsSubscription* sub) const {
  // Destroy unsubscribes if the subscription is still open; the handler's
  // state goes with nats.c's completion callback.
  natsSubscription_Destroy(sub);
}

void nats_client::options_deleter::operator()(natsOptions* opts) const {
  natsOptions_Destroy(opts);
}

void nats_client::connection_deleter::operator()(natsConnection* conn) const {
  natsConnection_Destroy(conn);
}

std::unique_ptr<nats_client>
nats_client::connect(const config::nats_settings& settings,
                     nats_client_options options, std::string& error) {
  std::unique_ptr<nats_client> client{new nats_client};
  opened = true;
  natsOptions* opts = nullptr;
  if (auto status = natsOptions_Create(&opts); status != NATS_OK) {
    error = describe("natsOptions_Create", status);
    return nullptr;
  }
  client->options_.reset(opts);
  auto check = [&error](const char* call, natsStatus status) {
    if (status == NATS_OK)
      return true;
    error = describe(call, status);
    return false;
  };
  std::vector<const char*> servers;
  for (const auto& url : settings.servers)
    servers.push_back(url.c_str());
  if (!servers.empty()
      && !check("natsOptions_SetServers",
                natsOptions_SetServers(opts, servers.data(),
                                       static_cast<int>(servers.size()))))
    return nullptr;
  if (!settings.name.empty()
      && !check("natsOptions_SetName",
                natsOptions_SetName(opts, settings.name.c_str())))
    return nullptr;
  if (!settings.token.empty()
      && !check("natsOptions_SetToken",
                natsOptions_SetToken(opts, settings.token.c_str())))
    return nullptr;
  if (!settings.user.empty()
      && !check("natsOptions_SetUserInfo",
                natsOptions_SetUserInfo(opts, settings.user.c_str(),
                                        settings.password.c_str())))
    return nullptr;
  if (settings.uses_tls()) {
    // A tls:// URL makes nats.c require TLS by itself; `tls` does it for
    // nats:// URLs. Errors name the file: nats.c keeps OpenSSL's reason.
    if (!check("natsOptions_SetSecure (TLS)",
               natsOptions_SetSecure(opts, true)))
      return nullptr;
    if (!settings.tls_ca_file.empty()
        && !check(("natsOptions_LoadCATrustedCertificates (TLS CA file "
                   + settings.tls_ca_file + ")")
                    .c_str(),
                  natsOptions_LoadCATrustedCertificates(
                    opts, settings.tls_ca_file.c_str())))
      return nullptr;
    if (!settings.tls_cert_file.empty()
        && !check(("natsOptions_LoadCertificatesChain (TLS certificate "
                   + settings.tls_cert_file + ", key "
                   + settings.tls_key_file + ")")
                    .c_str(),
                  natsOptions_LoadCertificatesChain(
                    opts, settings.tls_cert_file.c_str(),
                    settings.tls_key_file.c_str())))
      return nullptr;
    if (settings.tls_skip_verify
        && !check("natsOptions_SkipServerVerification (TLS)",
                  natsOptions_SkipServerVerification(opts, true)))
      return nullptr;
    if (!settings.tls_hostname.empty()
        && !check("natsOptions_SetExpectedHostname (TLS)",
                  natsOptions_SetExpectedHostname(
                    opts, settings.tls_hostname.c_str())))
      return nullptr;
  }
  // DESIGN.md, Supervision: NATS disconnects are survived, so never give up.
  // The wait doubles per failed round from reconnect_wait_ms up to
  // reconnect_max_wait_ms, with jitter against a thundering herd.
  const auto* backoff = intern(
    {static_cast<int64_t>(settings.reconnect_wait_ms),
     static_cast<int64_t>(std::max(settings.reconnect_max_wait_ms,
                                   settings.reconnect_wait_ms)),
     static_cast<int64_t>(settings.reconnect_jitter_ms)});
  if (!check("natsOptions_SetMaxReconnect",
             natsOptions_SetMaxReconnect(opts, -1))
      || !check("natsOptions_SetReconnectWait",
                natsOptions_SetReconnectWait(
                  opts, static_cast<int64_t>(settings.reconnect_wait_ms)))
      || !check("natsOptions_SetCustomReconnectDelay",
                natsOptions_SetCustomReconnectDelay(
                  opts, reconnect_delay,
                  const_cast<reconnect_backoff*>(backoff))))
    return nullptr;
  // One subscription per channel: without the shared pool nats.c starts a
  // delivery thread per subscription (stack-notes §6: 200 subs, 206 threads).
  if (!check("natsOptions_UseGlobalMessageDelivery",
             natsOptions_UseGlobalMessageDelivery(opts, true)))
    return nullptr;
  if (options.no_echo
      && !check("natsOptions_SetNoEcho", natsOptions_SetNoEcho(opts, true)))
    return nullptr;
  auto events = std::make_shared<detail::nats_connection_events>();
  events->on_disconnected = std::move(options.on_disconnected);
  events->on_reconnected = std::move(options.on_reconnected);
  // nats.c's own reference, released by on_closed. A failed connect never
  // calls back (conn.c: _close(..., doCBs = false)), so then it is ours.
  auto* nats_ref = new events_ref(events);
  natsConnection* conn = nullptr;
  if (!check("natsOptions_SetDisconnectedCB",
             natsOptions_SetDisconnectedCB(opts, on_disconnected, nats_ref))
      || !check("natsOptions_SetReconnectedCB",
                natsOptions_SetReconnectedCB(opts, on_reconnected, nats_ref))
      || !check("natsOptions_SetClosedCB",
                natsOptions_SetClosedCB(opts, on_closed, nats_ref))
      || !check("natsConnection_Connect",
                natsConnection_Connect(&conn, opts))) {
    delete nats_ref;
    return nullptr;
  }
  client->connection_.reset(conn);
  client->events_ = std::move(events);
  return client;
}

nats_client::~nats_client() {
  if (!connection_)
    return;
  events_->closing = true;
  natsConnection_Close(connection_.get());
  // Callbacks already queued on nats.c's callback thread may still run
  // until "closed"; after it, none will.
  events_->wait_closed(close_timeout);
}

std::string nats_client::publish(const std::string& subject,
                                 std::string_view data) {
  auto status = natsConnection_Publish(connection_.get(), subject.c_str(),
                                       data.data(),
                                       static_cast<int>(data.size()));
  if (status != NATS_OK)
    return describe("natsConnection_Publish", status);
  return {};
}

nats_subscription nats_client::subscribe(std::string subject,
                                         nats_message_handler handler,
                                         std::string& error) {
  auto* state = new subscription_state{std::move(handler)};
  natsSubscription* sub = nullptr;
  auto status = natsConnection_Subscribe(&sub, connection_.get(),
                                         subject.c_str(), on_message, state);
  if (status != NATS_OK) {
    delete state;
    error = describe("natsConnection_Subscribe", status);
    return {};
  }
  status = natsSubscription_SetOnCompleteCB(sub, on_subscription_complete,
                                            state);
  if (status != NATS_OK) {
    // Only when the subscription was closed in between (its connection
    // closed). A message callback may still be running, so `state` is
    // leaked rather than freed under it.
    error = describe("natsSubscription_SetOnCompleteCB", status);
    natsSubscription_Destroy(sub);
    return {};
  }
  return nats_subscription{sub, std::move(subject)};
}

std::string nats_client::flush(int timeout_ms) {
  auto status = natsConnection_FlushTimeout(connection_.get(), timeout_ms);
  if (status != NATS_OK)
    return describe("natsConnection_FlushTimeout", status);
  return {};
}

bool nats_client::connected() const {
  return natsConnection_Status(connection_.get()) == NATS_CONN_STATUS_CONNECTED;
}

nats_library::~nats_library() {
  // Only a process that used nats.c has library state to release (any
  // nats_client::connect opened it). CloseAndWait joins nats.c's threads;
  // a timeout (a connection still closing) leaves the rest to exit.
  if (opened.load())
    nats_CloseAndWait(2000);
}

} // namespace starling::bridge
