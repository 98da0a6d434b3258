// systemd's readiness protocol (sd_notify(3)) without libsystemd: one
// datagram to the AF_UNIX socket named by $NOTIFY_SOCKET. Outside systemd
// (no variable) every call is a no-op, so callers need no special case.
#pragma once

#include <string>
#include <string_view>

namespace starling::transport {

/// Sends `state` ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...",
/// several separated by '\n') to $NOTIFY_SOCKET. Returns an empty string
/// when sent or when there is no socket to send to, otherwise what failed.
/// A socket path starting with '@' is in the abstract namespace.
std::string sd_notify(std::string_view state);

} // namespace starling::transport
