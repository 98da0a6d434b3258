// Socket id sources (actors/socket_ids.hpp).
#include "actors/socket_ids.hpp"

#include <atomic>
#include <memory>
#include <random>

#include <sys/random.h>

#include "pusher/socket_id.hpp"

namespace starling {

namespace {

constexpr uint64_t part_limit = 10'000'000'000ull; // up to 10 digits

// Kernel randomness (getrandom never blocks once the pool is initialized,
// which it is long before a node accepts connections); std::random_device
// as a fallback should the call fail.
uint64_t random_u64() {
  uint64_t x = 0;
  if (getrandom(&x, sizeof x, 0) == static_cast<ssize_t>(sizeof x))
    return x;
  thread_local std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

uint64_t random_part() {
  // Modulo bias over 2^64 / 10^10 is below 10^-9: irrelevant here.
  return 1 + random_u64() % (part_limit - 1);
}

} // namespace

socket_id_source random_socket_ids() {
  return [] { return pusher::compact_socket_id{random_part(), random_part()}; };
}

socket_id_source counting_socket_ids(uint64_t prefix) {
  auto counter = std::make_shared<std::atomic<uint64_t>>(0);
  return [prefix, counter] {
    return pusher::compact_socket_id{prefix, ++*counter};
  };
}

} // namespace starling
