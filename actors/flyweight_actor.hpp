// Actors whose kind shares one behavior object. A CAF behavior is a
// ref-counted table of handlers; handlers that capture `self` make every
// actor build its own table (0.4 KB for a connection, 1.1 KB for an owner,
// measured with heaptrack). A flyweight actor marks itself as the running
// actor of its thread for the length of each resume(), so its handlers can
// find it without capturing it, and one table built once serves every
// actor of the kind.
#pragma once

#include <cstddef>

#include <caf/stateful_actor.hpp>

namespace starling {

namespace detail {

/// The flyweight actor running on this thread, or null.
inline thread_local void* running_flyweight = nullptr;

} // namespace detail

/// A stateful actor of handle type `Handle` (a caf::typed_actor) whose
/// handlers reach it through running<...>() (see above).
template <class State, class Handle>
class flyweight_actor
  : public caf::stateful_actor<State, typename Handle::base> {
public:
  using super = caf::stateful_actor<State, typename Handle::base>;

  explicit flyweight_actor(caf::actor_config& cfg) : super(cfg) {
    // nop
  }

  caf::resumable::resume_result resume(caf::execution_unit* unit,
                                       std::size_t max_throughput) override {
    // Restored however resume() ends (CAF catches handler exceptions, but
    // the thread must never point at an actor that is not running).
    struct mark {
      void* previous;
      explicit mark(void* self) : previous(detail::running_flyweight) {
        detail::running_flyweight = self;
      }
      ~mark() {
        detail::running_flyweight = previous;
      }
    } running{this};
    return super::resume(unit, max_throughput);
  }
};

/// The flyweight actor whose handler runs now. Call it only at the top of a
/// handler of a shared behavior of that actor kind.
template <class State, class Handle>
flyweight_actor<State, Handle>* running() {
  return static_cast<flyweight_actor<State, Handle>*>(
    detail::running_flyweight);
}

} // namespace starling
