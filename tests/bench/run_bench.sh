#!/usr/bin/env bash
# Single-node Starling bench: starts a fresh node, measures idle memory per
# connection, fan-out throughput (also per server CPU-second and against the
# kernel write() floor), publish-to-deliver latency and HTTP publishes/s, and
# writes tests/bench/last_report.md. Loopback only; every wait is bounded.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

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

usage() {
  cat <<EOF
usage: $0 [options]
  --starling PATH      server binary (default build/starling); started as
                       PATH [--starling-arg X ...] --config FILE
  --starling-arg X     extra argument before --config (repeatable)
  --loadgen PATH       starling_loadgen (default build/tests/bench/starling_loadgen)
  --floor PATH         starling_fanout_floor (default build/tests/bench/...)
  --phases a,b,c,d     a=idle memory, b=fan-out, c=latency, d=HTTP publish
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
    --small)
      IDLE_CONNS=2000; FANOUT_CONNS=2000; FANOUT_EVENTS=50; LAT_CONNS=1000
      LAT_SECONDS=4; HTTP_SECONDS=3; SETTLE_S=2; QUIET_MAX=10; shift ;;
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

for bin in "$STARLING" "$LOADGEN" "$FLOOR"; do
  [ -x "$bin" ] || { echo "missing executable: $bin (build it first)"; exit 2; }
done

WORK=$(mktemp -d /tmp/starling-bench.XXXXXX)
NODE_PID=
LG_PID=
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# Stops only what this script started, by pid.
cleanup() {
  if [ -n "$LG_PID" ] && kill -0 "$LG_PID" 2>/dev/null; then
    kill -TERM "$LG_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$LG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$LG_PID" 2>/dev/null
  fi
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NODE_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  [ "$KEEP" = 1 ] && echo "scratch kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

log() { echo "[bench $(date +%H:%M:%S)] $*"; }
kv() { grep -m1 "^$2=" "$1" 2>/dev/null | cut -d= -f2-; }
calc() { awk "BEGIN { printf \"%.${2:-0}f\", $1 }" 2>/dev/null; }
has_phase() { case ",$PHASES," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
total_ticks() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
proc_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
slab_kib() { awk '/^Slab:/{print $2}' /proc/meminfo; }

# Waits (at most QUIET_MAX s) for an idle machine, like calib2.sh's wait_quiet.
# Sets QUIET_NOTE to busy% (of ncpu*100) and the foreign share: busy minus the
# node's own CPU over the last 2 s sample.
wait_quiet() {
  local t0 b0 s0 n0 t1 b1 s1 n1 busy node foreign waited=0
  while :; do
    t0=$(total_ticks); b0=$(busy_ticks); n0=$(proc_ticks "$NODE_PID")
    sleep 2; waited=$((waited + 2))
    t1=$(total_ticks); b1=$(busy_ticks); n1=$(proc_ticks "$NODE_PID")
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
  "$STARLING" "${STARLING_ARGS[@]}" --config "$WORK/starling.json" > "$WORK/node.log" 2>&1 < /dev/null &
  NODE_PID=$!
  local line=
  for _ in $(seq 1 150); do
    line=$(grep -m1 '^STARLING_READY' "$WORK/node.log" 2>/dev/null)
    [ -n "$line" ] && break
    kill -0 "$NODE_PID" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$line" ]; then
    echo "node did not print STARLING_READY within 30 s; log:"; tail -20 "$WORK/node.log"
    exit 1
  fi
  PORT=$(echo "$line" | sed -nE 's/.* port=([0-9]+).*/\1/p')
  ADMIN_PORT=$(echo "$line" | sed -nE 's/.*admin_port=([0-9]+).*/\1/p')
  log "node pid $NODE_PID listening on 127.0.0.1:$PORT (admin $ADMIN_PORT)"
}

node_alive() {
  kill -0 "$NODE_PID" 2>/dev/null && return 0
  echo "node exited; last log lines:"; tail -20 "$WORK/node.log"; return 1
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
  for _ in $(seq 1 1700); do
    [ -f "$WORK/idle.ready" ] && break
    kill -0 "$LG_PID" 2>/dev/null || break
    sleep 0.1
  done
  ready=$(sed -nE 's/^ready=([0-9]+).*/\1/p' "$WORK/idle.ready" 2>/dev/null)
  ready=${ready:-0}
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

RSS_END=$(rss_kib "$NODE_PID")

# --- report -----------------------------------------------------------------
v() { echo "${R[$1]:-n/a}"; }
{
  echo "# Starling single-node bench"
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
  echo
  echo "## Machine state before each phase"
  echo
  for p in a b floor c d; do
    [ -n "${Q[$p]:-}" ] && echo "- $p: ${Q[$p]}"
  done
  echo
  echo "## Raw outputs"
  for f in idle fanout floor latency http; do
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
exit 0
