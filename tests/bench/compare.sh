#!/usr/bin/env bash
# `make compare`: Starling against Soketi 1.6.1 with the same load generator
# in one run. Every figure gets a fresh server; the two servers alternate
# (the order flips from figure to figure and repeat to repeat); uptime's load
# and the machine-busy share are recorded before each figure, and a figure is
# marked contaminated when the machine was busier than --max-busy just before
# it (with no server running, that is foreign work; the load average still
# carries the benchmark's own previous figure). Writes
# reports/compare-<date>/report.md with medians, ranges, ratios and PNG plots
# (compare_report.js). Loopback only; every wait is bounded; stops only what
# it started, by pid.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=bench_lib.sh
. "$here/bench_lib.sh"
BENCH_TAG=compare

STARLING=$repo/build/starling
LOADGEN=$repo/build/tests/bench/starling_loadgen
FLOOR=$repo/build/tests/bench/starling_fanout_floor
LFLOOR=$repo/build/tests/bench/starling_latency_floor
SOKETI=            # soketi binary; default: scripts/install_soketi.sh
PEERS=starling,soketi
REPEATS=3
OUT=
QUICK=0
MAX_BUSY=15        # machine busy % before a figure above this = contaminated
IDLE_STEP=3000     # idle figures: connections added per step ...
IDLE_STEPS=5       # ... and steps (15,000 in all)
LAT_SUBS="1000 5000"
LAT_RATE=50
LAT_SECONDS=10
BURST_SUBS="1000 2000 5000"
BURST_EVENTS=200
HTTP_SECONDS=10
SETTLE_S=5
STEP_S=1           # idle figures: pause before reading RSS after a step
BUSY_S=2           # machine-busy sample before each figure
PAYLOAD=100
HTTP_TOOL=         # wrk | loadgen; default wrk when installed

usage() {
  cat <<EOF
usage: $0 [--quick] [--repeats N] [--peers starling,soketi] [--out DIR]
          [--starling PATH] [--soketi PATH] [--loadgen PATH] [--floor PATH] [--latency-floor PATH]
          [--max-busy PCT] [--http-tool wrk|loadgen] [--figures LIST]
  --quick     small counts, one repeat (a smoke run: figures mean little)
  --figures   only these, comma-separated (idle_shared, idle_own,
              latency_<subs>, burst_<subs>, http; default all)
  --repeats   runs of every figure (default 3): median and range reported
  --peers     which servers (default both; starling alone needs no npm)
  --out       report folder (default reports/compare-<UTC date-time>)
EOF
}

ARGV="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --peers) PEERS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --starling) STARLING=$2; shift 2 ;;
    --soketi) SOKETI=$2; shift 2 ;;
    --loadgen) LOADGEN=$2; shift 2 ;;
    --floor) FLOOR=$2; shift 2 ;;
    --latency-floor) LFLOOR=$2; shift 2 ;;
    --max-busy) MAX_BUSY=$2; shift 2 ;;
    --http-tool) HTTP_TOOL=$2; shift 2 ;;
    --figures) ONLY_FIGS=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1"; usage; exit 2 ;;
  esac
done

if [ "$QUICK" = 1 ]; then
  REPEATS=1; IDLE_STEP=500; IDLE_STEPS=2; LAT_SUBS="200"; LAT_SECONDS=1
  BURST_SUBS="300"; BURST_EVENTS=200; HTTP_SECONDS=1; SETTLE_S=0.5
  STEP_S=0.3; BUSY_S=0.5
fi
for bin in "$STARLING" "$LOADGEN" "$FLOOR"; do
  [ -x "$bin" ] || { echo "missing executable: $bin (build it first)"; exit 2; }
done
[ -n "$HTTP_TOOL" ] || { command -v wrk > /dev/null && HTTP_TOOL=wrk || HTTP_TOOL=loadgen; }
IFS=',' read -ra PEER_LIST <<< "$PEERS"
for p in "${PEER_LIST[@]}"; do
  case "$p" in
    starling) ;;
    soketi)
      [ -n "$SOKETI" ] || SOKETI=$("$repo/scripts/install_soketi.sh") \
        || { echo "could not install soketi"; exit 2; } ;;
    *) echo "unknown peer $p"; exit 2 ;;
  esac
done

[ -n "$OUT" ] || OUT=$repo/reports/compare-$(date -u +%Y%m%d-%H%M%S)
rm -rf "$OUT/raw" "$OUT/plots"   # a reused folder keeps no stale figures
mkdir -p "$OUT/raw"
RESULTS=$OUT/results.tsv
WORK=$(mktemp -d /tmp/starling-compare.XXXXXX)
SRV_PID=
LG_PIDS=()
HZ=$(getconf CLK_TCK)

cleanup() {
  local p
  for p in "${LG_PIDS[@]}"; do stop_pid "$p" 50; done
  stop_pid "$SRV_PID" 100
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

# --- servers ----------------------------------------------------------------
start_server() {
  local peer=$1
  if [ "$peer" = starling ]; then
    cat > "$WORK/starling.json" <<JSON
{"server":{"host":"127.0.0.1","port":0},"admin":{"port":0},
 "apps":[{"id":"app-id","key":"app-key","secret":"app-secret","enable_client_messages":true}]}
JSON
    start_starling starling "$WORK/starling.json" "$WORK/server.log" "$STARLING" || return 1
    SRV_PID=$SN_PID; SRV_PORT=$SN_PORT
    return 0
  fi
  # Soketi: every listener on loopback (its node-discover UDP hello goes to
  # 255.255.255.255 unless unicast is pinned); no shutdown grace period.
  local cport
  SRV_PORT=$(free_port); cport=$(free_port)
  cat > "$WORK/soketi.json" <<JSON
{"host":"127.0.0.1","port":$SRV_PORT,"metrics.host":"127.0.0.1","metrics.port":$(free_port),
 "cluster.address":"127.0.0.1","cluster.port":$cport,"cluster.unicast":"127.0.0.1:$cport",
 "shutdownGracePeriod":0,"appManager.array.apps.0.enableClientMessages":true}
JSON
  # setsid: Soketi shuts down on the SIGHUP a closing terminal sends.
  setsid "$SOKETI" start --config="$WORK/soketi.json" > "$WORK/server.log" 2>&1 < /dev/null &
  SRV_PID=$!
  for _ in $(seq 1 150); do
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$SRV_PORT/" && { log "soketi pid $SRV_PID on 127.0.0.1:$SRV_PORT"; return 0; }
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "soketi did not answer within 30 s; log:"; tail -10 "$WORK/server.log"
  return 1
}

stop_server() { stop_pid "$SRV_PID" 100; wait "$SRV_PID" 2>/dev/null; SRV_PID=; }

# --- results ------------------------------------------------------------------
# One line per value: repeat, peer, figure, metric, value, load before/after,
# machine busy % (of ncpu*100) over the 2 s before the figure started.
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$REP" "$PEER" "$FIG" "$1" "$2" \
             "$LOAD_BEFORE" "${LOAD_AFTER:-}" "$BUSY_BEFORE" >> "$RESULTS.part"; }

run_lg() {  # output file, max seconds, loadgen arguments...
  local out=$1 max_s=$2; shift 2
  timeout -k 5 $((max_s + 30)) "$LOADGEN" "$@" --max-s "$max_s" > "$out" 2>&1 &
  LG_PIDS=($!)
  wait "${LG_PIDS[0]}"; local rc=$?
  LG_PIDS=()
  return $rc
}

# --- figures ------------------------------------------------------------------
# Memory per idle subscribed connection, in IDLE_STEPS steps of IDLE_STEP
# connections (a loadgen process each): RSS over the fresh server's after
# every step gives memory vs connections. $1 = shared | own (each connection
# on its own channel).
fig_idle() {
  local kind=$1 s rss0 rss ready total=0 f args
  sleep "$STEP_S"; rss0=$(rss_kib "$SRV_PID")
  record rss0_kib "$rss0"
  for s in $(seq 1 "$IDLE_STEPS"); do
    f=$WORK/idle$s.ready; rm -f "$f"
    args=(--channel bench)
    [ "$kind" = own ] && args=(--channel "own$s" --channels "$IDLE_STEP")
    timeout -k 5 400 "$LOADGEN" idle --port "$SRV_PORT" --conns "$IDLE_STEP" --procs 1 \
      --src-base $((1 + s)) "${args[@]}" --ready-file "$f" --connect-timeout-s 120 \
      --hold-s 300 --max-s 360 > "$OUT/raw/$REP-$PEER-$FIG-$s.out" 2>&1 &
    LG_PIDS+=($!)
    ready=$(wait_ready_file "$f" "${LG_PIDS[-1]}" 1500)
    total=$((total + ready))
    sleep "$STEP_S"
    rss=$(rss_kib "$SRV_PID")
    record "rss_delta_kib@$total" $((rss - rss0))
  done
  sleep "$SETTLE_S"
  rss=$(rss_kib "$SRV_PID")
  record ready "$total"
  [ "$total" -gt 0 ] && record bytes_per_conn "$(calc "($rss - $rss0) * 1024 / $total")"
  for s in "${LG_PIDS[@]}"; do kill -TERM "$s" 2>/dev/null; done
  for s in "${LG_PIDS[@]}"; do wait "$s" 2>/dev/null; done
  LG_PIDS=()
  log "$PEER $FIG: $total ready, $(calc "($rss - $rss0) * 1024 / ($total > 0 ? $total : 1)") B/conn"
}

# Publish-to-deliver latency at LAT_RATE publishes/s to $1 subscribers; also
# the paced server CPU per delivery.
fig_latency() {
  local n=$1 out=$OUT/raw/$REP-$PEER-$FIG.out
  run_lg "$out" $((LAT_SECONDS + 200)) fanout --port "$SRV_PORT" --conns "$n" --procs 1 \
    --src-base 5 --events $((LAT_RATE * LAT_SECONDS)) --rate "$LAT_RATE" --concurrency 4 \
    --payload "$PAYLOAD" --server-pid "$SRV_PID" --cdf-file "$OUT/raw/$REP-$PEER-$FIG.cdf"
  local k
  for k in latency_p50_us latency_p99_us latency_max_us arrival_p50_us arrival_p99_us \
           deliveries expected_deliveries \
           server_us_per_delivery frame_payload_avg_bytes foreign_cpu_s; do
    record "$k" "$(kv "$out" "$k")"
  done
  log "$PEER $FIG: p50 $(kv "$out" latency_p50_us) us, p99 $(kv "$out" latency_p99_us) us (at the socket: $(kv "$out" arrival_p50_us) / $(kv "$out" arrival_p99_us) us), $(kv "$out" deliveries)/$(kv "$out" expected_deliveries) delivered"
}

# Burst fan-out to $1 subscribers: deliveries per server CPU-second.
fig_burst() {
  local n=$1 out=$OUT/raw/$REP-$PEER-$FIG.out k
  run_lg "$out" 150 fanout --port "$SRV_PORT" --conns "$n" --procs 1 --src-base 4 \
    --events "$BURST_EVENTS" --concurrency 20 --payload "$PAYLOAD" --server-pid "$SRV_PID"
  for k in deliveries_per_server_cpu_s deliveries_per_s deliveries expected_deliveries \
           server_cpu_s foreign_cpu_s; do
    record "$k" "$(kv "$out" "$k")"
  done
  log "$PEER $FIG: $(kv "$out" deliveries_per_server_cpu_s) deliveries per server CPU-s ($(kv "$out" deliveries)/$(kv "$out" expected_deliveries))"
}

# One signed publish to a channel nobody subscribes, as a wrk script. Signed
# now: Starling refuses timestamps more than 600 s off.
signed_wrk_script() {
  local body md5 ts query sig
  body='{"name":"bench-event","channel":"bench-empty","data":"{\"x\":\"'$(head -c "$PAYLOAD" /dev/zero | tr '\0' x)'\"}"}'
  md5=$(printf '%s' "$body" | md5sum | cut -d' ' -f1)
  ts=$(date +%s)
  query="auth_key=app-key&auth_timestamp=$ts&auth_version=1.0&body_md5=$md5"
  sig=$(printf 'POST\n/apps/app-id/events\n%s' "$query" | openssl dgst -sha256 -hmac app-secret | awk '{print $NF}')
  cat <<LUA
wrk.method = "POST"
wrk.path = "/apps/app-id/events?$query&auth_signature=$sig"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$body]]
LUA
}

# HTTP publishes/s, 20 connections. wrk offers keep-alive to both peers and
# reconnects when a server closes (Soketi closes after every response); the
# reconnect count is recorded. Without wrk: starling_loadgen http (keep-alive,
# reopening closed connections the same way).
fig_http() {
  local out=$OUT/raw/$REP-$PEER-$FIG.out t0 t1 reqs
  t0=$(proc_ticks "$SRV_PID")
  if [ "$HTTP_TOOL" = wrk ]; then
    signed_wrk_script > "$WORK/pub.lua"
    timeout -k 5 $((HTTP_SECONDS + 30)) wrk -t1 -c20 -d"${HTTP_SECONDS}s" -s "$WORK/pub.lua" \
      "http://127.0.0.1:$SRV_PORT" > "$out" 2>&1
    t1=$(proc_ticks "$SRV_PID")
    record tool wrk
    record publishes_per_s "$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$out")"
    record non_2xx "$(awk '/Non-2xx/{print $NF}' "$out")"
    record socket_errors "$(grep -m1 'Socket errors' "$out" | sed 's/^ *//; s/ /_/g')"
    reqs=$(awk '/requests in/{print $1}' "$out")
    [ -n "$reqs" ] && record publishes_per_server_cpu_s "$(calc "$reqs * $HZ / ($t1 - $t0 > 0 ? $t1 - $t0 : 1)")"
  else
    run_lg "$out" $((HTTP_SECONDS + 60)) http --port "$SRV_PORT" --channel bench-empty \
      --concurrency 20 --duration-s "$HTTP_SECONDS" --events 0 --payload "$PAYLOAD" \
      --server-pid "$SRV_PID"
    record tool loadgen
    record publishes_per_s "$(kv "$out" publishes_per_s)"
    record non_2xx "$(kv "$out" publish_errors)"
    record reconnects "$(kv "$out" reconnects)"
    record publishes_per_server_cpu_s "$(kv "$out" publishes_per_server_cpu_s)"
  fi
  log "$PEER $FIG: $(grep -P "\tpublishes_per_s\t" "$RESULTS.part" | tail -1 | cut -f5) publishes/s"
}

# The kernel floor: one write() per delivery of the frame size the paced
# figure put on the wire (Starling only; the floor belongs to the machine).
fig_floor() {
  local out=$OUT/raw/$REP-floor.out fp msg n=${LAT_SUBS##* }
  fp=$(grep -P "^$REP\tstarling\tlatency_$n\tframe_payload_avg_bytes\t" "$RESULTS" | cut -f5)
  fp=${fp%.*}; [ "${fp:-0}" -gt 0 ] 2>/dev/null || fp=$((PAYLOAD + 60))
  msg=$(( fp < 126 ? fp + 2 : fp + 4 ))
  # 100 writes per socket: 2.5 M (the latency figure's count) outran the
  # floor's 60 s alarm at load 12.
  timeout -k 5 90 "$FLOOR" "$n" 100 "$msg" 60 > "$out" 2>&1
  record floor_us_per_write "$(kv "$out" floor_writer_us_per_write)"
  record floor_msg_bytes "$msg"
}

# The latency floor of a latency figure's load ($1 subscribers, rate,
# length, frame size): a process that does nothing but write() each event
# to each subscriber, from as many threads as Starling has I/O threads (one
# per core), coalescing what is due when it falls behind.
fig_latency_floor() {
  local n=$1 out=$OUT/raw/$REP-latency-floor-$1.out fp msg k
  fp=$(grep -P "^$REP\tstarling\tlatency_$n\tframe_payload_avg_bytes\t" "$RESULTS" | cut -f5)
  fp=${fp%.*}; [ "${fp:-0}" -gt 0 ] 2>/dev/null || fp=$((PAYLOAD + 60))
  msg=$(( fp < 126 ? fp + 2 : fp + 4 ))
  timeout -k 5 $((LAT_SECONDS + 90)) "$LFLOOR" "$n" "$LAT_RATE" "$LAT_SECONDS" "$msg" "$(nproc)" \
    $((LAT_SECONDS + 60)) > "$out" 2>&1
  for k in lfloor_p50_us lfloor_p99_us lfloor_arrival_p50_us lfloor_arrival_p99_us \
           lfloor_delivered lfloor_expected lfloor_writers; do
    record "$k" "$(kv "$out" "$k")"
  done
  log "latency floor ($n subscribers, $(nproc) writers): p50 / p99 $(kv "$out" lfloor_p50_us) / $(kv "$out" lfloor_p99_us) us, at the socket $(kv "$out" lfloor_arrival_p50_us) / $(kv "$out" lfloor_arrival_p99_us) us"
}

# Runs figure $1 (function + args in $2..) on peer PEER with a fresh server.
run_figure() {
  FIG=$1; shift
  : > "$RESULTS.part"
  LOAD_AFTER=
  BUSY_BEFORE=$(busy_pct "$BUSY_S"); LOAD_BEFORE=$(load1)
  if [ "$PEER" != floor ]; then
    start_server "$PEER" || { record error server_start; cat "$RESULTS.part" >> "$RESULTS"; return; }
  fi
  "$@"
  [ "$PEER" != floor ] && { kill -0 "$SRV_PID" 2>/dev/null || record error server_exited; stop_server; }
  LOAD_AFTER=$(load1)
  # Rewrite this figure's lines with the load after it.
  awk -v la="$LOAD_AFTER" 'BEGIN { FS = OFS = "\t" } { $7 = la; print }' "$RESULTS.part" >> "$RESULTS"
}

printf 'repeat\tpeer\tfigure\tmetric\tvalue\tload_before\tload_after\tbusy_before_pct\n' > "$RESULTS"
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "command=$0 $ARGV"
  echo "commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none)"
  echo "host=$(nproc) CPU, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "starling=$STARLING"
  echo "soketi=${SOKETI:-not run} $( [ -n "$SOKETI" ] && echo "(1.6.1, uWebSockets.js aliased to uwebsockets@3.0.6; node $(node --version))")"
  echo "peers=$PEERS"; echo "repeats=$REPEATS"; echo "quick=$QUICK"; echo "max_busy=$MAX_BUSY"; echo "figures=${ONLY_FIGS:-all}"
  echo "load=idle ${IDLE_STEPS} steps x $IDLE_STEP conns; latency $LAT_RATE publishes/s for $LAT_SECONDS s to $LAT_SUBS subscribers; burst $BURST_EVENTS events, 20 in flight, to $BURST_SUBS subscribers; HTTP $HTTP_SECONDS s; payload $PAYLOAD B"
  echo "lat_rate=$LAT_RATE"
  echo "http_tool=$( [ "$HTTP_TOOL" = wrk ] && wrk -v 2>&1 | head -1 | cut -d' ' -f1-2 || echo "starling_loadgen http (keep-alive; reopens closed connections)")"
  echo "uptime_start=$(uptime)"
} > "$OUT/meta.txt"

FIGS=("idle_shared fig_idle shared" "idle_own fig_idle own")
for n in $LAT_SUBS; do FIGS+=("latency_$n fig_latency $n"); done
for n in $BURST_SUBS; do FIGS+=("burst_$n fig_burst $n"); done
FIGS+=("http fig_http")
if [ -n "${ONLY_FIGS:-}" ]; then
  kept=()
  for spec in "${FIGS[@]}"; do
    [[ ",$ONLY_FIGS," == *",${spec%% *},"* ]] && kept+=("$spec")
  done
  [ ${#kept[@]} -gt 0 ] || { echo "no figure matches --figures $ONLY_FIGS"; exit 2; }
  FIGS=("${kept[@]}")
fi

T_START=$(date +%s)
fi_index=0
for REP in $(seq 1 "$REPEATS"); do
  for spec in "${FIGS[@]}"; do
    read -ra parts <<< "$spec"
    # Alternate which server goes first, figure to figure and repeat to repeat.
    order=("${PEER_LIST[@]}")
    if [ $(( (REP + fi_index) % 2 )) = 0 ] && [ ${#PEER_LIST[@]} = 2 ]; then
      order=("${PEER_LIST[1]}" "${PEER_LIST[0]}")
    fi
    fi_index=$((fi_index + 1))
    for PEER in "${order[@]}"; do
      log "repeat $REP/$REPEATS: ${parts[0]} on $PEER (load $(load1))"
      run_figure "${parts[@]}"
    done
  done
  if [[ ",$PEERS," == *,starling,* ]]; then
    PEER=floor; run_figure floor fig_floor
    for spec in "${FIGS[@]}"; do
      [[ $spec == latency_* ]] || continue
      read -ra parts <<< "$spec"
      PEER=floor; run_figure "paced_floor_${parts[2]}" fig_latency_floor "${parts[2]}"
    done
  fi
done
echo "uptime_end=$(uptime)" >> "$OUT/meta.txt"
echo "duration_s=$(( $(date +%s) - T_START ))" >> "$OUT/meta.txt"

node "$here/compare_report.js" "$OUT"; rc=$?
log "report: $OUT/report.md"
# 3 = a headline figure is missing or a server failed: the run is not whole.
exit $rc
