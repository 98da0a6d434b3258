// Gathering several actor replies into one answer: the callbacks of N
// requests share one fan_in, each adds what it got (or nothing on an error)
// and calls done(); the answer goes out once, after the last.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include <caf/typed_response_promise.hpp>

namespace starling {

/// Collects into a `T` and answers `Promise` (a typed response promise, or
/// anything with `deliver(T)`) when every expected part arrived.
template <class T, class Promise = caf::typed_response_promise<T>>
class fan_in {
public:
  using pointer = std::shared_ptr<fan_in>;

  /// Starts a gather that answers `rp` with `initial` plus what arrives.
  /// Call expect() per request, done() per answer, then seal().
  static pointer make(Promise rp, T initial = T{}) {
    return pointer{new fan_in(std::move(rp), std::move(initial))};
  }

  /// Announces `n` more answers to wait for.
  void expect(std::size_t n = 1) {
    pending_ += n;
  }

  /// Returns the value being collected.
  T& value() {
    return value_;
  }

  /// One expected answer arrived (or failed).
  void done() {
    if (pending_ > 0 && --pending_ == 0)
      rp_.deliver(std::move(value_));
  }

  /// No more expect() calls: answers now if nothing is outstanding.
  void seal() {
    done();
  }

private:
  fan_in(Promise rp, T initial)
    : rp_(std::move(rp)), value_(std::move(initial)) {
    // nop
  }

  Promise rp_;
  T value_;
  std::size_t pending_ = 1; // The seal.
};

} // namespace starling
