// starling_latency_floor: the latency floor of paced fan-out over loopback
// TCP on this machine. A "server" that does nothing but write() each event
// to each subscriber, from W threads (as Starling's W I/O threads do), read
// by one epoll process the way the load generator reads. compare.sh puts
// Starling's paced latency next to it, measured in the same run.
//
// Each round, at RATE rounds per second, every writer writes one MSG-byte
// message carrying the round's CLOCK_REALTIME stamp to each of its sockets
// (a writer behind schedule writes all rounds due in one write per socket);
// the reader records stamp-to-read and stamp-to-kernel-receive
// (SO_TIMESTAMPNS), as the load generator does. Bounded by the round count
// and an alarm. Usage: starling_latency_floor N RATE SECONDS MSG WRITERS
// [MAX_S]
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "histogram.hpp"
#include "sys.hpp"

using namespace starling::bench;

namespace {

constexpr int stamp_digits = 19; // "%019lld": every message starts with it

/// Reader side: reads every socket until all messages arrived or 3 s of
/// quiet, then reports both histograms and its count over `report_fd`.
void run_reader(const std::vector<int>& fds, int msg_size, long long expect,
                int report_fd) {
  int ep = epoll_create1(0);
  int on = 1;
  for (size_t i = 0; i < fds.size(); ++i) {
    setsockopt(fds[i], SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
  }
  // Messages may arrive split or joined: each socket keeps what it has of
  // its current message.
  std::vector<std::string> carry(fds.size());
  latency_histogram to_read, to_kernel;
  std::vector<char> buf(65536);
  alignas(cmsghdr) char control[256];
  std::vector<epoll_event> ev(512);
  long long got = 0;
  while (got < expect) {
    int n = epoll_wait(ep, ev.data(), static_cast<int>(ev.size()),
                       got == 0 ? 10000 : 3000);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (int k = 0; k < n; ++k) {
      auto i = ev[k].data.u64;
      iovec iov{buf.data(), buf.size()};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t r = recvmsg(fds[i], &msg, 0);
      if (r <= 0)
        continue;
      int64_t now = real_ns(), kernel = 0;
      for (auto* c = CMSG_FIRSTHDR(&msg); c != nullptr;
           c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts{};
          memcpy(&ts, CMSG_DATA(c), sizeof ts);
          kernel = ts.tv_sec * 1000000000LL + ts.tv_nsec;
        }
      auto& c = carry[i];
      c.append(buf.data(), static_cast<size_t>(r));
      size_t off = 0;
      for (; c.size() - off >= static_cast<size_t>(msg_size);
           off += static_cast<size_t>(msg_size)) {
        long long stamp = strtoll(c.c_str() + off, nullptr, 10);
        to_read.record(now - stamp);
        if (kernel != 0)
          to_kernel.record(kernel - stamp);
        ++got;
      }
      c.erase(0, off);
    }
  }
  std::string report = std::to_string(got) + "\n" + to_read.to_text() + "\n"
                       + to_kernel.to_text() + "\n";
  write_all(report_fd, report.data(), report.size());
}

/// Sleeps until CLOCK_MONOTONIC reaches `t_ns`.
void sleep_until_mono(int64_t t_ns) {
  timespec ts{static_cast<time_t>(t_ns / 1000000000LL),
              static_cast<long>(t_ns % 1000000000LL)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr)
         == EINTR) {
  }
}

/// Writer thread: at each round's time, writes the round's message to
/// sockets [first, last). A writer that fell behind writes every round due
/// by then in one write() per socket, as a server coalescing its queued
/// frames does. Returns false on a failed write.
bool run_writer(const std::vector<int>& fds, size_t first, size_t last,
                int rounds, int64_t mono0, int64_t real0, int64_t period,
                int msg_size) {
  std::string batch;
  for (int k = 0; k < rounds;) {
    sleep_until_mono(mono0 + k * period);
    auto due = static_cast<int>((mono_ns() - mono0) / period) + 1;
    due = std::clamp(due, k + 1, rounds);
    batch.assign(static_cast<size_t>(due - k) * msg_size, 'x');
    for (int r = k; r < due; ++r) {
      char stamp[32];
      snprintf(stamp, sizeof stamp, "%0*lld", stamp_digits,
               static_cast<long long>(real0 + r * period));
      memcpy(batch.data() + static_cast<size_t>(r - k) * msg_size, stamp,
             stamp_digits);
    }
    for (auto i = first; i < last; ++i)
      if (!write_all(fds[i], batch.data(), batch.size()))
        return false;
    k = due;
  }
  return true;
}

double us(uint64_t ns) {
  return static_cast<double>(ns) / 1e3;
}

} // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 1000;
  const int rate = argc > 2 ? atoi(argv[2]) : 50;
  const int seconds = argc > 3 ? atoi(argv[3]) : 10;
  const int msg_size = argc > 4 ? atoi(argv[4]) : 100;
  const int writers = argc > 5 ? atoi(argv[5]) : 2;
  const int max_s = argc > 6 ? atoi(argv[6]) : seconds + 60;
  if (n <= 0 || rate <= 0 || seconds <= 0 || msg_size < stamp_digits + 1
      || writers <= 0 || writers > n || max_s <= 0) {
    fprintf(stderr, "usage: starling_latency_floor N RATE SECONDS MSG(>=20) "
                    "WRITERS [MAX_S]\n");
    return 2;
  }
  alarm(static_cast<unsigned>(max_s)); // hard bound on the whole run
  std::vector<int> srv, cli;
  if (!loopback_pairs(n, srv, cli))
    return 1;
  const int rounds = rate * seconds;
  const long long expect = static_cast<long long>(n) * rounds;
  int reader = 0, report_fd = -1;
  if (!fork_reader(srv, cli,
                   [&](int fd) { run_reader(cli, msg_size, expect, fd); },
                   reader, report_fd))
    return 1;
  // The first round starts 200 ms out (the reader reaches epoll_wait); the
  // stamps follow the schedule, so a writer woken late counts as latency.
  const int64_t period = 1000000000LL / rate;
  const int64_t mono0 = mono_ns() + 200000000LL;
  const int64_t real0 = real_ns() + 200000000LL;
  std::vector<std::thread> threads;
  std::vector<char> ok(static_cast<size_t>(writers), 0);
  for (int w = 0; w < writers; ++w) {
    size_t first = static_cast<size_t>(n) * w / writers;
    size_t last = static_cast<size_t>(n) * (w + 1) / writers;
    threads.emplace_back([&, w, first, last] {
      ok[w] = run_writer(srv, first, last, rounds, mono0, real0, period,
                         msg_size);
    });
  }
  for (auto& t : threads)
    t.join();
  std::string report;
  char chunk[4096];
  for (ssize_t r; (r = read(report_fd, chunk, sizeof chunk)) > 0;)
    report.append(chunk, static_cast<size_t>(r));
  int status = 0;
  waitpid(reader, &status, 0);
  long long got = 0;
  latency_histogram to_read, to_kernel;
  auto nl1 = report.find('\n');
  auto nl2 = nl1 == std::string::npos ? nl1 : report.find('\n', nl1 + 1);
  auto nl3 = nl2 == std::string::npos ? nl2 : report.find('\n', nl2 + 1);
  if (nl3 != std::string::npos) {
    got = atoll(report.c_str());
    to_read.merge_text(report.substr(nl1 + 1, nl2 - nl1 - 1));
    to_kernel.merge_text(report.substr(nl2 + 1, nl3 - nl2 - 1));
  }
  bool writes_ok = std::all_of(ok.begin(), ok.end(), [](char c) { return c; });
  printf("lfloor_conns=%d\nlfloor_writers=%d\nlfloor_rate=%d\nlfloor_rounds=%d"
         "\nlfloor_msg_bytes=%d\n",
         n, writers, rate, rounds, msg_size);
  printf("lfloor_p50_us=%.0f\nlfloor_p99_us=%.0f\nlfloor_max_us=%.0f\n",
         us(to_read.percentile(0.5)), us(to_read.percentile(0.99)),
         us(to_read.max()));
  printf("lfloor_arrival_p50_us=%.0f\nlfloor_arrival_p99_us=%.0f\n",
         us(to_kernel.percentile(0.5)), us(to_kernel.percentile(0.99)));
  printf("lfloor_delivered=%lld\nlfloor_expected=%lld\n", got, expect);
  return writes_ok && got == expect ? 0 : 1;
}
