// What the fuzz targets share: a check that holds in Release builds too (the
// replay tests run in the default -DNDEBUG build) and the libFuzzer entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

/// Aborts with the failed condition when `cond` is false, whatever NDEBUG
/// says, so libFuzzer and the replay driver both report it as a crash.
#define STARLING_FUZZ_CHECK(cond)                                              \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                   #cond);                                                     \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

/// The libFuzzer entry point every target defines; replay_main.cpp calls it
/// in builds without libFuzzer.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);
