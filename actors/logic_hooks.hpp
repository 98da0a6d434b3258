// The app logic hooks of one channel owner (internal): which bindings see
// the channel, the channel-bound instances beside the owner, and the
// questions the owner asks them — subscribe gates in binding order (the
// first refusal wins), client events and HTTP API publishes through every
// filter with their order kept (one queue: a stuck logic holds both), and
// notifications. Fail closed: while an instance
// restarts, questions wait for it (up to the binding's unavailable_wait);
// no instance by then, a failed one, a timeout or an error gets the
// binding's on_unavailable verdict (refuse / drop unless configured "pass").
// Only owners of channels some binding applies to have one.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>

#include "actors/logic_instances.hpp"
#include "actors/messages.hpp"

namespace starling {

struct owner_state;
struct channel_state;
template <class State, class Handle>
class flyweight_actor;

/// What an error answer to a hook question means for it.
enum class hook_error {
  not_handled, ///< The actor does not handle the hook: its choice, go on.
  crashed,     ///< It died under the question: ask its successor.
  unavailable, ///< Timeout or a real error: the on_unavailable verdict.
};

/// Returns what `err`, the answer of `target` to a hook question, means.
hook_error classify(const caf::error& err, const caf::actor& target);

/// The owner actor as the hooks see it (they ask questions on its behalf).
using owner_self = flyweight_actor<channel_state, channel_actor>*;

/// The logic part of one channel owner.
class owner_hooks {
public:
  /// Relays a decided client event (in arrival order).
  using relay_fn = std::function<void(client_event)>;

  /// Takes a decided HTTP API publish (in arrival order): the event as the
  /// filters left it, and why it must not go out (errc::publish_refused,
  /// errc::logic_unavailable, or request_receiver_down when the owner
  /// handed its channel on undecided), else none.
  using publish_done_fn = std::function<void(api_event, caf::error)>;

  /// Returns hooks for `channel`, or null when no binding applies to it.
  /// Spawns the channel-bound instances beside `self`. Decided client
  /// events go to `relay`, in arrival order.
  static std::unique_ptr<owner_hooks> make(owner_self self,
                                           const std::string& channel,
                                           logic_table_ptr table,
                                           logic_handle base, relay_fn relay);

  ~owner_hooks();

  /// Takes the app-bound instance handles (from the app).
  void set_app_bound(std::vector<caf::actor> handles);

  /// Asks the subscribe gates about `join`; calls `done` with the verdict.
  void ask_subscribe(const owner_join& join,
                     std::function<void(subscribe_verdict)> done);

  /// Runs a client event through the filters; `via` (the channel that
  /// forwarded it) gets the answers.
  void filter_client_event(client_event ev, channel_actor via);

  /// Whether some binding that sees the channel handles `hook` (only then
  /// does the owner take the hook's path).
  bool asks(hook_bit hook) const;

  /// Runs an HTTP API publish through the publish filters; `done` gets the
  /// outcome once it and every event before it are decided.
  void filter_publish(api_event ev, publish_done_fn done);

  /// Tells the instances that see the channel: a member joined or left.
  void notify_member(const std::string& user_id, bool added);

  /// Tells the instances that see the channel: a subscriber left.
  void notify_unsubscribe(const std::string& socket_id,
                          const std::string& user_id);

  /// Tells the instances that see the channel: it is occupied or vacated.
  void notify_occupancy(bool occupied);

  /// Before a handoff: fresh snapshots of the instances that keep state,
  /// asked urgently (the owner handles nothing else meanwhile); then `done`.
  void refresh_snapshots(std::function<void()> done);

  /// Returns the last snapshots of the channel-bound instances (handoff).
  std::vector<logic_state> snapshots() const;

  /// A predecessor's snapshots (handoff in): the instances start from them.
  void restore(const std::vector<logic_state>& states);

  /// The owner hands its channel to another node: ends the channel-bound
  /// instances and turns the hooks off; client events still waiting go on
  /// undecided (the successor asks its own instances).
  void stop();

  /// An instance came back or failed, or a wait deadline passed: questions
  /// waiting for an instance go on.
  void wake();

  /// Handles a down message of an own instance; false when not ours.
  bool on_down(const caf::down_msg& dm);

  /// Restart tick of an own instance.
  void restart(uint64_t index);

  /// Fault injection on an own instance.
  caf::error crash(const std::string& actor_name);

  /// Returns whether client events wait for verdicts (the owner must not
  /// end meanwhile).
  bool busy() const { return !queue_.empty(); }

private:
  struct pending_event {
    uint64_t id = 0;      // Queue key.
    hook_bit hook = hook_client_event; // Or hook_publish.
    client_event ev;      // The event, rewritten as verdicts come in
                          // (publishes: socket_id is the excluded one).
    channel_actor via;    // The channel that forwarded a client event.
    bool decided = false; // All hooks answered (or defaulted).
    bool drop = false;    // A hook dropped it.
    caf::error refusal;   // Publishes: why it was dropped.
    publish_done_fn done; // Publishes: takes the outcome.
  };

  /// Goes on with the live instance, or with an invalid handle when the
  /// binding is unavailable.
  using go_fn = std::function<void(caf::actor)>;

  /// A question waiting for a restarting instance.
  struct waiter {
    std::size_t binding = 0;              // Index into the table.
    caf::actor_clock::time_point deadline; // Then: unavailable.
    caf::actor_addr dead;                 // Crashed under the question.
    go_fn go;                             // What to do next.
  };

  owner_hooks() = default;

  void start_own(const std::vector<std::size_t>& own, logic_handle base);
  caf::actor instance_for(std::size_t binding) const;
  template <class... Ts>
  void notify(hook_bit hook, Ts&&... xs);
  bool restarting(std::size_t binding) const;
  void with_instance(std::size_t binding, caf::actor_clock::time_point deadline,
                     caf::actor_addr dead, go_fn go);
  caf::actor_clock::time_point deadline_for(std::size_t binding) const;
  pending_event* find(uint64_t id);
  void subscribe_step(std::shared_ptr<struct join_question> q, std::size_t k);
  void subscribe_ask(std::shared_ptr<struct join_question> q, std::size_t k,
                     caf::actor_clock::time_point deadline,
                     caf::actor_addr dead);
  void enqueue(pending_event p);
  void event_step(uint64_t id, std::size_t k);
  template <class Verdict>
  void event_ask(uint64_t id, std::size_t k,
                 caf::actor_clock::time_point deadline, caf::actor_addr dead);
  void unavailable_verdict(const logic_binding& b, pending_event& p);
  void apply_verdict(const logic_binding& b, pending_event& p,
                     client_event_verdict& v);
  void apply_verdict(const logic_binding& b, pending_event& p,
                     publish_verdict& v);
  void flush();
  void sent(std::size_t binding);

  owner_self self_ = nullptr;
  std::string channel_;
  logic_table_ptr table_;
  std::vector<std::size_t> applicable_; // Bindings that see this channel.
  logic_instances_ptr own_;             // Channel-bound instances beside us.
  std::vector<caf::actor> app_bound_;   // App-bound handles, from the app.
  std::deque<pending_event> queue_;     // Client events in order.
  relay_fn relay_;                      // Where decided events go.
  uint64_t next_id_ = 0;                // Last queue key.
  std::vector<waiter> waiters_;         // Questions waiting for instances.
  /// Notifications for instances not started yet (their state is being
  /// asked for), sent once they start.
  std::vector<std::function<void()>> held_notes_;
};

} // namespace starling
