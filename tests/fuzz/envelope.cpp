// Fuzz target: bytes from NATS through the msgpack envelope decoder; what
// decodes must encode and decode back to the same envelope.

#include "tests/fuzz/check.hpp"

#include <string_view>

#include "bridge/envelope.hpp"

using namespace starling::bridge;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto env = decode({reinterpret_cast<const char*>(data), size});
  if (!env)
    return 0;
  auto bytes = encode(*env);
  auto again = decode(bytes);
  STARLING_FUZZ_CHECK(again.has_value());
  STARLING_FUZZ_CHECK(*again == *env);
  // Encoding is canonical: a second round gives the same bytes.
  STARLING_FUZZ_CHECK(encode(*again) == bytes);
  return 0;
}
