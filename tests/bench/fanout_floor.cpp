// starling_fanout_floor: the kernel floor for "one write() per delivery" over
// loopback TCP on this machine, the baseline run_bench.sh divides Starling by.
//
// Opens N connected socket pairs, forks a reader that drains all N with epoll,
// and writes M rounds of one MSG-byte message to each socket from the parent.
// Bounded by N*M writes and an alarm. Usage: starling_fanout_floor N M MSG
// [MAX_S]
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys.hpp"

using namespace starling::bench;

namespace {

/// Reader side: drains every socket until all bytes arrived or 5 s of quiet.
/// Reports its own CPU over a pipe so the parent prints one result block.
void run_reader(const std::vector<int>& fds, long long expect_bytes,
                int report_fd) {
  int ep = epoll_create1(0);
  for (int fd : fds) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  }
  std::vector<char> buf(65536);
  std::vector<epoll_event> ev(512);
  long long got = 0;
  int64_t first = 0, last = 0;
  int64_t cpu0 = self_cpu_ns();
  while (got < expect_bytes) {
    int n = epoll_wait(ep, ev.data(), static_cast<int>(ev.size()), 5000);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (first == 0)
      first = mono_ns();
    for (int k = 0; k < n; ++k) {
      ssize_t r = read(ev[k].data.fd, buf.data(), buf.size());
      if (r > 0)
        got += r;
    }
    last = mono_ns();
  }
  char line[256];
  int len
    = snprintf(line, sizeof line, "%lld %lld %lld %lld\n", got,
               static_cast<long long>(first), static_cast<long long>(last),
               static_cast<long long>(self_cpu_ns() - cpu0));
  write_all(report_fd, line, static_cast<size_t>(len));
}

} // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 5000;
  const int m = argc > 2 ? atoi(argv[2]) : 200;
  const int msg_size = argc > 3 ? atoi(argv[3]) : 100;
  const int max_s = argc > 4 ? atoi(argv[4]) : 60;
  if (n <= 0 || m <= 0 || msg_size <= 0 || max_s <= 0) {
    fprintf(stderr, "usage: starling_fanout_floor N M MSG [MAX_S]\n");
    return 2;
  }
  alarm(static_cast<unsigned>(max_s)); // hard bound on the whole run

  // Connect and accept pairs in this process, then split them by fork.
  std::vector<int> srv, cli;
  if (!loopback_pairs(n, srv, cli))
    return 1;
  const long long expect_bytes = static_cast<long long>(n) * m * msg_size;
  int reader = 0, report_fd = -1;
  if (!fork_reader(srv, cli,
                   [&](int fd) { run_reader(cli, expect_bytes, fd); },
                   reader, report_fd))
    return 1;
  std::string msg(static_cast<size_t>(msg_size), 'x');
  usleep(200000); // let the reader reach epoll_wait
  const int64_t t0 = mono_ns();
  const int64_t c0 = self_cpu_ns();
  for (int round = 0; round < m; ++round)
    for (int i = 0; i < n; ++i)
      if (write(srv[i], msg.data(), msg.size())
          != static_cast<ssize_t>(msg.size())) {
        perror("write");
        kill(reader, SIGKILL);
        return 1;
      }
  const int64_t wall = mono_ns() - t0;
  const int64_t cpu = self_cpu_ns() - c0;
  char line[256] = {0};
  ssize_t got_line = read(report_fd, line, sizeof line - 1);
  int status = 0;
  waitpid(reader, &status, 0);
  long long got = 0, first = 0, last = 0, rcpu = 0;
  if (got_line > 0)
    sscanf(line, "%lld %lld %lld %lld", &got, &first, &last, &rcpu);
  const double writes = static_cast<double>(n) * m;
  const double delivered = static_cast<double>(got / msg_size);
  const double span = static_cast<double>(last - first) / 1e9;
  printf("floor_conns=%d\nfloor_rounds=%d\nfloor_msg_bytes=%d\n", n, m,
         msg_size);
  printf(
    "floor_writes=%.0f\nfloor_writer_wall_s=%.3f\nfloor_writer_cpu_s=%.3f\n",
    writes, static_cast<double>(wall) / 1e9, static_cast<double>(cpu) / 1e9);
  printf("floor_writes_per_s=%.0f\n", writes * 1e9 / static_cast<double>(wall));
  printf("floor_writes_per_cpu_s=%.0f\n",
         writes * 1e9 / static_cast<double>(cpu));
  printf("floor_writer_us_per_write=%.3f\n",
         static_cast<double>(cpu) / 1e3 / writes);
  printf("floor_delivered=%.0f\nfloor_reader_per_s=%.0f\nfloor_reader_us_per_"
         "msg=%.3f\n",
         delivered, span > 0 ? delivered / span : 0.0,
         delivered > 0 ? static_cast<double>(rcpu) / 1e3 / delivered : 0.0);
  printf("{\"floor_conns\":%d,\"floor_rounds\":%d,\"floor_msg_bytes\":%d,"
         "\"floor_writes_per_s\":%.0f,\"floor_writes_per_cpu_s\":%.0f,"
         "\"floor_writer_us_per_write\":%.3f,\"floor_delivered\":%.0f}\n",
         n, m, msg_size, writes * 1e9 / static_cast<double>(wall),
         writes * 1e9 / static_cast<double>(cpu),
         static_cast<double>(cpu) / 1e3 / writes, delivered);
  return delivered == writes ? 0 : 1;
}
