// starling_loadgen: Pusher-protocol load generator for the Starling bench.
// The parent coordinates, publishes and reports; forked workers hold the
// sockets.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "histogram.hpp"
#include "options.hpp"
#include "publisher.hpp"
#include "results.hpp"
#include "subscriber.hpp"
#include "sys.hpp"

namespace starling::bench {
int run_self_test();
} // namespace starling::bench

using namespace starling::bench;

namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

/// One forked subscriber worker as the parent sees it.
struct worker_handle {
  pid_t pid = -1;
  int fd = -1;
  int conns = 0;
  std::string buf;
  std::string ready_line;
  std::string done_line;
  bool eof = false;
};

/// Returns the value of `key=` in a worker line, or `fallback`.
std::string field(const std::string& line, const std::string& key,
                  const std::string& fallback = "0") {
  std::string needle = " " + key + "=";
  size_t pos = line.find(needle);
  if (pos == std::string::npos)
    return fallback;
  pos += needle.size();
  size_t end = line.find(' ', pos);
  return line.substr(pos,
                     end == std::string::npos ? std::string::npos : end - pos);
}

int64_t ifield(const std::string& line, const std::string& key) {
  return atoll(field(line, key).c_str());
}

/// Adds the comma-separated integers of `csv` to `sums` element-wise.
void add_csv(const std::string& csv, std::vector<int64_t>& sums) {
  const char* p = csv.c_str();
  for (size_t k = 0; k < sums.size() && *p; ++k) {
    char* end = nullptr;
    sums[k] += strtoll(p, &end, 10);
    if (*end != ',')
      break;
    p = end + 1;
  }
}

class coordinator {
public:
  explicit coordinator(const loadgen_options& opts) : opts_(opts) {}

  int run() {
    start_ns_ = mono_ns();
    hard_deadline_ns_ = start_ns_ + static_cast<int64_t>(opts_.max_s * 1e9);
    // Keep a little of --max-s to collect results after asking workers to stop.
    int64_t reserve = std::min<int64_t>(
      3'000'000'000, static_cast<int64_t>(opts_.max_s * 1e8));
    soft_deadline_ns_ = hard_deadline_ns_ - reserve;
    if (opts_.mode == "http")
      return run_http();
    if (!spawn_workers())
      return 2;
    // fanout and rounds share one flow; rounds publishes to many channels.
    int rc = opts_.mode == "idle" ? run_idle() : run_fanout();
    reap_workers();
    return rc;
  }

private:
  bool spawn_workers();
  void reap_workers();
  bool wait_lines(bool want_done, int64_t until_ns, bool stop_on_signal = true);
  void send_all(const std::string& line);
  void collect_done();
  void add_ready_results(result_sink& out);
  int run_idle();
  int run_fanout();
  int run_http();

  const loadgen_options& opts_;
  std::vector<worker_handle> workers_;
  int64_t start_ns_ = 0;
  int64_t soft_deadline_ns_ = 0;
  int64_t hard_deadline_ns_ = 0;
  int64_t ready_ns_ = 0;
  bool timed_out_ = false;
};

bool coordinator::spawn_workers() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  const int per = opts_.conns / opts_.procs;
  const int rest = opts_.conns % opts_.procs;
  if (static_cast<rlim_t>(per + 1 + 64) > lim.rlim_cur) {
    fprintf(stderr,
            "%d connections per process exceed the open-files limit %llu: "
            "raise --procs\n",
            per + 1, static_cast<unsigned long long>(lim.rlim_cur));
    return false;
  }
  fflush(stdout);
  for (int k = 0; k < opts_.procs; ++k) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      perror("socketpair");
      return false;
    }
    worker_handle w;
    w.conns = per + (k < rest ? 1 : 0);
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return false;
    }
    if (pid == 0) {
      // Worker: signals go to the coordinator, which tells us to stop; if it
      // dies, the kernel kills us so no sockets are left behind.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      signal(SIGINT, SIG_IGN);
      signal(SIGTERM, SIG_IGN);
      for (const worker_handle& other : workers_)
        close(other.fd);
      close(sv[0]);
      int rc
        = run_subscriber_worker(opts_, k, w.conns, sv[1], hard_deadline_ns_);
      fflush(stdout);
      _exit(rc);
    }
    close(sv[1]);
    w.pid = pid;
    w.fd = sv[0];
    workers_.push_back(std::move(w));
  }
  return true;
}

void coordinator::reap_workers() {
  for (worker_handle& w : workers_)
    if (w.fd >= 0) {
      close(w.fd);
      w.fd = -1;
    }
  // Workers exit right after "done"; give stragglers 5 s, then kill them by
  // pid.
  int64_t until = mono_ns() + 5'000'000'000;
  for (worker_handle& w : workers_) {
    while (w.pid > 0) {
      int status = 0;
      pid_t r = waitpid(w.pid, &status, WNOHANG);
      if (r == w.pid || (r < 0 && errno != EINTR)) {
        w.pid = -1;
        break;
      }
      if (mono_ns() > until) {
        kill(w.pid, SIGKILL);
        waitpid(w.pid, &status, 0);
        w.pid = -1;
        break;
      }
      usleep(10000);
    }
  }
}

void coordinator::send_all(const std::string& line) {
  for (worker_handle& w : workers_)
    if (w.fd >= 0 && !w.eof)
      write_all(w.fd, line.data(), line.size());
}

bool coordinator::wait_lines(bool want_done, int64_t until_ns,
                             bool stop_on_signal) {
  auto satisfied = [&] {
    return std::all_of(
      workers_.begin(), workers_.end(), [&](const worker_handle& w) {
        return w.eof
               || (want_done ? !w.done_line.empty() : !w.ready_line.empty());
      });
  };
  std::vector<pollfd> fds(workers_.size());
  while (!satisfied()) {
    int64_t now = mono_ns();
    if (now >= until_ns || (stop_on_signal && g_stop))
      return false;
    for (size_t k = 0; k < workers_.size(); ++k)
      fds[k] = pollfd{workers_[k].eof ? -1 : workers_[k].fd, POLLIN, 0};
    int timeout = static_cast<int>(
      std::min<int64_t>((until_ns - now) / 1000000 + 1, 100));
    int n = poll(fds.data(), fds.size(), timeout);
    if (n <= 0)
      continue;
    for (size_t k = 0; k < workers_.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      worker_handle& w = workers_[k];
      char buf[65536];
      ssize_t r = read(w.fd, buf, sizeof buf);
      if (r <= 0) {
        w.eof = true;
        continue;
      }
      w.buf.append(buf, static_cast<size_t>(r));
      size_t eol;
      while ((eol = w.buf.find('\n')) != std::string::npos) {
        std::string line = w.buf.substr(0, eol);
        w.buf.erase(0, eol + 1);
        if (line.rfind("ready ", 0) == 0)
          w.ready_line = line;
        else if (line.rfind("done ", 0) == 0)
          w.done_line = line;
      }
    }
  }
  return true;
}

void coordinator::collect_done() {
  if (!wait_lines(true, soft_deadline_ns_)) {
    if (!g_stop)
      timed_out_ = true;
    send_all("stop\n");
    // Workers answer "stop" at once; a signal must not cost us their results.
    wait_lines(true, hard_deadline_ns_, false);
  }
}

void coordinator::add_ready_results(result_sink& out) {
  int64_t ok = 0, failed = 0, connect_ms = 0;
  std::string err = "-";
  for (const worker_handle& w : workers_) {
    ok += ifield(w.ready_line, "ok");
    failed += ifield(w.ready_line, "failed");
    connect_ms = std::max(connect_ms, ifield(w.ready_line, "connect_ms"));
    std::string e = field(w.ready_line, "err", "-");
    if (err == "-" && e != "-")
      err = e;
  }
  out.add("mode", opts_.mode);
  out.add("conns", int64_t{opts_.conns});
  out.add("procs", int64_t{opts_.procs});
  out.add("ready", ok);
  out.add("connect_failed", failed);
  out.add("connect_s", static_cast<double>(connect_ms) / 1000.0, 2);
  out.add("connect_first_error", err);
}

// Prints the human "ready" line and writes --ready-file once all workers
// report.
bool announce_ready(const loadgen_options& opts,
                    const std::vector<worker_handle>& workers,
                    int64_t elapsed_ns) {
  int64_t ok = 0, failed = 0;
  for (const worker_handle& w : workers) {
    ok += ifield(w.ready_line, "ok");
    failed += ifield(w.ready_line, "failed");
  }
  printf("phase=ready ready=%lld failed=%lld of=%d elapsed_s=%.2f\n",
         static_cast<long long>(ok), static_cast<long long>(failed), opts.conns,
         static_cast<double>(elapsed_ns) / 1e9);
  fflush(stdout);
  if (!opts.ready_file.empty()) {
    std::string tmp = opts.ready_file + ".tmp";
    if (FILE* f = fopen(tmp.c_str(), "w")) {
      fprintf(f, "ready=%lld failed=%lld\n", static_cast<long long>(ok),
              static_cast<long long>(failed));
      fclose(f);
      // Rename so a poller never sees a half-written file.
      rename(tmp.c_str(), opts.ready_file.c_str());
    }
  }
  return ok == opts.conns;
}

int coordinator::run_idle() {
  wait_lines(false, soft_deadline_ns_);
  ready_ns_ = mono_ns();
  bool all_ready = announce_ready(opts_, workers_, ready_ns_ - start_ns_);
  int64_t hold_until = opts_.hold_s > 0
                         ? ready_ns_ + static_cast<int64_t>(opts_.hold_s * 1e9)
                         : soft_deadline_ns_;
  hold_until = std::min(hold_until, soft_deadline_ns_);
  std::string stop_reason = "hold_elapsed";
  while (mono_ns() < hold_until) {
    if (g_stop) {
      stop_reason = "signal";
      break;
    }
    std::vector<pollfd> fds;
    for (const worker_handle& w : workers_)
      fds.push_back(pollfd{w.fd, POLLIN, 0});
    // Workers are silent while holding: any readiness means one stopped.
    if (poll(fds.data(), fds.size(), 100) > 0) {
      stop_reason = "worker_exited";
      break;
    }
  }
  if (stop_reason == "hold_elapsed" && opts_.hold_s <= 0)
    stop_reason = "max_s";
  int64_t held = mono_ns() - ready_ns_;
  send_all("stop\n");
  wait_lines(true, hard_deadline_ns_, false);

  result_sink out;
  add_ready_results(out);
  int64_t lost = 0, closes = 0, rss = 0, still = 0;
  for (const worker_handle& w : workers_) {
    lost += ifield(w.done_line, "lost");
    closes += ifield(w.done_line, "server_closes");
    rss += ifield(w.done_line, "rss_kib");
    still += ifield(w.done_line, "ready");
  }
  out.add("held_s", static_cast<double>(held) / 1e9, 2);
  out.add("still_subscribed", still);
  out.add("lost_after_ready", lost);
  out.add("server_close_frames", closes);
  out.add("loadgen_rss_kib", rss);
  out.add("stop_reason", stop_reason);
  out.print();
  return all_ready && lost == 0 ? 0 : 1;
}

int coordinator::run_fanout() {
  const bool rounds = opts_.mode == "rounds";
  const int64_t batches = (opts_.channels + opts_.batch - 1) / opts_.batch;
  int64_t rounds_sent = 0;
  bool got_ready = wait_lines(false, soft_deadline_ns_);
  ready_ns_ = mono_ns();
  announce_ready(opts_, workers_, ready_ns_ - start_ns_);
  const int64_t hold_until = std::min(
    soft_deadline_ns_, ready_ns_ + static_cast<int64_t>(opts_.pre_publish_s * 1e9));
  while (got_ready && !g_stop && mono_ns() < hold_until)
    usleep(50000);
  publish_report pub;
  cpu_mark before = take_mark(opts_);
  int64_t ready_now = 0;
  for (const worker_handle& w : workers_)
    ready_now += ifield(w.ready_line, "ok");
  // Nobody to deliver to: publishing would only measure the HTTP path.
  if (got_ready && !g_stop && ready_now > 0) {
    send_all("go\n");
    publish_plan plan;
    plan.count = opts_.events;
    plan.rate = opts_.rate;
    plan.concurrency = opts_.concurrency;
    plan.channel = opts_.channel;
    if (rounds) {
      // One round = one event to every channel, in `batches` requests.
      plan.round_channels = opts_.channels;
      plan.batch = opts_.batch;
      plan.count = int64_t{opts_.events} * batches;
      plan.rate = opts_.round_burst ? opts_.rate : opts_.rate * batches;
      plan.burst = opts_.round_burst ? static_cast<int>(batches) : 1;
    }
    pub = run_publisher(opts_, plan, soft_deadline_ns_, &g_stop);
    // Rounds: every connection gets one event per round that was sent.
    rounds_sent = rounds ? pub.sent / batches : 0;
    send_all("expect " + std::to_string(rounds ? rounds_sent : pub.ok)
             + "\n");
    collect_done();
  } else {
    timed_out_ = !got_ready && !g_stop;
    send_all("stop\n");
    wait_lines(true, hard_deadline_ns_, false);
  }
  cpu_mark after = take_mark(opts_);

  result_sink out;
  add_ready_results(out);
  latency_histogram hist, arrival;
  int64_t lost = 0, deliveries = 0, complete = 0, extra = 0, bytes = 0;
  int64_t first = 0, last = 0;
  double worker_cpu = 0;
  std::vector<int64_t> round_count(rounds ? static_cast<size_t>(opts_.events)
                                          : 0);
  std::vector<int64_t> round_lat_us(round_count.size());
  std::vector<int64_t> round_last_ms(round_count.size());
  std::vector<int64_t> cells(round_count.size() * static_cast<size_t>(batches));
  std::vector<int64_t> batch_ready(rounds ? static_cast<size_t>(batches) : 0);
  for (const worker_handle& w : workers_) {
    const std::string& d = w.done_line;
    if (rounds) {
      add_csv(field(d, "cells", ""), cells);
      add_csv(field(d, "batch_ready", ""), batch_ready);
      // rounds=<count>:<max latency us>,... summed / maxed over workers.
      std::string table = field(d, "rounds", "");
      const char* p = table.c_str();
      for (size_t r = 0; r < round_count.size() && *p; ++r) {
        char* end = nullptr;
        round_count[r] += strtoll(p, &end, 10);
        if (*end != ':')
          break;
        round_lat_us[r] = std::max<int64_t>(round_lat_us[r],
                                            strtoll(end + 1, &end, 10));
        if (*end == ':')
          round_last_ms[r] = std::max<int64_t>(round_last_ms[r],
                                               strtoll(end + 1, &end, 10));
        if (*end != ',')
          break;
        p = end + 1;
      }
    }
    lost += ifield(d, "lost");
    deliveries += ifield(d, "deliveries");
    complete += ifield(d, "complete");
    extra += ifield(d, "extra");
    bytes += ifield(d, "bytes");
    int64_t f = ifield(d, "first_ns"), l = ifield(d, "last_ns");
    if (f > 0 && (first == 0 || f < first))
      first = f;
    last = std::max(last, l);
    worker_cpu += static_cast<double>(ifield(d, "cpu_ns")) / 1e9;
    size_t h = d.find(" hist=");
    if (h != std::string::npos)
      hist.merge_text(d.substr(h + 6));
    arrival.merge_text(field(d, "arrival", ""));
  }
  const int64_t ready = ready_now;
  const int64_t expected = ready * (rounds ? rounds_sent : pub.ok);
  double span = static_cast<double>(last - first) / 1e9;
  double pub_s =
    pub.start_ns > 0 ? static_cast<double>(pub.end_ns - pub.start_ns) / 1e9
                     : 0.0;
  out.add("lost_after_ready", lost);
  out.add("events_planned", int64_t{opts_.events});
  out.add("events_sent", pub.sent);
  out.add("events_ok", pub.ok);
  out.add("publish_errors", pub.errors);
  out.add("publish_first_error",
          pub.first_error.empty() ? "-" : pub.first_error);
  out.add("publish_s", pub_s, 3);
  out.add("publish_rate", pub_s > 0 ? static_cast<double>(pub.ok) / pub_s : 0.0,
          1);
  out.add("payload_bytes", int64_t{opts_.payload});
  out.add("expected_deliveries", expected);
  out.add("deliveries", deliveries);
  out.add("delivery_ratio",
          expected > 0
            ? static_cast<double>(deliveries) / static_cast<double>(expected)
            : 0.0,
          4);
  out.add("conns_complete", complete);
  out.add("extra_deliveries", extra);
  out.add("frame_payload_avg_bytes",
          deliveries > 0
            ? static_cast<double>(bytes) / static_cast<double>(deliveries)
            : 0.0,
          1);
  out.add("delivery_span_s", span, 3);
  out.add("deliveries_per_s",
          span > 0 ? static_cast<double>(deliveries) / span : 0.0, 0);
  out.add("latency_samples", static_cast<int64_t>(hist.count()));
  out.add("latency_p50_us", static_cast<double>(hist.percentile(0.50)) / 1e3,
          1);
  out.add("latency_p90_us", static_cast<double>(hist.percentile(0.90)) / 1e3,
          1);
  out.add("latency_p99_us", static_cast<double>(hist.percentile(0.99)) / 1e3,
          1);
  out.add("latency_max_us", static_cast<double>(hist.max()) / 1e3, 1);
  // The same from the kernel's receive stamp: without this process's queue
  // of reads, which one client process on 1,000 sockets adds and clients on
  // their own machines do not.
  out.add("arrival_p50_us", static_cast<double>(arrival.percentile(0.50)) / 1e3,
          1);
  out.add("arrival_p99_us", static_cast<double>(arrival.percentile(0.99)) / 1e3,
          1);
  out.add("arrival_max_us", static_cast<double>(arrival.max()) / 1e3, 1);
  if (!opts_.cdf_file.empty() && !hist.write_cdf(opts_.cdf_file))
    fprintf(stderr, "cannot write %s\n", opts_.cdf_file.c_str());
  double server = add_cpu_results(out, before, after, worker_cpu);
  if (server > 0) {
    out.add("deliveries_per_server_cpu_s",
            static_cast<double>(deliveries) / server, 0);
    out.add(
      "server_us_per_delivery",
      deliveries > 0 ? server * 1e6 / static_cast<double>(deliveries) : 0.0, 3);
  }
  out.add("loadgen_worker_us_per_delivery",
          deliveries > 0 ? worker_cpu * 1e6 / static_cast<double>(deliveries)
                         : 0.0,
          3);
  if (rounds) {
    // Per round: publisher's stamp of its first request (CLOCK_REALTIME ms),
    // connections that got it, slowest delivery (us), last receive
    // (CLOCK_REALTIME ms). A round is complete when every subscribed
    // connection got it.
    int64_t incomplete = 0, first_bad = -1, last_bad = -1;
    std::string table;
    for (int64_t r = 0; r < rounds_sent; ++r) {
      const size_t k = static_cast<size_t>(r);
      const int64_t got = k < round_count.size() ? round_count[k] : 0;
      if (got < ready) {
        ++incomplete;
        if (first_bad < 0)
          first_bad = r;
        last_bad = r;
      }
      const int64_t t = k < pub.round_sent_real_ns.size()
                          ? pub.round_sent_real_ns[k] / 1000000
                          : 0;
      if (!table.empty())
        table.push_back(',');
      table.append(std::to_string(t))
        .append(":")
        .append(std::to_string(got))
        .append(":")
        .append(std::to_string(k < round_lat_us.size() ? round_lat_us[k] : 0))
        .append(":")
        .append(std::to_string(k < round_last_ms.size() ? round_last_ms[k] : 0));
    }
    out.add("channels", int64_t{opts_.channels});
    out.add("requests_per_round", batches);
    out.add("rounds_sent", rounds_sent);
    out.add("rounds_incomplete", incomplete);
    out.add("first_incomplete_round", first_bad);
    out.add("last_incomplete_round", last_bad);
    out.add("conns_missing_events", ready - complete);
    // Per request (one batch of channels in one round): a request is missed
    // when fewer connections than are subscribed to its channels got it. The
    // stamps bound when publishing was not (yet) reaching every channel.
    int64_t missed_requests = 0, missed_deliveries = 0;
    int64_t first_missed_ms = 0, last_missed_ms = 0;
    const size_t requests = std::min(pub.request_sent_real_ns.size(),
                                     static_cast<size_t>(rounds_sent) *
                                       static_cast<size_t>(batches));
    for (size_t k = 0; k < requests && k < cells.size(); ++k) {
      const int64_t want = batch_ready[k % static_cast<size_t>(batches)];
      if (cells[k] >= want)
        continue;
      ++missed_requests;
      missed_deliveries += want - cells[k];
      const int64_t t = pub.request_sent_real_ns[k] / 1000000;
      if (first_missed_ms == 0)
        first_missed_ms = t;
      last_missed_ms = std::max(last_missed_ms, t);
    }
    out.add("requests_sent", static_cast<int64_t>(requests));
    out.add("missed_requests", missed_requests);
    out.add("missed_deliveries", missed_deliveries);
    out.add("first_missed_request_real_ms", first_missed_ms);
    out.add("last_missed_request_real_ms", last_missed_ms);
    out.add("round_table", table);
  }
  out.add("timed_out", int64_t{timed_out_ ? 1 : 0});
  out.print();
  bool complete_run = !timed_out_ && ready == opts_.conns && lost == 0
                      && pub.errors == 0 && deliveries == expected
                      && expected > 0;
  return complete_run ? 0 : 1;
}

int coordinator::run_http() {
  cpu_mark before = take_mark(opts_);
  publish_plan plan;
  plan.count = opts_.events;
  plan.duration_s = opts_.duration_s;
  plan.rate = opts_.rate;
  plan.concurrency = opts_.concurrency;
  plan.channel = opts_.channel;
  if (plan.count == 0 && plan.duration_s <= 0)
    plan.duration_s = 10; // never unbounded
  publish_report pub = run_publisher(opts_, plan, soft_deadline_ns_, &g_stop);
  cpu_mark after = take_mark(opts_);
  result_sink out;
  double pub_s =
    pub.start_ns > 0 ? static_cast<double>(pub.end_ns - pub.start_ns) / 1e9
                     : 0.0;
  out.add("mode", opts_.mode);
  out.add("channel", plan.channel);
  out.add("concurrency", int64_t{plan.concurrency});
  out.add("payload_bytes", int64_t{opts_.payload});
  out.add("publishes_sent", pub.sent);
  out.add("publishes_ok", pub.ok);
  out.add("publish_errors", pub.errors);
  out.add("publish_first_error",
          pub.first_error.empty() ? "-" : pub.first_error);
  out.add("reconnects", pub.reconnects);
  out.add("publish_s", pub_s, 3);
  out.add("publishes_per_s",
          pub_s > 0 ? static_cast<double>(pub.ok) / pub_s : 0.0, 0);
  const latency_histogram& h = pub.request_latency;
  out.add("request_p50_us", static_cast<double>(h.percentile(0.50)) / 1e3, 1);
  out.add("request_p99_us", static_cast<double>(h.percentile(0.99)) / 1e3, 1);
  out.add("request_max_us", static_cast<double>(h.max()) / 1e3, 1);
  double server = add_cpu_results(out, before, after, 0.0);
  if (server > 0)
    out.add("publishes_per_server_cpu_s", static_cast<double>(pub.ok) / server,
            0);
  out.add("timed_out", int64_t{pub.timed_out && !g_stop ? 1 : 0});
  out.print();
  return pub.ok > 0 && pub.errors == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  loadgen_options opts;
  if (!parse_options(argc, argv, opts))
    return 2;
  if (opts.mode == "self-test")
    return run_self_test();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  coordinator c(opts);
  return c.run();
}
