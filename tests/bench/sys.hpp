// Small OS helpers shared by the bench tools: clocks, /proc CPU and memory
// readings, and loopback socket setup.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <netinet/in.h>

namespace starling::bench {

/// Returns CLOCK_MONOTONIC in ns: comparable across processes on one host.
int64_t mono_ns();

/// Returns CLOCK_REALTIME in ns: the publisher's stamp carried in events.
int64_t real_ns();

/// Returns this process's user+system CPU in ns.
int64_t self_cpu_ns();

/// Returns utime+stime of `pid` in clock ticks, or -1 if unreadable.
int64_t proc_cpu_ticks(int pid);

/// Returns all CPUs' non-idle (not idle, not iowait) ticks from /proc/stat.
int64_t machine_busy_ticks();

/// Returns the clock tick rate for the two readers above.
long ticks_per_second();

/// Returns VmRSS of `pid` (0 = self) in KiB, or -1.
long rss_kib(int pid);

/// Returns the IPv4 address `host`:`port`; false if `host` does not parse.
bool make_addr(const std::string& host, int port, sockaddr_in& out);

/// Creates a non-blocking TCP socket, binds it to `src` (port chosen at
/// connect time) when `src` is non-null, and starts connecting to `dst`.
/// Returns the fd or -errno.
int start_connect(const sockaddr_in& dst, const sockaddr_in* src);

/// Raises the open-file limit to its hard maximum; returns false (with a
/// message on stderr) if `fds` descriptors still do not fit.
bool raise_nofile(long fds);

/// Opens `n` connected loopback TCP pairs (blocking; the `srv` side with
/// TCP_NODELAY, as a server's), raising the open-file limit for them.
/// Returns false with a message on stderr.
bool loopback_pairs(int n, std::vector<int>& srv, std::vector<int>& cli);

/// Forks the reading side of `loopback_pairs`: the child keeps `cli`, runs
/// `run` with the write end of a report pipe and exits; the parent keeps
/// `srv` and gets the child's pid and the pipe's read end. Returns false
/// (with a message on stderr) if the pipe or fork fails.
bool fork_reader(const std::vector<int>& srv, const std::vector<int>& cli,
                 const std::function<void(int report_fd)>& run, int& pid,
                 int& report_fd);

/// Writes all of `size` bytes to a blocking fd; returns false on error.
bool write_all(int fd, const char* data, size_t size);

} // namespace starling::bench
