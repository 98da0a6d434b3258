// RAII over nats.c: one NATS connection configured from the nats settings,
// publish, subscriptions as owning handles, and connection events. No CAF in
// here; the NATS bridge adapts it to actors.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "config/settings.hpp"

// nats.c's opaque handle types, declared exactly as nats/nats.h declares
// them, so that this header does not pull nats.h into its includers.
typedef struct __natsOptions natsOptions;
typedef struct __natsConnection natsConnection;
typedef struct __natsSubscription natsSubscription;

namespace starling::bridge {

namespace detail {
struct nats_connection_events;
} // namespace detail

/// Handles one message. Called on a nats.c delivery thread: copy out what
/// you need, only anon_send from here, never block, never throw. `subject`
/// and `data` are valid only during the call.
using nats_message_handler
  = std::function<void(std::string_view subject, std::string_view data)>;

/// How a client behaves beyond what nats_settings says.
struct nats_client_options {
  /// Do not deliver this connection's own publishes to its subscriptions.
  bool no_echo = false;
  /// Called when the connection to the server is lost (nats.c then retries
  /// forever). Called on a nats.c thread: only anon_send from here.
  std::function<void()> on_disconnected;
  /// Called when the connection is back and every subscription was sent
  /// to the server again. Called on a nats.c thread: only anon_send from here.
  std::function<void()> on_reconnected;
};

/// An active subscription; destroying or resetting it unsubscribes. Move-only.
/// After unsubscribing no new message is handed to the handler; one call that
/// already started may still be running on its nats.c thread, and the handler
/// object is destroyed by nats.c after that call returns.
class nats_subscription {
public:
  /// Makes an empty handle that owns no subscription.
  nats_subscription() = default;
  nats_subscription(nats_subscription&&) noexcept = default;
  nats_subscription& operator=(nats_subscription&&) noexcept = default;
  ~nats_subscription() = default;

  /// Unsubscribes now; the handle is empty afterwards.
  void reset() { sub_.reset(); }

  /// Returns whether the handle owns a subscription.
  explicit operator bool() const { return static_cast<bool>(sub_); }

  /// Returns the subject this handle subscribed to, or empty.
  const std::string& subject() const { return subject_; }

private:
  friend class nats_client;

  struct deleter {
    void operator()(natsSubscription* sub) const;
  };

  nats_subscription(natsSubscription* sub, std::string subject)
    : sub_(sub), subject_(std::move(subject)) {
    // nop
  }

  std::unique_ptr<natsSubscription, deleter> sub_;
  std::string subject_;
};

/// One connection to a NATS cluster. Reconnects forever after a disconnect
/// (messages published meanwhile go to nats.c's reconnect buffer) and
/// re-subscribes by itself. Messages of all subscriptions are delivered by
/// nats.c's shared delivery pool, so threads do not grow with subscriptions.
/// Thread-safe: publish and subscribe may be called from any thread.
class nats_client {
public:
  /// Connects to one of `settings.servers` (nats.c shuffles them to spread
  /// nodes over a NATS cluster; its default URL when empty) with the name,
  /// token or user/password and reconnect wait of `settings`. Returns nullptr
  /// when no server accepts, with `error` saying why.
  static std::unique_ptr<nats_client>
  connect(const config::nats_settings& settings, nats_client_options options,
          std::string& error);

  /// Closes the connection; waits (bounded) until nats.c has delivered its
  /// last connection event, so no option callback runs after this returns.
  ~nats_client();

  nats_client(const nats_client&) = delete;
  nats_client& operator=(const nats_client&) = delete;

  /// Publishes `data` on `subject`. Buffered while reconnecting. Returns an
  /// empty string on success, else why the message was not accepted.
  std::string publish(const std::string& subject, std::string_view data);

  /// Subscribes `handler` to `subject` (wildcards allowed). Returns an empty
  /// handle when nats.c refuses, with `error` saying why.
  nats_subscription subscribe(std::string subject, nats_message_handler handler,
                              std::string& error);

  /// Sends everything buffered and waits up to `timeout_ms` for the server
  /// to confirm it. Returns an empty string on success, else why not.
  std::string flush(int timeout_ms);

  /// Returns whether the connection is currently up.
  bool connected() const;

private:
  struct options_deleter {
    void operator()(natsOptions* opts) const;
  };
  struct connection_deleter {
    void operator()(natsConnection* conn) const;
  };

  nats_client() = default;

  // Shared with nats.c's connection callbacks, which may outlive this
  // object if closing times out.
  std::shared_ptr<detail::nats_connection_events> events_;
  std::unique_ptr<natsOptions, options_deleter> options_;
  std::unique_ptr<natsConnection, connection_deleter> connection_;
};

/// Tears nats.c down when it goes out of scope: its delivery and timer
/// threads, their OpenSSL thread state and the library's memory are
/// released (nats_Close). Declare it before the actor system, so that every
/// nats_client is gone by then; a process that never connected skips it.
class nats_library {
public:
  nats_library() = default;
  nats_library(const nats_library&) = delete;
  nats_library& operator=(const nats_library&) = delete;
  ~nats_library();
};

} // namespace starling::bridge
