// The version `starling --version` prints.
#pragma once

#include <string>

namespace starling::process {

/// "starling 0.1.0" and, on a second line, the versions of the libraries
/// this binary runs with (CAF, nats.c, Boost, OpenSSL, spdlog).
std::string version_text();

} // namespace starling::process
