// Test helper: stands in for systemd's notify socket. Binds an AF_UNIX
// datagram socket at argv[1], prints "LISTENING" once bound, then every
// datagram it receives on one line ('\n' inside shown as '|'), until killed.
#include <cstdio>
#include <cstring>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2 || std::strlen(argv[1]) >= sizeof(sockaddr_un::sun_path)) {
    std::fprintf(stderr, "usage: notify_listener SOCKET_PATH\n");
    return 2;
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, argv[1]);
  ::unlink(argv[1]);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::perror("bind");
    return 1;
  }
  std::printf("LISTENING\n");
  std::fflush(stdout);
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0)
      return 1;
    std::string line{buf, static_cast<size_t>(n)};
    for (auto& c : line)
      if (c == '\n')
        c = '|';
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
}
