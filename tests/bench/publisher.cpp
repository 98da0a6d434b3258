// Publisher of starling_loadgen: an epoll loop over `concurrency` keep-alive
// HTTP/1.1 connections, each with at most one signed publish in flight.
#include "publisher.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sys.hpp"
#include "wire.hpp"

namespace starling::bench {

namespace {

enum class http_state : uint8_t { connecting, idle, busy, dead };

struct http_conn {
  int fd = -1;
  http_state state = http_state::dead;
  int64_t sent_ns = 0;
  std::string rx;
  std::string tx;
};

// Reconnects are bounded so a server that closes every connection cannot spin
// us.
constexpr int64_t max_reconnects = 10000;

class publisher {
public:
  publisher(const loadgen_options& opts, const publish_plan& plan,
            int64_t deadline_ns, const volatile sig_atomic_t* stop)
      : opts_(opts), plan_(plan), deadline_ns_(deadline_ns), stop_(stop),
        conns_(static_cast<size_t>(std::max(1, plan.concurrency))) {
    host_header_ = opts.host + ":" + std::to_string(opts.publish_port);
    if (plan_.round_channels > 0) {
      plan_.batch = std::clamp(plan_.batch, 1, 100);
      batches_ = (plan_.round_channels + plan_.batch - 1) / plan_.batch;
      for (int k = 0; k < plan_.round_channels; ++k)
        channel_names_.push_back(plan_.channel + "-" + std::to_string(k));
    }
  }

  publish_report run();

private:
  void open(size_t i);
  void send_next(size_t i, int64_t now);
  void on_event(size_t i, uint32_t events);
  void on_readable(size_t i);
  bool on_response(size_t i);
  void flush(size_t i);
  void lose(size_t i, const char* why);
  void note_error(const std::string& what) {
    if (report_.first_error.empty())
      report_.first_error = what;
  }

  const loadgen_options& opts_;
  publish_plan plan_;
  int64_t deadline_ns_;
  const volatile sig_atomic_t* stop_;
  std::vector<http_conn> conns_;
  std::vector<size_t> idle_;
  sockaddr_in dst_{};
  int epfd_ = -1;
  int in_flight_ = 0;
  std::string host_header_;
  int batches_ = 0; // rounds: requests per round
  std::vector<std::string> channel_names_;
  publish_report report_;
  char read_buf_[65536];
};

publish_report publisher::run() {
  if (!make_addr(opts_.host, opts_.publish_port, dst_)) {
    note_error("bad_host");
    return report_;
  }
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < conns_.size(); ++i)
    open(i);
  const int64_t begin = mono_ns();
  const int64_t send_until
    = plan_.duration_s > 0
        ? begin + static_cast<int64_t>(plan_.duration_s * 1e9)
        : INT64_MAX;
  // Paced sends are due at begin + k / rate: a late loop catches up, up to
  // `concurrency` in flight, instead of silently lowering the rate.
  const double interval_ns = plan_.rate > 0 ? 1e9 / plan_.rate : 0;
  std::vector<epoll_event> events(256);
  for (;;) {
    int64_t now = mono_ns();
    if (now >= deadline_ns_ || (stop_ != nullptr && *stop_)) {
      report_.timed_out = true;
      break;
    }
    bool more
      = (plan_.count == 0 || report_.sent < plan_.count) && now < send_until;
    if (!more && in_flight_ == 0)
      break;
    if (std::none_of(conns_.begin(), conns_.end(), [](const http_conn& c) {
          return c.state != http_state::dead;
        }))
      break; // every connection was refused: nothing left to publish on
    int timeout_ms = 50;
    while (more && !idle_.empty()) {
      if (interval_ns > 0) {
        int64_t due = begin
                      + static_cast<int64_t>(
                        interval_ns
                        * static_cast<double>(report_.sent / plan_.burst));
        if (due > now) {
          timeout_ms = static_cast<int>(
            std::clamp<int64_t>((due - now + 999'999) / 1'000'000, 0, 50));
          break;
        }
      }
      size_t i = idle_.back();
      idle_.pop_back();
      send_next(i, now);
      more = plan_.count == 0 || report_.sent < plan_.count;
    }
    int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()),
                       timeout_ms);
    if (n < 0 && errno != EINTR)
      break;
    for (int k = 0; k < n; ++k)
      on_event(static_cast<size_t>(events[k].data.u64), events[k].events);
  }
  for (http_conn& c : conns_)
    if (c.fd >= 0)
      close(c.fd);
  close(epfd_);
  if (report_.end_ns == 0)
    report_.end_ns = mono_ns();
  return report_;
}

void publisher::open(size_t i) {
  http_conn& c = conns_[i];
  int fd = start_connect(dst_, nullptr);
  if (fd < 0) {
    note_error(std::string("connect:") + strerrorname_np(-fd));
    c.state = http_state::dead;
    return;
  }
  c.fd = fd;
  c.state = http_state::connecting;
  c.rx.clear();
  c.tx.clear();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = i;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
}

void publisher::send_next(size_t i, int64_t now) {
  http_conn& c = conns_[i];
  // Stamped before signing (the body carries the stamp): latency includes the
  // few microseconds of MD5 + HMAC, not the request build-up before it.
  std::string body;
  if (batches_ > 0) {
    const int64_t round = report_.sent / batches_;
    const int b = static_cast<int>(report_.sent % batches_);
    const int from = b * plan_.batch;
    const int to = std::min(plan_.round_channels, from + plan_.batch);
    std::vector<std::string_view> names(channel_names_.begin() + from,
                                        channel_names_.begin() + to);
    const int64_t t = real_ns();
    if (b == 0)
      report_.round_sent_real_ns.push_back(t);
    report_.request_sent_real_ns.push_back(t);
    body = make_event_body(opts_.event, names, t, round, opts_.payload);
  } else {
    body = make_event_body(opts_.event, plan_.channel, real_ns(), report_.sent,
                           opts_.payload);
  }
  std::string target
    = signed_events_target(opts_.app_id, opts_.app_key, opts_.app_secret, body,
                           real_ns() / 1000000000);
  std::string& req = c.tx;
  req.clear();
  req.append("POST ")
    .append(target)
    .append(" HTTP/1.1\r\nHost: ")
    .append(host_header_);
  req.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  req.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
  c.state = http_state::busy;
  c.sent_ns = now;
  if (report_.start_ns == 0)
    report_.start_ns = now;
  ++report_.sent;
  ++in_flight_;
  flush(i);
}

void publisher::flush(size_t i) {
  http_conn& c = conns_[i];
  while (!c.tx.empty()) {
    ssize_t n = write(c.fd, c.tx.data(), c.tx.size());
    if (n > 0) {
      c.tx.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    // EAGAIN: the next EPOLLOUT edge resumes; errors surface on read.
    return;
  }
}

void publisher::on_event(size_t i, uint32_t events) {
  http_conn& c = conns_[i];
  if (c.state == http_state::dead)
    return;
  if (c.state == http_state::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      lose(i, err ? strerrorname_np(err) : "connect_hup");
      return;
    }
    if (events & EPOLLOUT) {
      c.state = http_state::idle;
      idle_.push_back(i);
    }
    return;
  }
  if (events & EPOLLOUT)
    flush(i);
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    on_readable(i);
}

void publisher::on_readable(size_t i) {
  http_conn& c = conns_[i];
  for (;;) {
    ssize_t n = read(c.fd, read_buf_, sizeof read_buf_);
    if (n > 0) {
      c.rx.append(read_buf_, static_cast<size_t>(n));
      while (!c.rx.empty() && c.state == http_state::busy) {
        if (!on_response(i))
          break;
      }
      if (c.state == http_state::dead)
        return;
      continue;
    }
    if (n == 0) {
      lose(i, "server_closed");
      return;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      lose(i, strerrorname_np(errno));
    return;
  }
}

bool publisher::on_response(size_t i) {
  http_conn& c = conns_[i];
  http_head head;
  parse_status st = parse_http_head(c.rx, head);
  if (st == parse_status::need_more)
    return false;
  if (st == parse_status::error) {
    lose(i, "bad_response");
    return false;
  }
  size_t body_size = 0;
  if (head.chunked) {
    st = measure_chunked_body(std::string_view(c.rx).substr(head.head_size),
                              body_size);
    if (st == parse_status::need_more)
      return false;
    if (st == parse_status::error) {
      lose(i, "bad_chunked_body");
      return false;
    }
  } else if (head.content_length > 0) {
    body_size = static_cast<size_t>(head.content_length);
    if (c.rx.size() < head.head_size + body_size)
      return false;
  }
  int64_t now = mono_ns();
  report_.request_latency.record(now - c.sent_ns);
  report_.end_ns = now;
  --in_flight_;
  if (head.status >= 200 && head.status < 300) {
    ++report_.ok;
  } else {
    ++report_.errors;
    std::string detail
      = "http_" + std::to_string(head.status) + ":"
        + c.rx.substr(head.head_size, std::min<size_t>(body_size, 120));
    note_error(detail);
  }
  c.rx.erase(0, head.head_size + body_size);
  if (head.close) {
    // Connection: close ends keep-alive; reopen so concurrency stays as asked.
    close(c.fd);
    c.fd = -1;
    c.state = http_state::dead;
    if (report_.reconnects++ < max_reconnects)
      open(i);
    return false;
  }
  c.state = http_state::idle;
  idle_.push_back(i);
  return true;
}

void publisher::lose(size_t i, const char* why) {
  http_conn& c = conns_[i];
  if (c.state == http_state::busy) {
    --in_flight_;
    ++report_.errors;
    note_error(std::string("request_lost:") + why);
  } else if (c.state == http_state::idle) {
    idle_.erase(std::remove(idle_.begin(), idle_.end(), i), idle_.end());
  } else if (c.state == http_state::connecting) {
    note_error(std::string("connect:") + why);
  }
  if (c.fd >= 0)
    close(c.fd);
  c.fd = -1;
  c.state = http_state::dead;
  // Only reopen connections that worked before: refusals do not loop.
  if (why != std::string_view("ECONNREFUSED")
      && report_.reconnects++ < max_reconnects)
    open(i);
}

} // namespace

publish_report run_publisher(const loadgen_options& opts,
                             const publish_plan& plan, int64_t deadline_ns,
                             const volatile sig_atomic_t* stop) {
  publisher p(opts, plan, deadline_ns, stop);
  return p.run();
}

} // namespace starling::bench
