#!/usr/bin/env bash
# Starling bench: starts a fresh node, measures idle memory per connection,
# fan-out throughput (also per server CPU-second and against the kernel
# write() floor), publish-to-deliver latency and HTTP publishes/s; with phase
# e (--cluster) also a nats-server and two (then three) clustered nodes:
# cross-node fan-out and latency against one node, and a node joining under
# traffic. Writes tests/bench/last_report.md. Loopback only; every wait is
# bounded.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=bench_lib.sh
. "$here/bench_lib.sh"

STARLING=$repo/build/starling
STARLING_ARGS=()
LOADGEN=$repo/build/tests/bench/starling_loadgen
FLOOR=$repo/build/tests/bench/starling_fanout_floor
REPORT=$here/last_report.md
PHASES=a,b,c,d
IDLE_CONNS=15000
FANOUT_CONNS=5000
FANOUT_EVENTS=200
FANOUT_CONCURRENCY=20
PAYLOAD=100
LAT_CONNS=5000
LAT_RATE=50
LAT_SECONDS=10
HTTP_SECONDS=10
HTTP_CONCURRENCY=20
SETTLE_S=5
QUIET_MAX=60     # seconds to wait for an idle machine before each phase
QUIET_BUSY=15    # "idle" = busy below this, in percent of ncpu*100
KEEP=0
NATS_SERVER=nats-server
CLUSTER_LAT_CONNS=1000   # e2: below saturation on a 2-core box
JOIN_CHANNELS=10000      # e3: connections = channels; 0 skips e3
JOIN_RATE=0.5            # e3: rounds/s (each round = one event per channel)
JOIN_BEFORE_S=8          # e3: rounds before the third node starts
JOIN_AFTER_S=30          # e3: rounds after it starts

usage() {
  cat <<EOF
usage: $0 [options]
  --starling PATH      server binary (default build/starling); started as
                       PATH [--starling-arg X ...] --config FILE
  --starling-arg X     extra argument before --config (repeatable)
  --loadgen PATH       starling_loadgen (default build/tests/bench/starling_loadgen)
  --floor PATH         starling_fanout_floor (default build/tests/bench/...)
  --phases a,b,c,d     a=idle memory, b=fan-out, c=latency, d=HTTP publish,
                       e=cluster (not in the default; needs nats-server)
  --cluster            add phase e to the phases
  --nats-server PATH   (default nats-server from PATH)
  --cluster-lat-conns N (1000)  subscribers for e2 (cluster and its one-node twin)
  --join-channels N (10000; 0 = skip e3)  --join-rate R (0.5 rounds/s)
  --join-before-s S (8)  --join-after-s S (30)
  --small              quick check: 2,000 conns, short phases
  --idle-conns N (15000)  --fanout-conns N (5000)  --fanout-events M (200)
  --lat-conns N (5000)  --lat-rate R (50)  --lat-seconds S (10)
  --http-seconds S (10)  --settle-s S (5)  --quiet-max S (60)
  --report FILE        markdown report (default tests/bench/last_report.md)
  --keep               keep the scratch directory (logs, raw outputs)
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --starling) STARLING=$2; shift 2 ;;
    --starling-arg) STARLING_ARGS+=("$2"); shift 2 ;;
    --loadgen) LOADGEN=$2; shift 2 ;;
    --floor) FLOOR=$2; shift 2 ;;
    --phases) PHASES=$2; shift 2 ;;
    --cluster) CLUSTER_FLAG=1; shift ;;
    --nats-server) NATS_SERVER=$2; shift 2 ;;
    --cluster-lat-conns) CLUSTER_LAT_CONNS=$2; shift 2 ;;
    --join-channels) JOIN_CHANNELS=$2; shift 2 ;;
    --join-rate) JOIN_RATE=$2; shift 2 ;;
    --join-before-s) JOIN_BEFORE_S=$2; shift 2 ;;
    --join-after-s) JOIN_AFTER_S=$2; shift 2 ;;
    --small)
      IDLE_CONNS=2000; FANOUT_CONNS=2000; FANOUT_EVENTS=50; LAT_CONNS=1000
      LAT_SECONDS=4; HTTP_SECONDS=3; SETTLE_S=2; QUIET_MAX=10
      CLUSTER_LAT_CONNS=500; JOIN_CHANNELS=2000; JOIN_RATE=1; JOIN_BEFORE_S=4
      JOIN_AFTER_S=12; shift ;;
    --idle-conns) IDLE_CONNS=$2; shift 2 ;;
    --fanout-conns) FANOUT_CONNS=$2; shift 2 ;;
    --fanout-events) FANOUT_EVENTS=$2; shift 2 ;;
    --lat-conns) LAT_CONNS=$2; shift 2 ;;
    --lat-rate) LAT_RATE=$2; shift 2 ;;
    --lat-seconds) LAT_SECONDS=$2; shift 2 ;;
    --http-seconds) HTTP_SECONDS=$2; shift 2 ;;
    --settle-s) SETTLE_S=$2; shift 2 ;;
    --quiet-max) QUIET_MAX=$2; shift 2 ;;
    --report) REPORT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1"; usage; exit 2 ;;
  esac
done

[ "${CLUSTER_FLAG:-0}" = 1 ] && case ",$PHASES," in *,e,*) ;; *) PHASES=$PHASES,e ;; esac

for bin in "$STARLING" "$LOADGEN" "$FLOOR"; do
  [ -x "$bin" ] || { echo "missing executable: $bin (build it first)"; exit 2; }
done
case ",$PHASES," in
  *,e,*) command -v "$NATS_SERVER" > /dev/null \
           || { echo "phase e needs nats-server (--nats-server PATH)"; exit 2; } ;;
esac

WORK=$(mktemp -d /tmp/starling-bench.XXXXXX)
NODE_PID=
LG_PID=
EXTRA_PIDS=()   # phase e: cluster nodes, then nats-server (stopped in reverse)
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# Stops only what this script started, by pid.
cleanup() {
  stop_pid "$LG_PID" 50
  local i
  for (( i=${#EXTRA_PIDS[@]}-1; i>=0; i-- )); do stop_pid "${EXTRA_PIDS[$i]}" 100; done
  stop_pid "$NODE_PID" 100
  wait 2>/dev/null
  [ "$KEEP" = 1 ] && echo "scratch kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

has_phase() { case ",$PHASES," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# CPU ticks of every server process this script runs (node, cluster, nats).
servers_ticks() {
  local p t=0
  for p in "$NODE_PID" "${EXTRA_PIDS[@]}"; do
    [ -n "$p" ] && t=$((t + $(proc_ticks "$p")))
  done
  echo "$t"
}
# Waits (at most QUIET_MAX s) for an idle machine, like calib2.sh's wait_quiet.
# Sets QUIET_NOTE to busy% (of ncpu*100) and the foreign share: busy minus the
# servers' own CPU (node, cluster nodes, nats-server) over the last 2 s sample.
wait_quiet() {
  local t0 b0 s0 n0 t1 b1 s1 n1 busy node foreign waited=0
  while :; do
    t0=$(total_ticks); b0=$(busy_ticks); n0=$(servers_ticks)
    sleep 2; waited=$((waited + 2))
    t1=$(total_ticks); b1=$(busy_ticks); n1=$(servers_ticks)
    busy=$(( NCPU * 100 * (b1 - b0) / (t1 - t0 > 0 ? t1 - t0 : 1) ))
    node=$(( NCPU * 100 * (n1 - n0) / (t1 - t0 > 0 ? t1 - t0 : 1) ))
    foreign=$(( busy - node )); [ $foreign -lt 0 ] && foreign=0
    if [ $busy -lt "$QUIET_BUSY" ]; then
      QUIET_NOTE="quiet after ${waited}s: busy ${busy}%/$((NCPU * 100)), foreign ${foreign}%"
      break
    fi
    if [ $waited -ge "$QUIET_MAX" ]; then
      QUIET_NOTE="NOT QUIET after ${waited}s: busy ${busy}%/$((NCPU * 100)), foreign ${foreign}% (results contaminated)"
      break
    fi
  done
  log "machine: $QUIET_NOTE"
}

# Runs the loadgen in the foreground with a backstop timeout; output to $1.
run_loadgen() {
  local out=$1 max_s=$2; shift 2
  timeout -k 5 $((max_s + 30)) "$LOADGEN" "$@" --max-s "$max_s" > "$out" 2>&1 &
  LG_PID=$!
  wait "$LG_PID"; local rc=$?
  LG_PID=
  return $rc
}

start_node() {
  cat > "$WORK/starling.json" <<EOF
{"server":{"host":"127.0.0.1","port":0},"admin":{"port":0},
 "apps":[{"id":"app-id","key":"app-key","secret":"app-secret","enable_client_messages":true}]}
EOF
  start_starling node "$WORK/starling.json" "$WORK/node.log" "$STARLING" "${STARLING_ARGS[@]}" \
    || { NODE_PID=$SN_PID; exit 1; }
  NODE_PID=$SN_PID; PORT=$SN_PORT; ADMIN_PORT=$SN_ADMIN
}

node_alive() {
  kill -0 "$NODE_PID" 2>/dev/null && return 0
  echo "node exited; last log lines:"; tail -20 "$WORK/node.log"; return 1
}

# --- cluster helpers (phase e) ---------------------------------------------
declare -A CN_PID CN_PORT CN_ADMIN   # per cluster node name
NATS_PID=
NATS_PORT=

start_nats() {
  start_nats_server "$NATS_SERVER" "$WORK/nats.log"; local rc=$?
  NATS_PID=$NS_PID; NATS_PORT=$NS_PORT
  EXTRA_PIDS+=("$NATS_PID")
  return $rc
}

# Starts cluster node $1 (node_id) on the bridge; returns 1 if it is not ready
# within 30 s.
start_cluster_node() {
  local name=$1
  cat > "$WORK/$name.json" <<JSON
{"server":{"host":"127.0.0.1","port":0},"admin":{"port":0},
 "apps":[{"id":"app-id","key":"app-key","secret":"app-secret","enable_client_messages":true}],
 "cluster":{"bridge":"nats","node_id":"$name","heartbeat_ms":500,"node_timeout_ms":2000},
 "nats":{"servers":["nats://127.0.0.1:$NATS_PORT"]}}
JSON
  start_starling "cluster node $name" "$WORK/$name.json" "$WORK/$name.log" \
    "$STARLING" "${STARLING_ARGS[@]}"; local rc=$?
  CN_PID[$name]=$SN_PID
  EXTRA_PIDS+=("$SN_PID")
  [ $rc = 0 ] || return 1
  CN_PORT[$name]=$SN_PORT
  CN_ADMIN[$name]=$SN_ADMIN
}

# Channels whose owner runs on node $1 (admin port), one per line, sorted.
owners_of() {
  topology "$1" | grep -o '"owners":\[[^]]*\]' | head -1 | sed 's/^"owners":\[//; s/\]$//' \
    | tr ',' '\n' | tr -d '"' | grep -v '^$' | sort
}
cluster_alive() {
  local n
  for n in "$@"; do
    kill -0 "${CN_PID[$n]}" 2>/dev/null && continue
    echo "cluster node $n exited; last log lines:"; tail -20 "$WORK/$n.log"; return 1
  done
}

start_node
RSS_START=$(rss_kib "$NODE_PID")
declare -A R   # results for the report
declare -A Q   # machine state per phase

# --- a) memory per idle subscribed connection ------------------------------
if has_phase a; then
  procs=$(( (IDLE_CONNS + 8999) / 9000 ))
  wait_quiet; Q[a]=$QUIET_NOTE
  sleep 1
  rss0=$(rss_kib "$NODE_PID"); slab0=$(slab_kib)
  log "a) opening $IDLE_CONNS subscribed connections ($procs loadgen procs); node RSS ${rss0} KiB"
  rm -f "$WORK/idle.ready"
  timeout -k 5 330 "$LOADGEN" idle --port "$PORT" --conns "$IDLE_CONNS" --procs "$procs" \
    --src-base 2 --ready-file "$WORK/idle.ready" --connect-timeout-s 150 \
    --hold-s 240 --max-s 300 > "$WORK/idle.out" 2>&1 &
  LG_PID=$!
  ready=$(wait_ready_file "$WORK/idle.ready" "$LG_PID" 1700)
  # Settle: let the node finish per-connection work; sample CPU meanwhile.
  b0=$(busy_ticks); n0=$(proc_ticks "$NODE_PID")
  sleep "$SETTLE_S"
  b1=$(busy_ticks); n1=$(proc_ticks "$NODE_PID")
  rss1=$(rss_kib "$NODE_PID"); slab1=$(slab_kib)
  kill -TERM "$LG_PID" 2>/dev/null
  wait "$LG_PID"; LG_PID=
  node_alive || exit 1
  R[idle_ready]=$ready
  R[idle_rss_before_kib]=$rss0
  R[idle_rss_after_kib]=$rss1
  R[idle_bytes_per_conn]=$( [ "$ready" -gt 0 ] && calc "($rss1 - $rss0) * 1024 / $ready" || echo n/a)
  R[idle_kernel_slab_per_conn]=$( [ "$ready" -gt 0 ] && calc "($slab1 - $slab0) * 1024 / $ready" || echo n/a)
  R[idle_settle_node_cpu_pct]=$(calc "100 * ($n1 - $n0) / $HZ / $SETTLE_S" 1)
  R[idle_settle_busy_pct]=$(calc "100 * ($b1 - $b0) / $HZ / $SETTLE_S" 1)
  R[idle_lost]=$(kv "$WORK/idle.out" lost_after_ready)
  R[idle_failed]=$(kv "$WORK/idle.out" connect_failed)
  R[idle_connect_s]=$(kv "$WORK/idle.out" connect_s)
  log "a) ready=$ready failed=${R[idle_failed]} RSS ${rss0} -> ${rss1} KiB => ${R[idle_bytes_per_conn]} B/conn (kernel slab ${R[idle_kernel_slab_per_conn]} B/conn, both ends)"
  sleep 2
  R[idle_rss_after_close_kib]=$(rss_kib "$NODE_PID")
fi

# --- b) fan-out throughput, per server CPU-s, against the kernel floor ------
if has_phase b; then
  wait_quiet; Q[b]=$QUIET_NOTE
  log "b) fan-out: $FANOUT_CONNS subscribers x $FANOUT_EVENTS events of $PAYLOAD B, publisher C=$FANOUT_CONCURRENCY"
  run_loadgen "$WORK/fanout.out" 120 fanout --port "$PORT" --conns "$FANOUT_CONNS" \
    --procs 1 --src-base 4 --events "$FANOUT_EVENTS" --concurrency "$FANOUT_CONCURRENCY" \
    --payload "$PAYLOAD" --server-pid "$NODE_PID"
  node_alive || exit 1
  for k in ready deliveries expected_deliveries delivery_ratio deliveries_per_s \
           deliveries_per_server_cpu_s server_us_per_delivery server_cpu_s \
           loadgen_cpu_s foreign_cpu_s latency_p50_us latency_p99_us \
           frame_payload_avg_bytes publish_errors loadgen_worker_us_per_delivery; do
    R[fanout_$k]=$(kv "$WORK/fanout.out" "$k")
  done
  log "b) ${R[fanout_deliveries]:-?}/${R[fanout_expected_deliveries]:-?} delivered, ${R[fanout_deliveries_per_s]:-?}/s, ${R[fanout_deliveries_per_server_cpu_s]:-?} per server CPU-s (foreign CPU ${R[fanout_foreign_cpu_s]:-?} s)"
  # The floor writes frames of the size Starling put on the wire (payload + 2-4 B header).
  fp=${R[fanout_frame_payload_avg_bytes]:-0}; fp=${fp%.*}
  [ "${fp:-0}" -gt 0 ] 2>/dev/null || fp=$((PAYLOAD + 60))
  msg=$(( fp < 126 ? fp + 2 : fp + 4 ))
  floor_n=$(( FANOUT_CONNS > 9000 ? 9000 : FANOUT_CONNS ))
  wait_quiet; Q[floor]=$QUIET_NOTE
  log "b) kernel floor: $floor_n sockets x $FANOUT_EVENTS writes of $msg B"
  timeout -k 5 90 "$FLOOR" "$floor_n" "$FANOUT_EVENTS" "$msg" 60 > "$WORK/floor.out" 2>&1
  R[floor_writes_per_cpu_s]=$(kv "$WORK/floor.out" floor_writes_per_cpu_s)
  R[floor_writes_per_s]=$(kv "$WORK/floor.out" floor_writes_per_s)
  R[floor_us_per_write]=$(kv "$WORK/floor.out" floor_writer_us_per_write)
  R[floor_msg_bytes]=$msg
  if [ -n "${R[fanout_deliveries_per_server_cpu_s]}" ] && [ -n "${R[floor_writes_per_cpu_s]}" ]; then
    R[fanout_floor_fraction]=$(calc "${R[fanout_deliveries_per_server_cpu_s]} / ${R[floor_writes_per_cpu_s]}" 3)
  else
    R[fanout_floor_fraction]=n/a
  fi
  log "b) floor ${R[floor_writes_per_cpu_s]:-?} writes per CPU-s => Starling at ${R[fanout_floor_fraction]} of the floor"
fi

# --- c) publish-to-deliver latency at a fixed publish rate ------------------
if has_phase c; then
  wait_quiet; Q[c]=$QUIET_NOTE
  events=$(( LAT_RATE * LAT_SECONDS ))
  log "c) latency: $LAT_CONNS subscribers, $events events at $LAT_RATE/s"
  run_loadgen "$WORK/latency.out" $((LAT_SECONDS + 100)) fanout --port "$PORT" \
    --conns "$LAT_CONNS" --procs 1 --src-base 5 --events "$events" --rate "$LAT_RATE" \
    --concurrency 4 --payload "$PAYLOAD" --server-pid "$NODE_PID"
  node_alive || exit 1
  for k in deliveries expected_deliveries delivery_ratio latency_samples latency_p50_us \
           latency_p90_us latency_p99_us latency_max_us publish_rate server_cpu_s \
           foreign_cpu_s; do
    R[lat_$k]=$(kv "$WORK/latency.out" "$k")
  done
  log "c) p50 ${R[lat_latency_p50_us]:-?} us, p99 ${R[lat_latency_p99_us]:-?} us, max ${R[lat_latency_max_us]:-?} us (${R[lat_deliveries]:-?}/${R[lat_expected_deliveries]:-?} delivered)"
fi

# --- d) HTTP publishes per second to a channel nobody subscribes ----------
if has_phase d; then
  wait_quiet; Q[d]=$QUIET_NOTE
  log "d) HTTP publish: ${HTTP_SECONDS}s, C=$HTTP_CONCURRENCY, channel without subscribers"
  run_loadgen "$WORK/http.out" $((HTTP_SECONDS + 60)) http --port "$PORT" \
    --channel bench-empty --concurrency "$HTTP_CONCURRENCY" --duration-s "$HTTP_SECONDS" \
    --events 0 --payload "$PAYLOAD" --server-pid "$NODE_PID"
  node_alive || exit 1
  for k in publishes_ok publish_errors publish_first_error publishes_per_s \
           publishes_per_server_cpu_s request_p50_us request_p99_us server_cpu_s \
           loadgen_cpu_s foreign_cpu_s; do
    R[http_$k]=$(kv "$WORK/http.out" "$k")
  done
  log "d) ${R[http_publishes_per_s]:-?} publishes/s (${R[http_publishes_per_server_cpu_s]:-?} per server CPU-s), errors ${R[http_publish_errors]:-?}"
fi

# --- e) cluster: nats-server + 2 nodes (then a third) ------------------------
# Subscribers on node B (b2), publisher on node A (b1): every event crosses
# nodes through NATS. The one-node twins use the node of phases a-d.
if has_phase e; then
  R[e_status]=ok
  if ! command -v curl > /dev/null; then
    R[e_status]="skipped: curl missing"
  elif ! start_nats || ! start_cluster_node b1 || ! start_cluster_node b2; then
    R[e_status]="skipped: cluster did not start"
  elif ! wait_members 30 2 "${CN_ADMIN[b1]}" "${CN_ADMIN[b2]}"; then
    R[e_status]="skipped: nodes did not see 2 members within 30 s"
  fi
  log "e) cluster: ${R[e_status]}"
fi
if has_phase e && [ "${R[e_status]}" = ok ]; then
  A_PORT=${CN_PORT[b1]}; B_PORT=${CN_PORT[b2]}
  CL_PIDS="${CN_PID[b1]},${CN_PID[b2]}"

  # e1) fan-out of phase b across nodes, per CPU-second of both nodes.
  wait_quiet; Q[e1]=$QUIET_NOTE
  log "e1) cluster fan-out: $FANOUT_CONNS subscribers on B x $FANOUT_EVENTS events published to A, C=$FANOUT_CONCURRENCY"
  run_loadgen "$WORK/cluster_fanout.out" 120 fanout --port "$B_PORT" --publish-port "$A_PORT" \
    --conns "$FANOUT_CONNS" --procs 1 --src-base 8 --events "$FANOUT_EVENTS" \
    --concurrency "$FANOUT_CONCURRENCY" --payload "$PAYLOAD" \
    --server-pid "$CL_PIDS" --aux-pid "$NATS_PID"
  cluster_alive b1 b2 || exit 1
  for k in ready deliveries expected_deliveries delivery_ratio deliveries_per_s \
           deliveries_per_server_cpu_s server_us_per_delivery server_cpu_s \
           server_cpu_s_each aux_cpu_s loadgen_cpu_s foreign_cpu_s latency_p50_us \
           latency_p99_us publish_errors; do
    R[cf_$k]=$(kv "$WORK/cluster_fanout.out" "$k")
  done
  R[cf_per_cpu_incl_nats]=n/a; R[cf_vs_one_node]=n/a
  if [ -n "${R[cf_deliveries]}" ] && [ -n "${R[cf_server_cpu_s]}" ]; then
    R[cf_per_cpu_incl_nats]=$(calc "${R[cf_deliveries]} / (${R[cf_server_cpu_s]} + ${R[cf_aux_cpu_s]:-0})")
  fi
  if [ -n "${R[cf_deliveries_per_server_cpu_s]}" ] && [ -n "${R[fanout_deliveries_per_server_cpu_s]:-}" ]; then
    R[cf_vs_one_node]=$(calc "${R[cf_deliveries_per_server_cpu_s]} / ${R[fanout_deliveries_per_server_cpu_s]}" 3)
  fi
  log "e1) ${R[cf_deliveries]:-?}/${R[cf_expected_deliveries]:-?} delivered, ${R[cf_deliveries_per_server_cpu_s]:-?} per node CPU-s (A,B: ${R[cf_server_cpu_s_each]:-?} s; nats ${R[cf_aux_cpu_s]:-?} s) = ${R[cf_vs_one_node]} of one node (b)"

  # e2) latency at LAT_RATE/s: one node, then across nodes, same subscribers.
  events=$(( LAT_RATE * LAT_SECONDS ))
  wait_quiet; Q[e2_one]=$QUIET_NOTE
  log "e2) one-node latency: $CLUSTER_LAT_CONNS subscribers, $events events at $LAT_RATE/s"
  run_loadgen "$WORK/latency_one.out" $((LAT_SECONDS + 100)) fanout --port "$PORT" \
    --conns "$CLUSTER_LAT_CONNS" --procs 1 --src-base 9 --events "$events" --rate "$LAT_RATE" \
    --concurrency 4 --payload "$PAYLOAD" --server-pid "$NODE_PID"
  node_alive || exit 1
  wait_quiet; Q[e2]=$QUIET_NOTE
  log "e2) cross-node latency: $CLUSTER_LAT_CONNS subscribers on B, $events events to A at $LAT_RATE/s"
  run_loadgen "$WORK/cluster_latency.out" $((LAT_SECONDS + 100)) fanout --port "$B_PORT" \
    --publish-port "$A_PORT" --conns "$CLUSTER_LAT_CONNS" --procs 1 --src-base 10 \
    --events "$events" --rate "$LAT_RATE" --concurrency 4 --payload "$PAYLOAD" \
    --server-pid "$CL_PIDS" --aux-pid "$NATS_PID"
  cluster_alive b1 b2 || exit 1
  for k in deliveries expected_deliveries latency_p50_us latency_p90_us latency_p99_us \
           latency_max_us server_cpu_s foreign_cpu_s publish_rate; do
    R[l1_$k]=$(kv "$WORK/latency_one.out" "$k")
    R[cl_$k]=$(kv "$WORK/cluster_latency.out" "$k")
  done
  R[cl_server_cpu_s_each]=$(kv "$WORK/cluster_latency.out" server_cpu_s_each)
  R[cl_aux_cpu_s]=$(kv "$WORK/cluster_latency.out" aux_cpu_s)
  log "e2) p50/p99 one node ${R[l1_latency_p50_us]:-?}/${R[l1_latency_p99_us]:-?} us, cross-node ${R[cl_latency_p50_us]:-?}/${R[cl_latency_p99_us]:-?} us"

  # e3) a third node joins while JOIN_CHANNELS channels (one connection each,
  # on B) get one event per round, published to A.
  if [ "$JOIN_CHANNELS" -gt 0 ]; then
    rounds=$(calc "$JOIN_RATE * ($JOIN_BEFORE_S + $JOIN_AFTER_S)")
    procs=$(( (JOIN_CHANNELS + 8999) / 9000 ))
    wait_quiet; Q[e3]=$QUIET_NOTE
    log "e3) join: $JOIN_CHANNELS channels x $rounds rounds at $JOIN_RATE/s (subscribers on B, publishes to A); third node after ${JOIN_BEFORE_S}s"
    rm -f "$WORK/join.ready"
    join_max=$((JOIN_BEFORE_S + JOIN_AFTER_S + 120))
    timeout -k 5 $((join_max + 30)) "$LOADGEN" rounds --port "$B_PORT" --publish-port "$A_PORT" \
      --conns "$JOIN_CHANNELS" --channels "$JOIN_CHANNELS" --procs "$procs" --src-base 11 \
      --events "$rounds" --rate "$JOIN_RATE" --concurrency 4 --payload "$PAYLOAD" \
      --connect-timeout-s 90 --ready-file "$WORK/join.ready" --max-s "$join_max" \
      --server-pid "$CL_PIDS" --aux-pid "$NATS_PID" > "$WORK/join.out" 2>&1 &
    LG_PID=$!
    R[j_ready]=$(wait_ready_file "$WORK/join.ready" "$LG_PID" 1000)
    owners_of "${CN_ADMIN[b1]}" > "$WORK/owners_a.before"
    owners_of "${CN_ADMIN[b2]}" > "$WORK/owners_b.before"
    R[j_owners_before]="A $(wc -l < "$WORK/owners_a.before"), B $(wc -l < "$WORK/owners_b.before")"
    sleep "$JOIN_BEFORE_S"
    T_JOIN=$(now_ms)
    if start_cluster_node b3; then
      R[j_node_ready_s]=$(calc "($(now_ms) - $T_JOIN) / 1000" 2)
      c_ticks0=$(proc_ticks "${CN_PID[b3]}")
      # Owners per node, polled (each poll takes a few hundred ms under load)
      # while the rounds still run: stop 2 s before publishing ends, so the
      # last poll is not taken while the subscribers disconnect.
      echo "# ms since the third node was started, owners on A, B, C" > "$WORK/join_owners.trace"
      T_VIEW=
      poll_until=$(( T_JOIN + (JOIN_AFTER_S - 2) * 1000 ))
      for _ in $(seq 1 $(( JOIN_AFTER_S * 5 ))); do
        kill -0 "$LG_PID" 2>/dev/null || break
        t=$(now_ms)
        [ "$t" -lt "$poll_until" ] || break
        if [ -z "$T_VIEW" ] && [ "$(members_of "${CN_ADMIN[b1]}")" = 3 ] \
           && [ "$(members_of "${CN_ADMIN[b2]}")" = 3 ] && [ "$(members_of "${CN_ADMIN[b3]}")" = 3 ]; then
          T_VIEW=$t
        fi
        for n in b1 b2 b3; do owners_of "${CN_ADMIN[$n]}" > "$WORK/owners_$n.last"; done
        echo "$((t - T_JOIN)) $(wc -l < "$WORK/owners_b1.last") $(wc -l < "$WORK/owners_b2.last") $(wc -l < "$WORK/owners_b3.last")" \
          >> "$WORK/join_owners.trace"
        sleep 0.2
      done
      cp "$WORK/owners_b3.last" "$WORK/owners_c.after"
      R[j_c_cpu_s]=$(calc "($(proc_ticks "${CN_PID[b3]}") - $c_ticks0) / $HZ" 2)
      R[j_view_s]=$( [ -n "$T_VIEW" ] && calc "($T_VIEW - $T_JOIN) / 1000" 2 || echo "n/a (not within the run)")
      R[j_moved]=$(wc -l < "$WORK/owners_c.after")
      R[j_moved_from_a]=$(comm -12 "$WORK/owners_a.before" "$WORK/owners_c.after" | wc -l)
      R[j_moved_from_b]=$(comm -12 "$WORK/owners_b.before" "$WORK/owners_c.after" | wc -l)
      R[j_moved_frac]=$(calc "${R[j_moved]} / $JOIN_CHANNELS" 3)
      # Owner convergence: the last poll at which any node's owner count changed.
      # (At or before the first poll when nothing changed after it.)
      R[j_owner_conv_s]=$(awk '/^#/ { next } !n++ { first = $1 }
                               n > 1 && ($2 != a || $3 != b || $4 != c) { last = $1 }
                               { a = $2; b = $3; c = $4 }
                               END { if (last) printf "%.1f", last / 1000;
                                     else printf "<= %.1f", first / 1000 }' "$WORK/join_owners.trace")
      R[j_owners_after]=$(tail -1 "$WORK/join_owners.trace" | awk '{ print "A " $2 ", B " $3 ", C " $4 }')
    else
      R[j_moved]="n/a (third node did not start)"
    fi
    wait "$LG_PID"; LG_PID=
    cluster_alive b1 b2 || exit 1
    for k in ready deliveries expected_deliveries rounds_sent rounds_incomplete \
             missed_requests missed_deliveries first_missed_request_real_ms \
             last_missed_request_real_ms conns_missing_events publish_errors \
             latency_p50_us latency_p99_us latency_max_us server_cpu_s aux_cpu_s \
             foreign_cpu_s requests_sent; do
      R[j_$k]=$(kv "$WORK/join.out" "$k")
    done
    # Delivery convergence: from the join until the last publish that did not
    # reach every subscribed channel (0 = nothing was lost).
    lm=${R[j_last_missed_request_real_ms]:-0}
    if [ "${R[j_missed_requests]:-0}" = 0 ]; then
      R[j_delivery_conv_s]=0
    elif [ "${R[j_first_missed_request_real_ms]:-0}" -lt "$T_JOIN" ]; then
      R[j_delivery_conv_s]="n/a (losses before the join)"
    else
      R[j_delivery_conv_s]=$(calc "($lm - $T_JOIN) / 1000" 2)
    fi
    # Slowest delivery per round, before and after the join (ms).
    kv "$WORK/join.out" round_table | tr ',' '\n' > "$WORK/join_rounds.txt"
    # A round's publishes are spread over 1/rate s: "before" = rounds that
    # ended before the third node was started.
    round_ms=$(calc "1000 / $JOIN_RATE")
    R[j_round_lat_before_ms]=$(awk -F: -v t="$T_JOIN" -v d="$round_ms" '$1 + d <= t && $3 > m { m = $3 } END { printf "%.0f", m / 1000 }' "$WORK/join_rounds.txt")
    R[j_round_lat_after_ms]=$(awk -F: -v t="$T_JOIN" -v d="$round_ms" '$1 + d > t && $3 > m { m = $3 } END { printf "%.0f", m / 1000 }' "$WORK/join_rounds.txt")
    log "e3) owners moved to the new node: ${R[j_moved]} of $JOIN_CHANNELS (${R[j_moved_frac]:-?}); view ${R[j_view_s]:-?} s, owners settled ${R[j_owner_conv_s]:-?} s, deliveries converged ${R[j_delivery_conv_s]} s after the join; missed ${R[j_missed_deliveries]:-?} deliveries"
  fi
fi

RSS_END=$(rss_kib "$NODE_PID")

# --- report -----------------------------------------------------------------
v() { echo "${R[$1]:-n/a}"; }
{
  if has_phase e; then echo "# Starling bench (one node and a cluster)"; else echo "# Starling single-node bench"; fi
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); host: $(nproc) CPU, kernel $(uname -r)"
  echo "- node: \`$STARLING${STARLING_ARGS[*]:+ ${STARLING_ARGS[*]}}\`; commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "- node RSS: start ${RSS_START} KiB, end ${RSS_END} KiB; phases: $PHASES"
  echo
  echo "| metric | value | notes |"
  echo "| --- | --- | --- |"
  if has_phase a; then
    echo "| a) userspace bytes per idle subscribed connection | $(v idle_bytes_per_conn) | $(v idle_ready) ready of $IDLE_CONNS, RSS $(v idle_rss_before_kib) -> $(v idle_rss_after_kib) KiB, failed $(v idle_failed), lost $(v idle_lost), connect $(v idle_connect_s) s |"
    echo "| a) kernel slab per connection (both ends) | $(v idle_kernel_slab_per_conn) | machine-wide Slab delta, informative |"
    echo "| a) node CPU while holding | $(v idle_settle_node_cpu_pct)% | over ${SETTLE_S} s settle; RSS after close $(v idle_rss_after_close_kib) KiB |"
  fi
  if has_phase b; then
    echo "| b) deliveries/s ($FANOUT_CONNS subs, $PAYLOAD B event) | $(v fanout_deliveries_per_s) | $(v fanout_deliveries) of $(v fanout_expected_deliveries) delivered (ratio $(v fanout_delivery_ratio)) |"
    echo "| b) deliveries per server CPU-second | $(v fanout_deliveries_per_server_cpu_s) | $(v fanout_server_us_per_delivery) us/delivery; server CPU $(v fanout_server_cpu_s) s |"
    echo "| b) kernel floor: write()s per CPU-second | $(v floor_writes_per_cpu_s) | $(v floor_msg_bytes) B frames, $(v floor_us_per_write) us/write |"
    echo "| b) **Starling / floor (CPU-normalised)** | **$(v fanout_floor_fraction)** | 1.0 = one bare write() per delivery |"
    echo "| b) latency under saturation p50 / p99 | $(v fanout_latency_p50_us) / $(v fanout_latency_p99_us) us | publisher unpaced, C=$FANOUT_CONCURRENCY |"
    echo "| b) loadgen CPU / foreign CPU | $(v fanout_loadgen_cpu_s) s / $(v fanout_foreign_cpu_s) s | loadgen $(v fanout_loadgen_worker_us_per_delivery) us/delivery |"
  fi
  if has_phase c; then
    offered=$((LAT_RATE * LAT_CONNS))
    load_note="offered $offered deliveries/s"
    if [ -n "${R[fanout_deliveries_per_s]:-}" ]; then
      # Above ~70% of the measured capacity the percentiles are queueing delay.
      load_note="$load_note = $(calc "100 * $offered / ${R[fanout_deliveries_per_s]}")% of b)"
    fi
    echo "| c) latency p50 / p99 ($LAT_RATE pub/s, $LAT_CONNS subs) | $(v lat_latency_p50_us) / $(v lat_latency_p99_us) us | p90 $(v lat_latency_p90_us), max $(v lat_latency_max_us) us; $load_note; $(v lat_latency_samples) samples; delivered $(v lat_deliveries)/$(v lat_expected_deliveries); foreign CPU $(v lat_foreign_cpu_s) s |"
  fi
  if has_phase d; then
    echo "| d) HTTP publishes/s (no subscribers) | $(v http_publishes_per_s) | C=$HTTP_CONCURRENCY, errors $(v http_publish_errors), request p50/p99 $(v http_request_p50_us)/$(v http_request_p99_us) us |"
    echo "| d) publishes per server CPU-second | $(v http_publishes_per_server_cpu_s) | server CPU $(v http_server_cpu_s) s, foreign CPU $(v http_foreign_cpu_s) s |"
  fi
  if has_phase e; then
    echo "| e) cluster | ${R[e_status]:-n/a} | nats-server $("$NATS_SERVER" --version 2>/dev/null | awk '{print $2}'), nodes b1 (A, publishes) and b2 (B, subscribers), heartbeat 500 ms, timeout 2000 ms |"
  fi
  if has_phase e && [ "${R[e_status]:-}" = ok ]; then
    echo "| e1) cross-node deliveries per node CPU-second ($FANOUT_CONNS subs on B, $FANOUT_EVENTS events to A, C=$FANOUT_CONCURRENCY) | $(v cf_deliveries_per_server_cpu_s) | nodes CPU $(v cf_server_cpu_s) s (A,B: $(v cf_server_cpu_s_each)); delivered $(v cf_deliveries)/$(v cf_expected_deliveries); $(v cf_deliveries_per_s)/s; publish errors $(v cf_publish_errors) |"
    echo "| e1) nats-server CPU / per (nodes + nats) CPU-s | $(v cf_aux_cpu_s) s / $(v cf_per_cpu_incl_nats) | loadgen $(v cf_loadgen_cpu_s) s, foreign $(v cf_foreign_cpu_s) s; latency under saturation p50/p99 $(v cf_latency_p50_us)/$(v cf_latency_p99_us) us |"
    echo "| e1) **cluster / one node (b), per server CPU-s** | **$(v cf_vs_one_node)** | target >= 0.90; one node $(v fanout_deliveries_per_server_cpu_s) (phase b, this run) |"
    echo "| e2) latency p50 / p99, one node ($LAT_RATE pub/s, $CLUSTER_LAT_CONNS subs) | $(v l1_latency_p50_us) / $(v l1_latency_p99_us) us | p90 $(v l1_latency_p90_us), max $(v l1_latency_max_us) us; delivered $(v l1_deliveries)/$(v l1_expected_deliveries); server CPU $(v l1_server_cpu_s) s; foreign $(v l1_foreign_cpu_s) s |"
    echo "| e2) **cross-node latency p50 / p99** (subs on B, publishes to A) | **$(v cl_latency_p50_us) / $(v cl_latency_p99_us) us** | p90 $(v cl_latency_p90_us), max $(v cl_latency_max_us) us; delivered $(v cl_deliveries)/$(v cl_expected_deliveries); nodes CPU $(v cl_server_cpu_s) s (A,B: $(v cl_server_cpu_s_each)), nats $(v cl_aux_cpu_s) s; foreign $(v cl_foreign_cpu_s) s |"
    if [ "$JOIN_CHANNELS" -gt 0 ]; then
      echo "| e3) channels whose owner moved to the joining node | $(v j_moved) of $JOIN_CHANNELS ($(v j_moved_frac)) | from A $(v j_moved_from_a), from B $(v j_moved_from_b); owners before: $(v j_owners_before); last poll: $(v j_owners_after) |"
      echo "| e3) view / owners settled after the join | $(v j_view_s) s / $(v j_owner_conv_s) s | from starting the third node (ready after $(v j_node_ready_s) s) until all 3 list 3 members / the last poll at which an owner count changed (polls of /topology, ~0.2-1 s apart: see join_owners.trace) |"
      echo "| e3) **delivery convergence after the join** | **$(v j_delivery_conv_s) s** | last publish not delivered to every channel, after the join; missed $(v j_missed_deliveries) deliveries in $(v j_missed_requests) of $(v j_requests_sent) requests; channels missing any event $(v j_conns_missing_events); publish errors $(v j_publish_errors) |"
      echo "| e3) slowest delivery per round, before / after the join | $(v j_round_lat_before_ms) / $(v j_round_lat_after_ms) ms | $(v j_rounds_sent) rounds at $JOIN_RATE/s, each one event to each of $JOIN_CHANNELS channels (100 per publish); p50/p99 $(v j_latency_p50_us)/$(v j_latency_p99_us) us; ready $(v j_ready) |"
      j_foreign=n/a
      [ -n "${R[j_foreign_cpu_s]:-}" ] && [ -n "${R[j_c_cpu_s]:-}" ] \
        && j_foreign=$(calc "${R[j_foreign_cpu_s]} - ${R[j_c_cpu_s]}" 2)
      echo "| e3) CPU: nodes A+B / nats / new node C | $(v j_server_cpu_s) / $(v j_aux_cpu_s) / $(v j_c_cpu_s) s | foreign (other processes, softirq of the loopback traffic, the /topology polls) $j_foreign s |"
    fi
  fi
  echo
  echo "## Machine state before each phase"
  echo
  for p in a b floor c d e1 e2_one e2 e3; do
    [ -n "${Q[$p]:-}" ] && echo "- $p: ${Q[$p]}"
  done
  echo
  echo "## Raw outputs"
  for f in idle fanout floor latency http cluster_fanout latency_one cluster_latency join join_owners.trace; do
    [ -f "$WORK/$f" ] && [ ! -f "$WORK/$f.out" ] && cp "$WORK/$f" "$WORK/$f.out"
    [ -f "$WORK/$f.out" ] || continue
    echo
    echo "### $f"
    echo
    echo '```'
    cat "$WORK/$f.out"
    echo '```'
  done
} > "$REPORT"

echo
echo "== Starling bench summary (report: $REPORT)"
has_phase a && echo "RESULT idle_bytes_per_conn=$(v idle_bytes_per_conn) ready=$(v idle_ready)/$IDLE_CONNS"
has_phase b && echo "RESULT fanout_deliveries_per_s=$(v fanout_deliveries_per_s) per_server_cpu_s=$(v fanout_deliveries_per_server_cpu_s) floor_fraction=$(v fanout_floor_fraction) delivered=$(v fanout_deliveries)/$(v fanout_expected_deliveries)"
has_phase c && echo "RESULT latency_p50_us=$(v lat_latency_p50_us) latency_p99_us=$(v lat_latency_p99_us) at ${LAT_RATE}/s"
has_phase d && echo "RESULT http_publishes_per_s=$(v http_publishes_per_s) per_server_cpu_s=$(v http_publishes_per_server_cpu_s)"
if has_phase e; then
  if [ "${R[e_status]:-}" = ok ]; then
    echo "RESULT cluster_fanout_per_server_cpu_s=$(v cf_deliveries_per_server_cpu_s) one_node=$(v fanout_deliveries_per_server_cpu_s) ratio=$(v cf_vs_one_node) (target>=0.90) nodes_cpu_s=$(v cf_server_cpu_s) nats_cpu_s=$(v cf_aux_cpu_s) delivered=$(v cf_deliveries)/$(v cf_expected_deliveries)"
    echo "RESULT cluster_latency_p50_us=$(v cl_latency_p50_us) p99_us=$(v cl_latency_p99_us) one_node_p50_us=$(v l1_latency_p50_us) p99_us=$(v l1_latency_p99_us) at ${LAT_RATE}/s subs=$CLUSTER_LAT_CONNS"
    [ "$JOIN_CHANNELS" -gt 0 ] && echo "RESULT cluster_join channels=$JOIN_CHANNELS owners_moved=$(v j_moved) ($(v j_moved_frac)) view_s=$(v j_view_s) owners_settled_s=$(v j_owner_conv_s) delivery_convergence_s=$(v j_delivery_conv_s) missed_deliveries=$(v j_missed_deliveries) round_max_ms_before=$(v j_round_lat_before_ms) after=$(v j_round_lat_after_ms)"
  else
    echo "RESULT cluster ${R[e_status]:-n/a}"
  fi
fi
exit 0
