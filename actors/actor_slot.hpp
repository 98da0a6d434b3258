// The current incarnation of a supervised actor, for readers on any thread:
// its supervisor sets it on every (re)start, others read it when they need
// it (handles change on restart; style.md: do not cache them).
#pragma once

#include <mutex>
#include <utility>

namespace starling {

/// A handle that its supervisor replaces on restart. Thread-safe.
template <class Handle>
class actor_slot {
public:
  /// Sets the current handle (invalid while the actor is down).
  void set(Handle hdl) {
    std::lock_guard<std::mutex> guard{mtx_};
    hdl_ = std::move(hdl);
  }

  /// Returns the current handle, invalid while the actor is down.
  Handle get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return hdl_;
  }

private:
  mutable std::mutex mtx_;
  Handle hdl_;
};

} // namespace starling
