// Small OS helpers shared by the bench tools: clocks, /proc readings and
// loopback socket setup.
#include "sys.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace starling::bench {

namespace {

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Reads a small /proc file whole; returns false when it cannot.
bool read_small_file(const char* path, std::string& out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char buf[4096];
  out.clear();
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 65536)
      break;
  }
  close(fd);
  return !out.empty();
}

} // namespace

int64_t mono_ns() {
  return clock_ns(CLOCK_MONOTONIC);
}

int64_t real_ns() {
  return clock_ns(CLOCK_REALTIME);
}

int64_t self_cpu_ns() {
  return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

int64_t proc_cpu_ticks(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::string text;
  if (!read_small_file(path, text))
    return -1;
  // The command name may hold spaces and parens: fields start after the last
  // ')'.
  size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos)
    return -1;
  const char* p = text.c_str() + close_paren + 2;
  // Fields from here: state(3) ... utime(14) stime(15), so skip 11 fields.
  for (int field = 3; field < 14; ++field) {
    p = strchr(p, ' ');
    if (p == nullptr)
      return -1;
    ++p;
  }
  char* end = nullptr;
  long long utime = strtoll(p, &end, 10);
  long long stime = strtoll(end, nullptr, 10);
  return utime + stime;
}

int64_t machine_busy_ticks() {
  std::string text;
  if (!read_small_file("/proc/stat", text) || text.compare(0, 4, "cpu ") != 0)
    return -1;
  long long v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  sscanf(text.c_str() + 4, "%lld %lld %lld %lld %lld %lld %lld %lld", &v[0],
         &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  // user nice system idle iowait irq softirq steal: busy excludes idle+iowait.
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

long ticks_per_second() {
  return sysconf(_SC_CLK_TCK);
}

long rss_kib(int pid) {
  char path[64];
  if (pid == 0)
    snprintf(path, sizeof path, "/proc/self/status");
  else
    snprintf(path, sizeof path, "/proc/%d/status", pid);
  std::string text;
  if (!read_small_file(path, text))
    return -1;
  size_t pos = text.find("VmRSS:");
  if (pos == std::string::npos)
    return -1;
  return strtol(text.c_str() + pos + 6, nullptr, 10);
}

bool make_addr(const std::string& host, int port, sockaddr_in& out) {
  memset(&out, 0, sizeof out);
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, host.c_str(), &out.sin_addr) == 1;
}

int start_connect(const sockaddr_in& dst, const sockaddr_in* src) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (src != nullptr) {
    // Defer the port choice to connect() so the 4-tuple, not the source
    // address alone, must be unique: ~28k ports per (src, dst) pair.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, reinterpret_cast<const sockaddr*>(src), sizeof *src) != 0) {
      int err = errno;
      close(fd);
      return -err;
    }
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0
      && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

bool raise_nofile(long fds) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  if (static_cast<rlim_t>(fds) <= lim.rlim_cur)
    return true;
  fprintf(stderr, "%ld fds needed; the limit is %llu\n", fds,
          static_cast<unsigned long long>(lim.rlim_cur));
  return false;
}

bool loopback_pairs(int n, std::vector<int>& srv, std::vector<int>& cli) {
  if (!raise_nofile(2L * n + 64))
    return false;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  make_addr("127.0.0.1", 0, addr);
  if (bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || listen(ls, 4096) != 0) {
    perror("bind/listen");
    return false;
  }
  socklen_t alen = sizeof addr;
  getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &alen);
  srv.assign(static_cast<size_t>(n), -1);
  cli.assign(static_cast<size_t>(n), -1);
  int one = 1;
  for (int i = 0; i < n; ++i) {
    cli[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(cli[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr)
        != 0) {
      perror("connect");
      return false;
    }
    srv[i] = accept(ls, nullptr, nullptr);
    if (srv[i] < 0) {
      perror("accept");
      return false;
    }
    setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  close(ls);
  return true;
}

bool fork_reader(const std::vector<int>& srv, const std::vector<int>& cli,
                 const std::function<void(int report_fd)>& run, int& pid,
                 int& report_fd) {
  int pipefd[2];
  if (pipe(pipefd) != 0) {
    perror("pipe");
    return false;
  }
  pid = fork();
  if (pid < 0) {
    perror("fork");
    return false;
  }
  if (pid == 0) {
    for (int fd : srv)
      close(fd);
    close(pipefd[0]);
    run(pipefd[1]);
    _exit(0);
  }
  for (int fd : cli)
    close(fd);
  close(pipefd[1]);
  report_fd = pipefd[0];
  return true;
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

} // namespace starling::bench
