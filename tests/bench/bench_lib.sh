# Shell helpers shared by run_bench.sh, compare.sh and scale.sh (sourced, not
# run): process control by pid, /proc readers, arithmetic, machine load.

# Stops one pid the caller started: TERM, up to $2 tenths of a second, KILL.
stop_pid() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 1 "$2"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
}

log() { echo "[${BENCH_TAG:-bench} $(date +%H:%M:%S)] $*"; }
# Value of key=... in a loadgen output file.
kv() { grep -m1 "^$2=" "$1" 2>/dev/null | cut -d= -f2-; }
calc() { awk "BEGIN { printf \"%.${2:-0}f\", $1 }" 2>/dev/null; }
now_ms() { date +%s%3N; }

busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
total_ticks() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
proc_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
slab_kib() { awk '/^Slab:/{print $2}' /proc/meminfo; }
# 1-minute load average, as uptime prints it.
load1() { cut -d' ' -f1 /proc/loadavg; }

# Machine busy share (percent of ncpu*100) over $1 seconds (default 2).
busy_pct() {
  local t0 b0 t1 b1
  t0=$(total_ticks); b0=$(busy_ticks); sleep "${1:-2}"
  t1=$(total_ticks); b1=$(busy_ticks)
  echo $(( $(nproc) * 100 * (b1 - b0) / (t1 - t0 > 0 ? t1 - t0 : 1) ))
}

# Prints a TCP port that was free a moment ago on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts a Starling node: $1 = name, $2 = config file, $3 = log file, then
# the binary and its extra arguments. Waits (30 s at most) for its
# STARLING_READY line; sets SN_PID, SN_PORT, SN_ADMIN. Returns 1 if not ready.
start_starling() {
  local name=$1 config=$2 logf=$3 line=; shift 3
  "$@" --config "$config" > "$logf" 2>&1 < /dev/null &
  SN_PID=$!
  for _ in $(seq 1 150); do
    line=$(grep -m1 '^STARLING_READY' "$logf" 2>/dev/null)
    [ -n "$line" ] && break
    kill -0 "$SN_PID" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$line" ]; then
    echo "$name did not print STARLING_READY within 30 s; log:"; tail -10 "$logf"
    return 1
  fi
  SN_PORT=$(echo "$line" | sed -nE 's/.* port=([0-9]+).*/\1/p')
  SN_ADMIN=$(echo "$line" | sed -nE 's/.*admin_port=([0-9]+).*/\1/p')
  log "$name pid $SN_PID on 127.0.0.1:$SN_PORT (admin $SN_ADMIN)"
}

# Starts nats-server ($1 = binary, $2 = log file, then extra arguments) on a
# port it picks; sets NS_PID and NS_PORT. Returns 1 if it is not listening
# within 10 s.
start_nats_server() {
  local bin=$1 logf=$2; shift 2
  "$bin" -a 127.0.0.1 -p -1 "$@" > "$logf" 2>&1 < /dev/null &
  NS_PID=$!
  NS_PORT=
  for _ in $(seq 1 100); do
    NS_PORT=$(sed -nE 's/.*Listening for client connections on 127\.0\.0\.1:([0-9]+).*/\1/p' \
              "$logf" 2>/dev/null | head -1)
    [ -n "$NS_PORT" ] && break
    kill -0 "$NS_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$NS_PORT" ]; then
    echo "nats-server did not start within 10 s; log:"; tail -5 "$logf"
    return 1
  fi
  log "nats-server pid $NS_PID on 127.0.0.1:$NS_PORT"
}

# Cluster view through a node's admin port.
topology() { curl -s -m 3 "http://127.0.0.1:$1/topology" 2>/dev/null; }
# Members of the cluster view as node $1 (admin port) sees it.
members_of() {
  topology "$1" | grep -o '"members":\[[^]]*\]' | head -1 | sed 's/^"members":\[//; s/\]$//' \
    | tr ',' '\n' | grep -c '"'
}
# Waits (at most $1 s) until every admin port in $3.. lists $2 members.
wait_members() {
  local max=$1 want=$2 a ok; shift 2
  for _ in $(seq 1 $((max * 4))); do
    ok=1
    for a in "$@"; do [ "$(members_of "$a")" = "$want" ] || { ok=0; break; }; done
    [ $ok = 1 ] && return 0
    sleep 0.25
  done
  return 1
}

# Waits (at most $3 tenths of a second) for loadgen pid $2 to write its
# --ready-file $1; prints how many connections it reported ready (0 if none).
wait_ready_file() {
  local r
  for _ in $(seq 1 "$3"); do
    [ -f "$1" ] && break
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  r=$(sed -nE 's/^ready=([0-9]+).*/\1/p' "$1" 2>/dev/null)
  echo "${r:-0}"
}
