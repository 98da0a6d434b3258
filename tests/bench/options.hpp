// Command line of starling_loadgen: one plain struct and its parser.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace starling::bench {

/// Everything starling_loadgen can be told; defaults match run_bench.sh.
struct loadgen_options {
  std::string mode; ///< idle | fanout | rounds | http | self-test
  std::string host = "127.0.0.1";  ///< Server address (loopback only).
  int port = 6001;                 ///< Server WebSocket + REST port.
  /// `--ports P,Q,..`: worker k connects to ports[k % n] (the nodes of a
  /// cluster); empty = every worker uses `port`.
  std::vector<int> ports;
  int publish_port = 0; ///< REST port of the publisher (0 = `port`): another
                        ///< cluster node than the subscribers'.
  std::string app_id = "app-id";   ///< Pusher app id (REST path).
  std::string app_key = "app-key"; ///< Pusher app key (WS path, auth_key).
  std::string app_secret = "app-secret"; ///< Signs REST requests.
  std::string channel = "bench";         ///< Channel to subscribe / publish to.
  std::string event = "bench-event";     ///< Event name counted as a delivery.
  int channels = 1; ///< Channels: with N > 1, connection j subscribes to
                    ///< `<channel>-<j % N>` (rounds mode needs N <= conns).
  int batch = 100;  ///< rounds: channels per publish (Pusher allows 100).
  /// With S > 0, the last S of the `channels` are shared: connection j < N-S
  /// has channel j to itself, the others spread over the S shared ones.
  int shared_channels = 0;
  /// rounds: send each round's requests back to back (rounds still start
  /// 1/rate apart), so a round's reach time is not the pacing spread.
  bool round_burst = false;
  int conns = 1000;                      ///< Subscribed connections in total.
  int procs = 1;                         ///< Worker processes sharing `conns`.
  int src_base = 2; ///< Worker k binds 127.0.0.(src_base+k); 0 = no bind.
  int connect_concurrency = 256; ///< Handshakes in flight per worker.
  double connect_timeout_s = 60; ///< Budget for the whole connect phase.
  int events = -1; ///< fanout: events (default 100); rounds: rounds (default
                   ///< 100); http: cap (default 0 = none).
  double rate = 0; ///< Publishes per second (rounds: rounds per second); 0 =
                   ///< as fast as allowed.
  int concurrency = 10;   ///< Publisher keep-alive connections / in flight.
  int payload = 100;      ///< Bytes of the event's data string.
  double hold_s = 0;      ///< idle: hold time; 0 = until SIGTERM or max-s.
  double duration_s = 10; ///< http: publishing time.
  double idle_ms = 3000;  ///< fanout: quiet time that ends a short run.
  double max_s = 120;     ///< Hard wall-clock limit for the whole run.
  std::string ready_file; ///< idle/fanout: written once all are subscribed.
  double pre_publish_s = 0; ///< fanout/rounds: hold this long once all are
                            ///< subscribed, before publishing (outside
                            ///< tools sample idle memory meanwhile).
  std::string cdf_file; ///< fanout/rounds: latency CDF ("ms fraction" lines).
  /// Sample these pids' CPU around the measured phase (`--server-pid P[,Q..]`,
  /// summed: the nodes of a cluster).
  std::vector<int> server_pids;
  /// `--aux-pid P[,Q..]`: helpers (a nats-server) reported as aux_cpu_s and
  /// kept out of foreign_cpu_s.
  std::vector<int> aux_pids;
};

/// Parses argv into `out`; on error prints why and returns false.
bool parse_options(int argc, char** argv, loadgen_options& out);

/// Prints the usage text to stderr.
void print_usage();

} // namespace starling::bench
