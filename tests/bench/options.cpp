// Command line of starling_loadgen: `--name value` or `--name=value` flags.
#include "options.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace starling::bench {

void print_usage() {
  fputs("usage: starling_loadgen <idle|fanout|rounds|http|self-test> "
        "[options]\n"
        "  --host A (127.0.0.1)  --port P (6001)  --publish-port P (= --port: "
        "publish to another node)\n"
        "  --app-id ID --app-key K --app-secret S   (app-id / app-key / "
        "app-secret)\n"
        "  --channel C (bench)  --event E (bench-event)  --channels N (1: "
        "connection j joins C-<j%N>)\n"
        "  rounds: --events = rounds (100), --rate = rounds/s, each round "
        "publishes once to all N channels, --batch (100) per request\n"
        "  --conns N (1000)  --procs K (1)  --src-base B (2: worker k binds "
        "127.0.0.(B+k); 0 = none)\n"
        "  --connect-concurrency N (256)  --connect-timeout-s S (60)\n"
        "  --events M (fanout 100; http: cap, default 0 = none)  --rate R (0 = "
        "unpaced)  --concurrency C (10)\n"
        "  --payload BYTES (100)  --hold-s S (idle; 0 = until SIGTERM)  "
        "--duration-s S (http, 10)\n"
        "  --idle-ms MS (3000)  --max-s S (120)  --ready-file PATH\n"
        "  --ports P[,P..] (worker k connects to P[k%n])  --shared-channels S "
        "(the last S of --channels are shared, the rest one connection each)\n"
        "  --round-burst 1 (rounds: a round's requests back to back)  "
        "--cdf-file PATH (latency CDF)\n"
        "  --pre-publish-s S (fanout/rounds: idle hold before publishing)\n"
        "  --server-pid PID[,PID..] (CPU summed)  --aux-pid PID[,PID..] "
        "(aux_cpu_s, e.g. nats-server)\n"
        "Prints key=value lines, then one JSON line. Exit 0 = complete, 1 = "
        "shortfall, 2 = usage.\n",
        stderr);
}

namespace {

bool to_int(const char* s, int& out) {
  char* end = nullptr;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0')
    return false;
  out = static_cast<int>(v);
  return true;
}

bool to_double(const char* s, double& out) {
  char* end = nullptr;
  out = strtod(s, &end);
  return *s != '\0' && *end == '\0';
}

// Comma-separated positive integers (pids, ports).
bool to_ints(const char* s, std::vector<int>& out) {
  out.clear();
  std::string text(s);
  size_t from = 0;
  while (from <= text.size()) {
    size_t comma = text.find(',', from);
    std::string one = text.substr(
      from, comma == std::string::npos ? std::string::npos : comma - from);
    int pid = 0;
    if (!to_int(one.c_str(), pid) || pid <= 0)
      return false;
    out.push_back(pid);
    if (comma == std::string::npos)
      break;
    from = comma + 1;
  }
  return !out.empty();
}

} // namespace

bool parse_options(int argc, char** argv, loadgen_options& out) {
  if (argc < 2) {
    print_usage();
    return false;
  }
  out.mode = argv[1];
  if (out.mode != "idle" && out.mode != "fanout" && out.mode != "rounds"
      && out.mode != "http" && out.mode != "self-test") {
    fprintf(stderr, "unknown mode '%s'\n", argv[1]);
    print_usage();
    return false;
  }
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") {
      fprintf(stderr, "unexpected argument '%s'\n", argv[i]);
      return false;
    }
    std::string name(arg.substr(2));
    const char* value = nullptr;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = argv[i] + 2 + eq + 1;
      name.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      fprintf(stderr, "--%s needs a value\n", name.c_str());
      return false;
    }
    bool ok = true;
    if (name == "host")
      out.host = value;
    else if (name == "port")
      ok = to_int(value, out.port);
    else if (name == "ports")
      ok = to_ints(value, out.ports);
    else if (name == "shared-channels")
      ok = to_int(value, out.shared_channels);
    else if (name == "round-burst")
      out.round_burst = std::string_view(value) != "0";
    else if (name == "pre-publish-s")
      ok = to_double(value, out.pre_publish_s);
    else if (name == "cdf-file")
      out.cdf_file = value;
    else if (name == "publish-port")
      ok = to_int(value, out.publish_port);
    else if (name == "channels")
      ok = to_int(value, out.channels);
    else if (name == "batch")
      ok = to_int(value, out.batch);
    else if (name == "app-id")
      out.app_id = value;
    else if (name == "app-key")
      out.app_key = value;
    else if (name == "app-secret")
      out.app_secret = value;
    else if (name == "channel")
      out.channel = value;
    else if (name == "event")
      out.event = value;
    else if (name == "conns")
      ok = to_int(value, out.conns);
    else if (name == "procs")
      ok = to_int(value, out.procs);
    else if (name == "src-base")
      ok = to_int(value, out.src_base);
    else if (name == "connect-concurrency")
      ok = to_int(value, out.connect_concurrency);
    else if (name == "connect-timeout-s")
      ok = to_double(value, out.connect_timeout_s);
    else if (name == "events")
      ok = to_int(value, out.events);
    else if (name == "rate")
      ok = to_double(value, out.rate);
    else if (name == "concurrency")
      ok = to_int(value, out.concurrency);
    else if (name == "payload")
      ok = to_int(value, out.payload);
    else if (name == "hold-s")
      ok = to_double(value, out.hold_s);
    else if (name == "duration-s")
      ok = to_double(value, out.duration_s);
    else if (name == "idle-ms")
      ok = to_double(value, out.idle_ms);
    else if (name == "max-s")
      ok = to_double(value, out.max_s);
    else if (name == "ready-file")
      out.ready_file = value;
    else if (name == "server-pid")
      ok = to_ints(value, out.server_pids);
    else if (name == "aux-pid")
      ok = to_ints(value, out.aux_pids);
    else {
      fprintf(stderr, "unknown option --%s\n", name.c_str());
      return false;
    }
    if (!ok) {
      fprintf(stderr, "bad value '%s' for --%s\n", value, name.c_str());
      return false;
    }
  }
  if (out.events < 0)
    out.events = out.mode == "http" ? 0 : 100;
  if (out.publish_port == 0) // with --ports: the first node
    out.publish_port = out.ports.empty() ? out.port : out.ports.front();
  if (out.mode == "fanout" && out.channels > 1) {
    // fanout publishes to --channel only: many channels need rounds.
    fprintf(stderr, "--channels needs idle or rounds mode\n");
    return false;
  }
  if (out.host.rfind("127.", 0) != 0) {
    // This tool must never load anything but loopback.
    fprintf(stderr, "--host must be a 127.0.0.0/8 address\n");
    return false;
  }
  if (out.conns < 0 || out.procs < 1 || out.procs > 64 || out.concurrency < 1
      || out.connect_concurrency < 1 || out.max_s <= 0 || out.port <= 0
      || out.port > 65535 || out.src_base < 0 || out.src_base + out.procs > 255
      || out.events < 0 || out.rate < 0 || out.payload < 0
      || out.publish_port <= 0 || out.publish_port > 65535 || out.channels < 1
      || out.batch < 1 || out.batch > 100 || out.shared_channels < 0
      || out.shared_channels > out.channels
      || std::any_of(out.ports.begin(), out.ports.end(),
                     [](int p) { return p > 65535; })
      || (out.mode == "rounds" && out.channels > out.conns)) {
    fprintf(stderr, "option out of range\n");
    return false;
  }
  return true;
}

} // namespace starling::bench
