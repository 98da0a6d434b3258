// --version: the project version from CMake plus the libraries' own
// versions, so a bug report says what the binary was built and runs with.
#include "process/version.hpp"

#include <boost/version.hpp>
#include <caf/config.hpp>
#include <nats/nats.h>
#include <openssl/crypto.h>
#include <spdlog/version.h>

#ifndef STARLING_VERSION
#  define STARLING_VERSION "unknown"
#endif

namespace starling::process {

std::string version_text() {
  auto dotted = [](int v, int major_div, int minor_div, int minor_mod) {
    return std::to_string(v / major_div) + "."
           + std::to_string(v / minor_div % minor_mod) + "."
           + std::to_string(v % minor_div);
  };
  return std::string{"starling "} + STARLING_VERSION + "\n"
         + "CAF " + dotted(CAF_VERSION, 10000, 100, 100) + ", nats.c "
         + nats_GetVersion() + ", Boost "
         + dotted(BOOST_VERSION, 100000, 100, 1000) + ", "
         + OpenSSL_version(OPENSSL_VERSION) + ", spdlog "
         + std::to_string(SPDLOG_VER_MAJOR) + "."
         + std::to_string(SPDLOG_VER_MINOR) + "."
         + std::to_string(SPDLOG_VER_PATCH) + "\n";
}

} // namespace starling::process
