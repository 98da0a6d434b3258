// App logic: custom CAF actors that steer an app's subscriptions and client
// events. Everything a logic author needs is here: the hooks a logic actor
// handles and what it answers, the handle it gets at spawn, and the
// registry a binary fills before calling starling::run_node (run_node.hpp).
//
// A logic actor is a typed CAF actor whose interface lists the hooks it
// handles (and any messages of its own, e.g. a timer):
//
//   using my_gate = logic_actor<subscribe_hook>;
//   my_gate::behavior_type gate(my_gate::pointer self, logic_handle h);
//
// so a handler with a wrong signature or a verdict of the wrong kind does
// not compile, and the runtime asks an instance only the hooks it lists
// (nothing costs a round trip it does not handle). Bound in the config
// (apps[].logic[]) to a channel glob, one instance runs beside the owner of
// each matching channel (on the owner's node, so it moves with the channel
// in a cluster); bound without a pattern, one instance per node sees every
// channel of the app that the node owns. The hooks:
//
//   subscribe_hook:    (logic_subscribe_atom, channel, socket_id, user_id)
//                      -> subscribe_verdict
//   client_event_hook: (logic_client_event_atom, channel, client_event)
//                      -> client_event_verdict
//   member_hook:       (logic_member_atom, member_change), no reply
//   unsubscribe_hook:  (logic_unsubscribe_atom, unsubscription), no reply
//   occupancy_hook:    (logic_occupancy_atom, occupancy_change), no reply
//   publish_hook:      (logic_publish_atom, channel, api_event)
//                      -> publish_verdict (HTTP API publishes only; a
//                      logic actor's own publishes are not asked)
//   signin_hook:       (logic_signin_atom, signin_attempt) -> signin_verdict
//                      (app-bound bindings only)
//
// State that survives (channel-bound bindings; the two go together):
//
//   snapshot_hook:     (logic_snapshot_atom) -> std::string
//   restore_hook:      (logic_restore_atom, std::string), no reply
//
// The runtime asks for a snapshot (opaque bytes) after each hook it sent
// the instance (coalesced: one question in flight) and always right before
// the channel's owner hands over to another node; it keeps the last one
// (at most the binding's snapshot_max_bytes; a bigger one is refused with
// a log line and counted in /metrics). A fresh instance gets restore with
// that snapshot before any other hook: after a crash (its supervisor
// restarts it) and on the new owner's node (the snapshot travels with the
// owner handoff). Changes made without a hook (an actor's own timer) are
// saved at the next hook or handoff.
//
// Hooks fail closed. A crashed instance is restarted with back-off, and
// questions wait for it (unavailable_wait_ms, default 1000; a question it
// crashed under is asked again). No instance by then, one marked failed
// past its restart limit, no answer within timeout_ms (default 200) or an
// error get the binding's on_unavailable verdict: refuse / drop by default,
// allow / pass with on_unavailable "pass" (counted in /metrics). Messages
// the actor does not handle are answered with an error, which means allow /
// pass (only actors registered with add_factory can get a hook they lack).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <type_traits>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/local_actor.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_behavior.hpp>

#include "actors/messages.hpp"

namespace starling {

// -- what a logic actor receives ----------------------------------------------

/// Runtime -> logic: may `socket_id` (presence or signed-in `user_id`, or
/// empty) subscribe to `channel`? Answer: subscribe_verdict.
using logic_subscribe_atom = caf::atom_constant<caf::atom("lg_sub")>;
/// Runtime -> logic: a client event on `channel` before it is relayed.
/// Answer: client_event_verdict.
using logic_client_event_atom = caf::atom_constant<caf::atom("lg_client")>;
/// Runtime -> logic: a presence member joined or left `channel`; no reply.
using logic_member_atom = caf::atom_constant<caf::atom("lg_member")>;
/// Runtime -> logic: a subscriber left a channel; no reply.
using logic_unsubscribe_atom = caf::atom_constant<caf::atom("lg_unsub")>;
/// Runtime -> logic: a channel became occupied or vacated; no reply.
using logic_occupancy_atom = caf::atom_constant<caf::atom("lg_occ")>;
/// Runtime -> logic: your state, as opaque bytes. Answer: std::string.
using logic_snapshot_atom = caf::atom_constant<caf::atom("lg_snap")>;
/// Runtime -> a fresh instance, before any other hook: its last snapshot.
using logic_restore_atom = caf::atom_constant<caf::atom("lg_restore")>;
/// Runtime-internal control of logic supervision (restarts, handles).
using logic_atom = caf::atom_constant<caf::atom("logic")>;

/// Answer to logic_subscribe_atom: allow, or refuse with the status and
/// reason the client gets in `pusher:subscription_error`.
struct subscribe_verdict {
  bool allow = true;  ///< False: the subscription is refused.
  int status = 403;   ///< subscription_error `status` when refused.
  std::string reason; ///< subscription_error `error` when refused.

  /// Lets the subscription go on.
  static subscribe_verdict allowed() {
    return {};
  }

  /// Refuses it: the client gets `pusher:subscription_error` with
  /// `{"type":"AuthError","error":reason,"status":status}`, as if its auth
  /// endpoint had answered 403.
  static subscribe_verdict refused(std::string reason, int status = 403) {
    return subscribe_verdict{false, status, std::move(reason)};
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_verdict& x) {
  return f(caf::meta::type_name("subscribe_verdict"), x.allow, x.status,
           x.reason);
}

/// What happens to a client event.
enum class event_action : uint8_t {
  pass,    ///< Relay it unchanged.
  drop,    ///< Nobody gets it.
  rewrite, ///< Relay it with the new event name and/or data.
};

/// Returns "pass", "drop" or "rewrite".
std::string to_string(event_action x);

/// Answer to logic_client_event_atom: pass, drop or rewrite, and optionally
/// answer the sender alone with an event of its own.
struct client_event_verdict {
  event_action action = event_action::pass; ///< What happens to the event.
  std::string event; ///< rewrite: new event name; empty keeps it.
  std::string data;  ///< rewrite: new data as JSON text; empty keeps it.
  /// When not empty: an event only the sender receives, on the same
  /// channel (e.g. an ack). Names starting with "pusher" are not sent.
  std::string answer_event;
  std::string answer_data; ///< The answer's data string (as the HTTP API takes it).

  /// Relays the event unchanged.
  static client_event_verdict pass() {
    return {};
  }

  /// Drops the event.
  static client_event_verdict drop() {
    client_event_verdict result;
    result.action = event_action::drop;
    return result;
  }

  /// Relays the event with `new_event` (empty: unchanged) and `new_data`
  /// (JSON text; empty: unchanged; text that is not JSON goes out as a JSON
  /// string). Names starting with "pusher" are refused (passed unchanged).
  static client_event_verdict rewrite(std::string new_event,
                                      std::string new_data) {
    client_event_verdict result;
    result.action = event_action::rewrite;
    result.event = std::move(new_event);
    result.data = std::move(new_data);
    return result;
  }

  /// Returns a copy that also sends `event` with `data` to the sender only.
  client_event_verdict answer(std::string event, std::string data) const {
    auto result = *this;
    result.answer_event = std::move(event);
    result.answer_data = std::move(data);
    return result;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_event_verdict& x) {
  return f(caf::meta::type_name("client_event_verdict"), x.action, x.event,
           x.data, x.answer_event, x.answer_data);
}

/// Notification: a presence member joined (first connection of the user) or
/// left (last connection), exactly when member_added/member_removed go out.
struct member_change {
  std::string channel; ///< Presence channel.
  std::string user_id; ///< The member.
  bool added = true;   ///< True: member_added; false: member_removed.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_change& x) {
  return f(caf::meta::type_name("member_change"), x.channel, x.user_id,
           x.added);
}

/// Notification: a subscriber left `channel` (it unsubscribed or its
/// connection closed; not sent for connections lost with a crashed node).
struct unsubscription {
  std::string channel;   ///< The channel.
  std::string socket_id; ///< The subscriber.
  std::string user_id;   ///< Presence member id, else empty.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unsubscription& x) {
  return f(caf::meta::type_name("unsubscription"), x.channel, x.socket_id,
           x.user_id);
}

/// Notification: `channel` got its first subscriber cluster-wide
/// (occupied) or lost its last (vacated), exactly when the
/// channel_occupied / channel_vacated webhooks go out.
struct occupancy_change {
  std::string channel;   ///< The channel.
  bool occupied = true;  ///< True: occupied; false: vacated.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, occupancy_change& x) {
  return f(caf::meta::type_name("occupancy_change"), x.channel, x.occupied);
}

// -- the hooks, as typed actor signatures ----------------------------------------

/// May a socket subscribe? Args: channel, socket_id, user_id (presence
/// member or signed-in user, else empty).
using subscribe_hook =
  caf::replies_to<logic_subscribe_atom, std::string, std::string,
                  std::string>::with<subscribe_verdict>;
/// A client event before it is relayed. Args: channel, the event.
using client_event_hook =
  caf::replies_to<logic_client_event_atom, std::string,
                  client_event>::with<client_event_verdict>;
/// A presence member joined or left (notification, no reply).
using member_hook = caf::reacts_to<logic_member_atom, member_change>;
/// A subscriber left a channel (notification, no reply).
using unsubscribe_hook = caf::reacts_to<logic_unsubscribe_atom, unsubscription>;
/// A channel became occupied or vacated (notification, no reply).
using occupancy_hook = caf::reacts_to<logic_occupancy_atom, occupancy_change>;

// State that survives (restart, owner move): snapshot_hook and restore_hook
// are listed together or not at all.

/// The instance's state as opaque bytes (any encoding it likes).
using snapshot_hook =
  caf::replies_to<logic_snapshot_atom>::with<std::string>;
/// A fresh instance takes the last snapshot, before any other hook.
using restore_hook = caf::reacts_to<logic_restore_atom, std::string>;
// -- hooks on the HTTP API and on signin -----------------------------------------

/// Runtime -> logic: an HTTP API publish (POST /events, /batch_events) to
/// `channel` before its owner numbers it. Answer: publish_verdict.
using logic_publish_atom = caf::atom_constant<caf::atom("lg_pub")>;
/// Runtime -> app-bound logic: a connection signs in (pusher:signin, its
/// signature already checked). Answer: signin_verdict.
using logic_signin_atom = caf::atom_constant<caf::atom("lg_signin")>;

/// An event published through the HTTP API, as one channel's owner got it.
struct api_event {
  std::string event;     ///< Event name.
  std::string data;      ///< Data string, as the HTTP API took it.
  std::string socket_id; ///< Excluded connection (`socket_id`), or empty.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, api_event& x) {
  return f(caf::meta::type_name("api_event"), x.event, x.data, x.socket_id);
}

/// Answer to logic_publish_atom: allow, drop or rewrite the event on this
/// channel. The HTTP API answers once every channel decided: a drop makes
/// it 403 with `reason` (other channels of the request still get it).
struct publish_verdict {
  event_action action = event_action::pass; ///< What happens to the event.
  std::string event;  ///< rewrite: new event name; empty keeps it.
  std::string data;   ///< rewrite: new data string; empty keeps it.
  std::string reason; ///< drop: why (in the HTTP API's error body).

  /// Lets the event through unchanged.
  static publish_verdict pass() {
    return {};
  }

  /// Drops it on this channel; the publisher gets 403 with `reason`.
  static publish_verdict drop(std::string reason = {}) {
    publish_verdict result;
    result.action = event_action::drop;
    result.reason = std::move(reason);
    return result;
  }

  /// Delivers it with `new_event` (empty: unchanged; names starting with
  /// "pusher" or invalid ones are refused and the event goes unchanged)
  /// and `new_data` (a data string; empty: unchanged).
  static publish_verdict rewrite(std::string new_event, std::string new_data) {
    publish_verdict result;
    result.action = event_action::rewrite;
    result.event = std::move(new_event);
    result.data = std::move(new_data);
    return result;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_verdict& x) {
  return f(caf::meta::type_name("publish_verdict"), x.action, x.event, x.data,
           x.reason);
}

/// A connection signing in as `user_id`.
struct signin_attempt {
  std::string socket_id; ///< The connection.
  std::string user_id;   ///< The user it signs in as.
  /// The signin's whole `user_data` JSON text (id, user_info, watchlist).
  std::string user_data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signin_attempt& x) {
  return f(caf::meta::type_name("signin_attempt"), x.socket_id, x.user_id,
           x.user_data);
}

/// Answer to logic_signin_atom: allow, or refuse (the client gets
/// `pusher:error` 4009 with `reason` and the connection closes with 4009).
struct signin_verdict {
  bool allow = true;  ///< False: the signin is refused.
  std::string reason; ///< Sent to the client when refused.

  /// Lets the signin go on.
  static signin_verdict allowed() {
    return {};
  }

  /// Refuses it with `reason`.
  static signin_verdict refused(std::string reason) {
    return signin_verdict{false, std::move(reason)};
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signin_verdict& x) {
  return f(caf::meta::type_name("signin_verdict"), x.allow, x.reason);
}

/// An HTTP API publish to a channel the binding sees. Args: channel, event.
using publish_hook =
  caf::replies_to<logic_publish_atom, std::string,
                  api_event>::with<publish_verdict>;
/// A connection signs in. Asked of app-bound bindings only (a signin
/// belongs to no channel).
using signin_hook =
  caf::replies_to<logic_signin_atom, signin_attempt>::with<signin_verdict>;

/// A logic actor handling the hooks among `Sigs` (plus its own messages).
template <class... Sigs>
using logic_actor = caf::typed_actor<Sigs...>;

/// Which hooks an instance handles (bits of hook_bit).
using hook_set = uint32_t;

/// One bit per hook.
enum hook_bit : hook_set {
  hook_subscribe = 1,
  hook_client_event = 2,
  hook_member = 4,
  hook_unsubscribe = 8,
  hook_occupancy = 16,
  all_hooks = 31 | (1 << 8) | (1 << 9),
  hook_publish = 1 << 8,
  hook_signin = 1 << 9,
  // State hooks: high bits, apart from the event hooks (room for more of
  // those), and not in all_hooks (a factory opts in).
  hook_snapshot = 1u << 16,
  hook_restore = 1u << 17,
};

namespace detail {

template <class Sig>
struct hook_of : std::integral_constant<hook_set, 0> {};
template <>
struct hook_of<subscribe_hook>
  : std::integral_constant<hook_set, hook_subscribe> {};
template <>
struct hook_of<client_event_hook>
  : std::integral_constant<hook_set, hook_client_event> {};
template <>
struct hook_of<member_hook> : std::integral_constant<hook_set, hook_member> {};
template <>
struct hook_of<unsubscribe_hook>
  : std::integral_constant<hook_set, hook_unsubscribe> {};
template <>
struct hook_of<occupancy_hook>
  : std::integral_constant<hook_set, hook_occupancy> {};
template <>
struct hook_of<snapshot_hook>
  : std::integral_constant<hook_set, hook_snapshot> {};
template <>
struct hook_of<restore_hook>
  : std::integral_constant<hook_set, hook_restore> {};
template <>
struct hook_of<publish_hook> : std::integral_constant<hook_set, hook_publish> {};
template <>
struct hook_of<signin_hook> : std::integral_constant<hook_set, hook_signin> {};

template <class T>
constexpr bool is_hook_atom = std::is_same<T, logic_subscribe_atom>::value
                              || std::is_same<T, logic_client_event_atom>::value
                              || std::is_same<T, logic_member_atom>::value
                              || std::is_same<T, logic_unsubscribe_atom>::value
                              || std::is_same<T, logic_occupancy_atom>::value
                              || std::is_same<T, logic_snapshot_atom>::value
                              || std::is_same<T, logic_restore_atom>::value
                              || std::is_same<T, logic_publish_atom>::value
                              || std::is_same<T, logic_signin_atom>::value;

// A signature that starts with a hook atom but is not exactly that hook
// would never be called: refused at compile time.
template <class Sig>
struct bad_hook : std::false_type {};
template <class In0, class... Ins, class Out>
struct bad_hook<caf::typed_mpi<caf::detail::type_list<In0, Ins...>, Out>>
  : std::integral_constant<bool,
                           is_hook_atom<In0>
                             && hook_of<caf::typed_mpi<
                                  caf::detail::type_list<In0, Ins...>,
                                  Out>>::value
                                  == 0> {};

template <class Behavior>
struct hooks_of {
  static constexpr bool typed = false;
};
template <class... Sigs>
struct hooks_of<caf::typed_behavior<Sigs...>> {
  static constexpr bool typed = true;
  static constexpr hook_set value = (hook_set{0} | ... | hook_of<Sigs>::value);
  static constexpr bool any_bad = (false || ... || bad_hook<Sigs>::value);
  /// One of snapshot_hook / restore_hook without the other.
  static constexpr bool unpaired_state =
    ((value & hook_snapshot) != 0) != ((value & hook_restore) != 0);
};

} // namespace detail

// -- what a logic actor gets at spawn -------------------------------------------

/// Where a logic instance runs and how it publishes. Passed to the
/// function the registry spawns.
struct logic_handle {
  std::string actor_name; ///< The name it was registered and bound under.
  std::string app_id;     ///< Its app.
  std::string channel;    ///< Channel-bound: its channel; app-bound: empty.
  std::string node_id;    ///< The node it runs on.
  app_actor app;          ///< The app actor (publishes go through it).

  /// Publishes `event` with `data` (a data string, as the HTTP API takes it)
  /// on `channel` of this app through the normal publish path (the
  /// channel's owner, wherever it lives in the cluster). `exclude` is a
  /// socket id that must not receive it, or empty. Returns false, and
  /// publishes nothing, when `channel` is not a legal channel name.
  bool publish(const std::string& channel, const std::string& event,
               const std::string& data, const std::string& exclude = {}) const;
};

// -- the registry ---------------------------------------------------------------

/// Turns an exception that escaped a logic handler into its exit reason.
caf::error logic_exception_reason(std::exception_ptr& ep);

/// Spawns one logic instance for `handle`, unlinked: the runtime monitors
/// and restarts it.
using logic_factory =
  std::function<caf::actor(caf::local_actor* parent, const logic_handle& handle)>;

/// A registered logic actor: how to spawn it and which hooks it handles.
struct logic_entry {
  logic_factory factory; ///< Spawns an instance.
  hook_set hooks = 0;    ///< The hooks the runtime sends it.
};

/// Name -> logic actor: the logic actors a binary offers to its config.
/// Filled before run_node() and copied by it.
class logic_registry {
public:
  /// Registers `fun` under `name`: a function taking the typed actor
  /// pointer and a `logic_handle` and returning the typed behavior, e.g.
  /// `logic_actor<subscribe_hook>::behavior_type f(
  ///    logic_actor<subscribe_hook>::pointer, logic_handle)` (or a
  /// `stateful_pointer<S>`). The hooks its type lists are the ones the
  /// runtime sends it. Throws std::invalid_argument when the name is taken.
  template <class F>
  logic_registry& add(std::string name, F fun) {
    using trait = caf::detail::get_callable_trait<F>;
    using self_ptr = typename caf::detail::tl_head<typename trait::arg_types>::type;
    using hooks = detail::hooks_of<typename trait::result_type>;
    static_assert(hooks::typed,
                  "a logic actor returns logic_actor<hooks...>::behavior_type: "
                  "its type lists the hooks it handles, so the compiler "
                  "checks every handler (a dynamically typed caf::behavior "
                  "would ignore a wrong handler silently)");
    if constexpr (hooks::typed) {
      static_assert(!hooks::any_bad,
                    "a signature starts with a logic hook atom but is not "
                    "that hook: use the *_hook types declared in "
                    "actors/logic.hpp");
      static_assert(!hooks::unpaired_state,
                    "snapshot_hook and restore_hook go together: a snapshot "
                    "nobody restores, or a restore of nothing, is a mistake");
      auto factory = [fun](caf::local_actor* parent, const logic_handle& h) {
        auto init = [fun](self_ptr self, logic_handle handle) {
          // A throwing handler ends the instance (the runtime restarts it
          // and logs the reason); no raw "unhandled exception" printout.
          self->set_exception_handler(logic_exception_reason);
          return fun(self, std::move(handle));
        };
        return caf::actor_cast<caf::actor>(parent->spawn(init, h));
      };
      return add_factory(std::move(name), std::move(factory), hooks::value);
    }
    return *this;
  }

  /// Registers a factory under `name` (for spawn options, e.g. detached)
  /// whose instances handle `hooks` (the runtime sends them only those).
  /// Throws std::invalid_argument when the name is taken.
  logic_registry& add_factory(std::string name, logic_factory factory,
                              hook_set hooks);

  /// Returns the entry of `name`, or null.
  const logic_entry* find(const std::string& name) const;

  /// Returns every registered name.
  std::set<std::string> names() const;

private:
  std::map<std::string, logic_entry> entries_;
};

} // namespace starling
