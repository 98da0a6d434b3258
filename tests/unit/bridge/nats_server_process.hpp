// A nats-server child process on a free loopback port for the bridge suites
// that need a real server (nats_client, bridge_contract): started with
// fork/exec, polled until it accepts connections (bounded), killed by PID.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace starling::test {

/// How long the server gets to accept connections after its start.
constexpr auto nats_server_start_limit = std::chrono::seconds(10);

/// Returns a loopback port that was free a moment ago (bind port 0, read it
/// back, close). nats-server cannot take port 0 and tell us what it got.
inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0)
      ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Returns whether something accepts TCP connections on loopback `port`.
inline bool accepts_connections(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
            == 0;
  ::close(fd);
  return ok;
}

/// Returns the nats-server to run: $STARLING_NATS_SERVER if set, else the
/// first on PATH or in /usr/sbin (Debian puts it there, and a user's PATH
/// often lacks it). Returns empty with `error` set when there is none.
inline std::string find_nats_server(std::string& error) {
  if (const char* forced = std::getenv("STARLING_NATS_SERVER")) {
    if (::access(forced, X_OK) == 0)
      return forced;
    error = std::string{"STARLING_NATS_SERVER="} + forced
            + " is not an executable file";
    return {};
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  dirs += ":/usr/sbin";
  std::string::size_type start = 0;
  for (;;) {
    auto colon = dirs.find(':', start);
    auto dir = dirs.substr(start, colon - start);
    if (!dir.empty()) {
      auto candidate = dir + "/nats-server";
      if (::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    if (colon == std::string::npos)
      break;
    start = colon + 1;
  }
  error = "nats-server not found on PATH nor in /usr/sbin: install it "
          "(Debian: apt-get install nats-server) or set STARLING_NATS_SERVER";
  return {};
}

/// A nats-server child process on 127.0.0.1. Killed by PID when stopped or
/// destroyed, and by the kernel (PR_SET_PDEATHSIG) if the test aborts.
class nats_server_process {
public:
  explicit nats_server_process(uint16_t port) : port_(port) {
    // nop
  }

  ~nats_server_process() {
    stop();
  }

  /// Starts the server and waits until it accepts connections. Returns an
  /// empty string on success, else what went wrong.
  std::string start() {
    std::string error;
    auto binary = find_nats_server(error);
    if (binary.empty())
      return error;
    auto port = std::to_string(port_);
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0)
      return std::string{"pipe2: "} + std::strerror(errno);
    auto parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(report[0]);
      ::close(report[1]);
      return std::string{"fork: "} + std::strerror(errno);
    }
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(127);
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(devnull, STDERR_FILENO);
      const char* argv[] = {binary.c_str(), "-a", "127.0.0.1", "-p",
                            port.c_str(), nullptr};
      ::execv(binary.c_str(), const_cast<char* const*>(argv));
      int err = errno;
      [[maybe_unused]] auto n = ::write(report[1], &err, sizeof(err));
      ::_exit(127);
    }
    ::close(report[1]);
    int exec_errno = 0;
    auto n = ::read(report[0], &exec_errno, sizeof(exec_errno));
    ::close(report[0]);
    if (n > 0) {
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return "cannot run " + binary + ": " + std::strerror(exec_errno);
    }
    // Polling is fine here: the server gives no other "ready" signal.
    auto deadline = std::chrono::steady_clock::now() + nats_server_start_limit;
    while (!accepts_connections(port_)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "nats-server exited at start (port " + port + " taken?)";
      }
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        return "nats-server did not accept connections on port " + port;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return {};
  }

  /// Kills the server (SIGKILL, like a crash) and reaps it.
  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

private:
  uint16_t port_;
  pid_t pid_ = -1;
};

} // namespace starling::test
