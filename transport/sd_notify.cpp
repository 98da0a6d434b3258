// sd_notify: the datagram write that Type=notify units wait for. We write
// it ourselves (it is a dozen lines) instead of linking libsystemd, so the
// binary and its container image need nothing from systemd.
#include "transport/sd_notify.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace starling::transport {

std::string sd_notify(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || *path == '\0')
    return {};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto length = std::strlen(path);
  if (length >= sizeof(addr.sun_path))
    return "NOTIFY_SOCKET is longer than a socket path may be";
  if (path[0] != '/' && path[0] != '@')
    return "NOTIFY_SOCKET must be an absolute path or start with '@'";
  std::memcpy(addr.sun_path, path, length);
  if (path[0] == '@')
    addr.sun_path[0] = '\0'; // Abstract namespace: no file, no permissions.
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path)
                                         + length);
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::string{"socket: "} + std::strerror(errno);
  auto sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), addr_len);
  int error = errno;
  ::close(fd);
  if (sent < 0)
    return std::string{"sendto "} + path + ": " + std::strerror(error);
  if (static_cast<size_t>(sent) != state.size())
    return std::string{"sendto "} + path + ": short write";
  return {};
}

} // namespace starling::transport
