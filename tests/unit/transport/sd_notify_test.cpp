// Tests for transport/sd_notify: the datagram reaches a socket named by
// NOTIFY_SOCKET (path or abstract), and no socket means a quiet no-op.
#define CAF_SUITE transport_sd_notify
#include <caf/test/unit_test.hpp>

#include "transport/sd_notify.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

using starling::transport::sd_notify;

namespace {

// A datagram socket standing in for systemd's notify socket.
struct notify_socket {
  int fd = -1;
  std::string name; // What NOTIFY_SOCKET says.

  explicit notify_socket(bool abstract) {
    name = (abstract ? "@" : "/tmp/") + std::string{"starling-notify-"}
           + std::to_string(::getpid());
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (abstract)
      addr.sun_path[0] = '\0';
    if (!abstract)
      ::unlink(name.c_str());
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path)
                                      + name.size());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0)
      CAF_FAIL("bind " << name << ": " << std::strerror(errno));
    timeval timeout{2, 0}; // Bounded: a lost datagram fails, never hangs.
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }

  ~notify_socket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd);
    if (name[0] == '/')
      ::unlink(name.c_str());
  }

  std::string receive() {
    char buf[512];
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    return n < 0 ? std::string{"<nothing>"} : std::string{buf, size_t(n)};
  }
};

} // namespace

CAF_TEST(the state reaches a socket named by path) {
  notify_socket sock{false};
  CAF_CHECK_EQUAL(sd_notify("READY=1\nSTATUS=serving"), "");
  CAF_CHECK_EQUAL(sock.receive(), "READY=1\nSTATUS=serving");
  CAF_CHECK_EQUAL(sd_notify("STOPPING=1"), "");
  CAF_CHECK_EQUAL(sock.receive(), "STOPPING=1");
}

CAF_TEST(the state reaches an abstract socket) {
  notify_socket sock{true};
  CAF_CHECK_EQUAL(sd_notify("RELOADING=1"), "");
  CAF_CHECK_EQUAL(sock.receive(), "RELOADING=1");
}

CAF_TEST(without NOTIFY_SOCKET nothing is sent and nothing fails) {
  ::unsetenv("NOTIFY_SOCKET");
  CAF_CHECK_EQUAL(sd_notify("READY=1"), "");
}

CAF_TEST(a socket nobody listens on is reported) {
  ::setenv("NOTIFY_SOCKET", "/nonexistent/starling-notify", 1);
  CAF_CHECK(!sd_notify("READY=1").empty());
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  CAF_CHECK(!sd_notify("READY=1").empty());
  ::unsetenv("NOTIFY_SOCKET");
}
