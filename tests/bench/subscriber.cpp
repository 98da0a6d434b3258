// Subscriber worker of starling_loadgen: raw epoll (edge-triggered) over
// non-blocking sockets, a minimal RFC 6455 client and the Pusher subscribe
// flow.
#include "subscriber.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <ctime>
#include <unistd.h>

#include "histogram.hpp"
#include "sys.hpp"
#include "wire.hpp"

namespace starling::bench {

namespace {

//  free -> connecting -> upgrading -> awaiting_established
//       -> awaiting_subscribed -> ready -> closed
//  any state before ready can end in failed.
enum class conn_state : uint8_t {
  free,
  connecting,
  upgrading,
  awaiting_established,
  awaiting_subscribed,
  ready,
  closed,
  failed,
};

struct ws_conn {
  int fd = -1;
  conn_state state = conn_state::free;
  bool in_fragment = false;
  uint32_t deliveries = 0;
  int64_t started_ns = 0;
  std::string accept; // expected Sec-WebSocket-Accept until the upgrade
  std::string rx;     // bytes of an incomplete frame or response head
  std::string tx;     // bytes the socket did not take yet
  std::string frag;   // payload of a fragmented message
};

constexpr uint64_t ctl_tag = ~uint64_t{0};
constexpr int64_t handshake_timeout_ns = 20'000'000'000;

class subscriber_pool {
public:
  subscriber_pool(const loadgen_options& opts, int index, int conns, int ctl_fd,
                  int64_t deadline_ns)
      : opts_(opts), index_(index), ctl_fd_(ctl_fd), deadline_ns_(deadline_ns),
        conns_(static_cast<size_t>(conns)) {
    rng_ = 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(getpid()) << 20)
           ^ static_cast<uint64_t>(mono_ns());
    marker_ = "\"" + opts.event + "\"";
    port_ = opts.ports.empty()
              ? opts.port
              : opts.ports[static_cast<size_t>(index) % opts.ports.size()];
    host_port_ = opts.host + ":" + std::to_string(port_);
    // Global index of this worker's first connection (same split as the
    // coordinator's): connection j joins <channel>-<j % channels>.
    const int per = opts.conns / opts.procs, rest = opts.conns % opts.procs;
    first_conn_ = index * per + std::min(index, rest);
    // rounds names channels <channel>-<k> even when there is only one.
    per_conn_channel_ = opts.channels > 1 || opts.mode == "rounds";
    if (opts.mode == "rounds") {
      round_count_.assign(static_cast<size_t>(std::max(opts.events, 0)), 0);
      round_max_lat_ns_.assign(round_count_.size(), 0);
      round_last_real_ns_.assign(round_count_.size(), 0);
      batches_ = static_cast<size_t>((opts.channels + opts.batch - 1)
                                     / opts.batch);
      cell_count_.assign(round_count_.size() * batches_, 0);
    }
    target_ = "/app/" + opts.app_key
              + "?protocol=7&client=starling-loadgen&version=1.0&flash=false";
    subscribe_json_ = subscribe_json(0);
  }

  int run();

private:
  uint64_t next_random() {
    // xorshift64*: masks and keys need no cryptographic strength here.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545F4914F6CDD1Dull;
  }
  uint32_t next_mask() { return static_cast<uint32_t>(next_random() >> 32); }

  size_t channel_of(size_t i) const {
    const size_t j = static_cast<size_t>(first_conn_) + i;
    const size_t n = static_cast<size_t>(opts_.channels);
    const size_t shared = static_cast<size_t>(opts_.shared_channels);
    if (shared == 0)
      return j % n;
    // Channels [0, n - shared) have one connection each; the rest share.
    return j < n - shared ? j : n - shared + (j - (n - shared)) % shared;
  }
  std::string subscribe_json(size_t i) const {
    std::string channel = opts_.channel;
    if (per_conn_channel_)
      channel += "-" + std::to_string(channel_of(i));
    return "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"" + channel
           + "\"}}";
  }
  void open_next();
  void on_event(size_t i, uint32_t events);
  void on_connected(size_t i);
  void on_readable(size_t i);
  ssize_t read_stamped(int fd); // read() that keeps the kernel's receive stamp
  void on_bytes(size_t i, char* data, size_t size);
  void on_ws_bytes(size_t i, char* data, size_t size);
  void on_frame(size_t i, const ws_frame& frame);
  void on_message(size_t i, std::string_view msg);
  void send_bytes(size_t i, const char* data, size_t size);
  void send_frame(size_t i, ws_opcode op, std::string_view payload);
  void flush(size_t i);
  void fail(size_t i, const char* why);
  void drop(size_t i, bool by_server);
  void on_ctl();
  void check_handshake_timeouts(int64_t now);
  void report_ready(int64_t now);
  void report_done(bool timed_out);
  bool live(size_t i) const {
    return conns_[i].state != conn_state::free
           && conns_[i].state != conn_state::closed
           && conns_[i].state != conn_state::failed;
  }

  const loadgen_options& opts_;
  int index_;
  int ctl_fd_;
  int64_t deadline_ns_;
  std::vector<ws_conn> conns_;
  uint64_t rng_;
  int epfd_ = -1;
  sockaddr_in dst_{};
  sockaddr_in src_{};
  bool bind_src_ = false;
  std::string marker_;
  int port_ = 0; // this worker's node
  std::string host_port_;
  std::string target_;
  std::string subscribe_json_; // single channel: built once
  int first_conn_ = 0;
  bool per_conn_channel_ = false; // connection j joins <channel>-<j % N>
  std::vector<uint32_t> round_count_;     // rounds: deliveries per round
  std::vector<int64_t> round_max_lat_ns_; // rounds: slowest delivery per round
  std::vector<int64_t> round_last_real_ns_; // rounds: last receive per round
  size_t batches_ = 0;                    // rounds: requests per round
  std::vector<uint32_t> cell_count_; // rounds: deliveries per request (round,
                                     // batch), batch = channel / --batch
  std::string ctl_buf_;
  std::string first_error_;
  std::vector<char> read_buf_ = std::vector<char>(256 * 1024);

  size_t next_open_ = 0;
  int handshaking_ = 0;
  int ready_ = 0;      // currently subscribed and open
  int ever_ready_ = 0; // reached subscribed at some point
  int failed_ = 0;     // never reached subscribed
  int lost_ = 0;       // closed after being subscribed
  int server_closes_ = 0;
  bool ready_reported_ = false;
  int64_t start_ns_ = 0;
  int64_t ready_at_ns_ = 0;

  bool measuring_ = false;
  bool stop_ = false;
  int64_t expect_ = -1; // events per connection, once the publisher is done
  int64_t expect_at_ns_ = 0;
  int complete_ = 0; // open subscribed conns holding >= expect_ events
  uint64_t deliveries_ = 0;
  uint64_t extra_ = 0; // deliveries beyond expect_ on one connection
  uint64_t delivered_bytes_ = 0;
  int64_t first_delivery_ns_ = 0;
  int64_t last_delivery_ns_ = 0;
  int64_t cpu_mark_ns_ = 0;
  int64_t arrival_real_ns_ = 0; // kernel receive stamp of the last read
  latency_histogram latency_;   // send stamp to this process's read
  latency_histogram arrival_;   // send stamp to the kernel's receive stamp
};

ssize_t subscriber_pool::read_stamped(int fd) {
  iovec iov{read_buf_.data(), read_buf_.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd, &msg, 0);
  arrival_real_ns_ = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof ts);
      arrival_real_ns_ = ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
    }
  return n;
}

int subscriber_pool::run() {
  start_ns_ = mono_ns();
  cpu_mark_ns_ = self_cpu_ns();
  if (!make_addr(opts_.host, port_, dst_)) {
    first_error_ = "bad_host";
    report_ready(start_ns_);
    report_done(false);
    return 1;
  }
  if (opts_.src_base > 0) {
    bind_src_ = true;
    std::string src = "127.0.0." + std::to_string(opts_.src_base + index_);
    make_addr(src, 0, src_);
  }
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = ctl_tag;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, ctl_fd_, &ev);

  const int64_t connect_deadline
    = start_ns_ + static_cast<int64_t>(opts_.connect_timeout_s * 1e9);
  int64_t next_timeout_scan = start_ns_ + 500'000'000;
  const int64_t idle_ns = static_cast<int64_t>(opts_.idle_ms * 1e6);
  std::vector<epoll_event> events(1024);
  bool timed_out = false;

  for (;;) {
    int64_t now = mono_ns();
    if (now >= deadline_ns_) {
      timed_out = true;
      break;
    }
    if (stop_)
      break;
    while (next_open_ < conns_.size()
           && handshaking_ < opts_.connect_concurrency
           && now < connect_deadline)
      open_next();
    if (!ready_reported_) {
      bool all_resolved = next_open_ == conns_.size() && handshaking_ == 0;
      if (all_resolved || now >= connect_deadline) {
        for (size_t i = 0; i < conns_.size(); ++i)
          if (live(i) && conns_[i].state != conn_state::ready)
            fail(i, "connect_phase_timeout");
        // Connections never started count as failed too: ok + failed = asked.
        if (next_open_ < conns_.size()) {
          failed_ += static_cast<int>(conns_.size() - next_open_);
          next_open_ = conns_.size();
          if (first_error_.empty())
            first_error_ = "connect_phase_timeout";
        }
        report_ready(now);
      }
    }
    if (expect_ >= 0) {
      // Done when every open subscriber has all events, or the stream went
      // quiet.
      if (complete_ >= ready_)
        break;
      int64_t quiet_since = std::max(last_delivery_ns_, expect_at_ns_);
      if (now - quiet_since >= idle_ns)
        break;
    }
    if (now >= next_timeout_scan) {
      check_handshake_timeouts(now);
      next_timeout_scan = now + 500'000'000;
    }
    int n
      = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 50);
    if (n < 0 && errno != EINTR)
      break;
    for (int k = 0; k < n; ++k) {
      if (events[k].data.u64 == ctl_tag)
        on_ctl();
      else
        on_event(static_cast<size_t>(events[k].data.u64), events[k].events);
    }
  }
  if (!ready_reported_)
    report_ready(mono_ns());
  report_done(timed_out);
  return 0;
}

void subscriber_pool::open_next() {
  size_t i = next_open_++;
  ws_conn& c = conns_[i];
  int fd = start_connect(dst_, bind_src_ ? &src_ : nullptr);
  if (fd < 0) {
    c.state = conn_state::failed;
    ++failed_;
    if (first_error_.empty())
      first_error_ = std::string("connect:") + strerrorname_np(-fd);
    return;
  }
  // The kernel stamps each segment as it reaches the socket: latency up to
  // that stamp is the server's, without this process's own queue of reads.
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  c.fd = fd;
  c.state = conn_state::connecting;
  c.started_ns = mono_ns();
  ++handshaking_;
  epoll_event ev{};
  // Edge-triggered, registered once: no epoll_ctl per write.
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = i;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
}

void subscriber_pool::on_event(size_t i, uint32_t events) {
  ws_conn& c = conns_[i];
  if (!live(i))
    return;
  if (c.state == conn_state::connecting) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      fail(i, err ? strerrorname_np(err) : "connect_hup");
      return;
    }
    if (events & EPOLLOUT)
      on_connected(i);
    return;
  }
  if (events & EPOLLOUT)
    flush(i);
  if (live(i) && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    on_readable(i);
}

void subscriber_pool::on_connected(size_t i) {
  ws_conn& c = conns_[i];
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    fail(i, strerrorname_np(err));
    return;
  }
  std::string key = make_ws_key(next_random(), next_random());
  c.accept = ws_accept_for(key);
  c.state = conn_state::upgrading;
  std::string req = upgrade_request(host_port_, target_, key);
  send_bytes(i, req.data(), req.size());
}

void subscriber_pool::on_readable(size_t i) {
  // Edge-triggered: drain before returning, or the next edge never comes.
  for (;;) {
    ssize_t n = read_stamped(conns_[i].fd);
    if (n > 0) {
      on_bytes(i, read_buf_.data(), static_cast<size_t>(n));
      // A short read drained the socket; later data raises a new edge, so
      // skip the read that would only return EAGAIN (one syscall per event).
      if (!live(i) || static_cast<size_t>(n) < read_buf_.size())
        return;
      continue;
    }
    if (n == 0) {
      if (conns_[i].state == conn_state::ready)
        drop(i, true);
      else
        fail(i, "eof_during_handshake");
      return;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return;
    if (conns_[i].state == conn_state::ready)
      drop(i, true);
    else
      fail(i, strerrorname_np(errno));
    return;
  }
}

void subscriber_pool::on_bytes(size_t i, char* data, size_t size) {
  ws_conn& c = conns_[i];
  if (c.state != conn_state::upgrading) {
    on_ws_bytes(i, data, size);
    return;
  }
  c.rx.append(data, size);
  http_head head;
  parse_status st = parse_http_head(c.rx, head);
  if (st == parse_status::need_more)
    return;
  if (st == parse_status::error || head.status != 101) {
    fail(i, st == parse_status::error ? "bad_upgrade_response"
                                      : "upgrade_refused");
    return;
  }
  if (head.accept != c.accept) {
    fail(i, "bad_sec_websocket_accept");
    return;
  }
  c.state = conn_state::awaiting_established;
  std::string rest = c.rx.substr(head.head_size);
  std::string().swap(c.rx);
  std::string().swap(c.accept);
  if (!rest.empty())
    on_ws_bytes(i, rest.data(), rest.size());
}

void subscriber_pool::on_ws_bytes(size_t i, char* data, size_t size) {
  ws_conn& c = conns_[i];
  char* p = data;
  size_t len = size;
  bool buffered = !c.rx.empty();
  if (buffered) {
    c.rx.append(data, size);
    p = c.rx.data();
    len = c.rx.size();
  }
  size_t off = 0;
  while (off < len) {
    ws_frame frame;
    size_t used = 0;
    parse_status st = parse_frame(p + off, len - off, frame, used);
    if (st == parse_status::need_more)
      break;
    if (st == parse_status::error) {
      if (c.state == conn_state::ready)
        drop(i, false);
      else
        fail(i, "bad_frame");
      return;
    }
    on_frame(i, frame);
    off += used;
    if (!live(i))
      return;
  }
  if (buffered) {
    c.rx.erase(0, off);
    if (c.rx.empty() && c.rx.capacity() > 4096)
      std::string().swap(c.rx);
  } else if (off < len) {
    c.rx.assign(p + off, len - off);
  }
}

void subscriber_pool::on_frame(size_t i, const ws_frame& frame) {
  ws_conn& c = conns_[i];
  switch (frame.opcode) {
  case ws_opcode::text:
  case ws_opcode::binary:
    if (frame.fin) {
      on_message(i, frame.payload);
    } else {
      c.in_fragment = true;
      c.frag.assign(frame.payload);
    }
    break;
  case ws_opcode::continuation:
    if (!c.in_fragment)
      break;
    c.frag.append(frame.payload);
    if (frame.fin) {
      c.in_fragment = false;
      std::string msg;
      msg.swap(c.frag);
      on_message(i, msg);
    }
    break;
  case ws_opcode::ping:
    // RFC 6455 §5.5.2: answer with a pong carrying the same payload.
    send_frame(i, ws_opcode::pong, frame.payload);
    break;
  case ws_opcode::pong:
    break;
  case ws_opcode::close:
    // Echo the status code (§5.5.1), then stop using the socket.
    ++server_closes_;
    send_frame(i, ws_opcode::close, frame.payload.substr(0, 2));
    if (c.state == conn_state::ready)
      drop(i, true);
    else
      fail(i, "closed_during_handshake");
    break;
  }
}

void subscriber_pool::on_message(size_t i, std::string_view msg) {
  ws_conn& c = conns_[i];
  if (c.state == conn_state::ready) {
    if (contains(msg, marker_)) {
      int64_t now = mono_ns();
      ++deliveries_;
      delivered_bytes_ += msg.size();
      if (first_delivery_ns_ == 0)
        first_delivery_ns_ = now;
      last_delivery_ns_ = now;
      if (++c.deliveries == expect_)
        ++complete_;
      else if (expect_ >= 0 && c.deliveries > expect_)
        ++extra_;
      int64_t sent_ns = 0;
      if (measuring_ && extract_send_time(msg, sent_ns)) {
        const int64_t lat = real_ns() - sent_ns;
        latency_.record(lat);
        if (arrival_real_ns_ > 0)
          arrival_.record(std::max<int64_t>(0, arrival_real_ns_ - sent_ns));
        int64_t round = -1;
        if (!round_count_.empty() && extract_seq(msg, round) && round >= 0
            && static_cast<size_t>(round) < round_count_.size()) {
          ++round_count_[static_cast<size_t>(round)];
          ++cell_count_[static_cast<size_t>(round) * batches_
                        + channel_of(i) / static_cast<size_t>(opts_.batch)];
          round_max_lat_ns_[static_cast<size_t>(round)]
            = std::max(round_max_lat_ns_[static_cast<size_t>(round)], lat);
          int64_t& last = round_last_real_ns_[static_cast<size_t>(round)];
          last = std::max(last, sent_ns + lat);
        }
      }
    } else if (contains(msg, "\"pusher:ping\"")) {
      send_frame(i, ws_opcode::text, "{\"event\":\"pusher:pong\",\"data\":{}}");
    }
    return;
  }
  if (contains(msg, "\"pusher:ping\"")) {
    send_frame(i, ws_opcode::text, "{\"event\":\"pusher:pong\",\"data\":{}}");
    return;
  }
  if (contains(msg, "\"pusher:error\"")
      || contains(msg, "subscription_error")) {
    fail(i, "pusher_error");
    return;
  }
  if (c.state == conn_state::awaiting_established
      && contains(msg, "\"pusher:connection_established\"")) {
    c.state = conn_state::awaiting_subscribed;
    send_frame(i, ws_opcode::text,
               per_conn_channel_ ? subscribe_json(i) : subscribe_json_);
  } else if (c.state == conn_state::awaiting_subscribed
             && contains(msg, "\"pusher_internal:subscription_succeeded\"")) {
    c.state = conn_state::ready;
    --handshaking_;
    ++ready_;
    ++ever_ready_;
  }
}

void subscriber_pool::send_frame(size_t i, ws_opcode op,
                                 std::string_view payload) {
  std::string out;
  append_frame(out, op, payload, true, next_mask());
  send_bytes(i, out.data(), out.size());
}

void subscriber_pool::send_bytes(size_t i, const char* data, size_t size) {
  ws_conn& c = conns_[i];
  if (!c.tx.empty()) {
    c.tx.append(data, size);
    return;
  }
  ssize_t n = write(c.fd, data, size);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      // The read side will see the reset and account for the connection.
      return;
    }
    n = 0;
  }
  if (static_cast<size_t>(n) < size)
    c.tx.append(data + n, size - static_cast<size_t>(n));
}

void subscriber_pool::flush(size_t i) {
  ws_conn& c = conns_[i];
  while (!c.tx.empty()) {
    ssize_t n = write(c.fd, c.tx.data(), c.tx.size());
    if (n <= 0)
      return;
    c.tx.erase(0, static_cast<size_t>(n));
  }
}

void subscriber_pool::fail(size_t i, const char* why) {
  ws_conn& c = conns_[i];
  if (c.state == conn_state::ready) {
    drop(i, false);
    return;
  }
  if (first_error_.empty())
    first_error_ = why;
  if (c.fd >= 0)
    close(c.fd);
  c.fd = -1;
  c.state = conn_state::failed;
  --handshaking_;
  ++failed_;
  std::string().swap(c.rx);
  std::string().swap(c.tx);
  std::string().swap(c.accept);
}

void subscriber_pool::drop(size_t i, bool by_server) {
  ws_conn& c = conns_[i];
  if (c.fd >= 0)
    close(c.fd);
  c.fd = -1;
  c.state = conn_state::closed;
  --ready_;
  ++lost_;
  if (expect_ >= 0 && c.deliveries >= expect_)
    --complete_;
  if (first_error_.empty())
    first_error_ = by_server ? "server_closed" : "protocol_error";
  std::string().swap(c.rx);
  std::string().swap(c.tx);
  std::string().swap(c.frag);
}

void subscriber_pool::check_handshake_timeouts(int64_t now) {
  if (handshaking_ == 0)
    return;
  size_t end = next_open_;
  for (size_t i = 0; i < end; ++i) {
    if (live(i) && conns_[i].state != conn_state::ready
        && now - conns_[i].started_ns > handshake_timeout_ns)
      fail(i, "handshake_timeout");
  }
}

void subscriber_pool::on_ctl() {
  char buf[256];
  ssize_t n = read(ctl_fd_, buf, sizeof buf);
  if (n <= 0) {
    // The coordinator went away: stop rather than run on unobserved.
    stop_ = true;
    return;
  }
  ctl_buf_.append(buf, static_cast<size_t>(n));
  size_t eol;
  while ((eol = ctl_buf_.find('\n')) != std::string::npos) {
    std::string line = ctl_buf_.substr(0, eol);
    ctl_buf_.erase(0, eol + 1);
    if (line == "go") {
      measuring_ = true;
      cpu_mark_ns_ = self_cpu_ns();
    } else if (line.rfind("expect ", 0) == 0) {
      expect_ = atoll(line.c_str() + 7);
      expect_at_ns_ = mono_ns();
      complete_ = 0;
      extra_ = 0;
      for (const ws_conn& c : conns_)
        if (c.state == conn_state::ready && c.deliveries >= expect_) {
          ++complete_;
          extra_ += c.deliveries - expect_;
        }
    } else if (line == "stop") {
      stop_ = true;
    }
  }
}

void subscriber_pool::report_ready(int64_t now) {
  ready_reported_ = true;
  ready_at_ns_ = now;
  char line[256];
  int len = snprintf(
    line, sizeof line, "ready ok=%d failed=%d connect_ms=%lld err=%s\n", ready_,
    failed_, static_cast<long long>((now - start_ns_) / 1000000),
    first_error_.empty() ? "-" : first_error_.c_str());
  write_all(ctl_fd_, line, static_cast<size_t>(len));
}

void subscriber_pool::report_done(bool timed_out) {
  char head[512];
  int len = snprintf(
    head, sizeof head,
    "done ready=%d ever_ready=%d failed=%d lost=%d server_closes=%d "
    "deliveries=%llu "
    "complete=%d extra=%llu bytes=%llu first_ns=%lld last_ns=%lld cpu_ns=%lld "
    "rss_kib=%ld timed_out=%d err=%s hist=",
    ready_, ever_ready_, failed_, lost_, server_closes_,
    static_cast<unsigned long long>(deliveries_), complete_,
    static_cast<unsigned long long>(extra_),
    static_cast<unsigned long long>(delivered_bytes_),
    static_cast<long long>(first_delivery_ns_),
    static_cast<long long>(last_delivery_ns_),
    static_cast<long long>(self_cpu_ns() - cpu_mark_ns_), rss_kib(0),
    timed_out ? 1 : 0, first_error_.empty() ? "-" : first_error_.c_str());
  std::string line(head, static_cast<size_t>(len));
  line.append(latency_.to_text());
  line.append(" arrival=").append(arrival_.to_text());
  if (!round_count_.empty()) {
    // rounds=<count>:<max latency us>:<last receive, CLOCK_REALTIME ms>,...
    // one triple per round, no spaces.
    line.append(" rounds=");
    for (size_t r = 0; r < round_count_.size(); ++r) {
      if (r > 0)
        line.push_back(',');
      line.append(std::to_string(round_count_[r]))
        .append(":")
        .append(std::to_string(round_max_lat_ns_[r] / 1000))
        .append(":")
        .append(std::to_string(round_last_real_ns_[r] / 1000000));
    }
    // cells=<deliveries per request>,... (round-major); batch_ready=<open
    // subscribed connections per batch of channels>,...
    line.append(" cells=");
    for (size_t k = 0; k < cell_count_.size(); ++k) {
      if (k > 0)
        line.push_back(',');
      line.append(std::to_string(cell_count_[k]));
    }
    std::vector<uint32_t> batch_ready(batches_, 0);
    for (size_t i = 0; i < conns_.size(); ++i)
      if (conns_[i].state == conn_state::ready)
        ++batch_ready[channel_of(i) / static_cast<size_t>(opts_.batch)];
    line.append(" batch_ready=");
    for (size_t b = 0; b < batch_ready.size(); ++b) {
      if (b > 0)
        line.push_back(',');
      line.append(std::to_string(batch_ready[b]));
    }
  }
  line.push_back('\n');
  write_all(ctl_fd_, line.data(), line.size());
}

} // namespace

int run_subscriber_worker(const loadgen_options& opts, int index, int conns,
                          int ctl_fd, int64_t deadline_ns) {
  subscriber_pool pool(opts, index, conns, ctl_fd, deadline_ns);
  return pool.run();
}

} // namespace starling::bench
