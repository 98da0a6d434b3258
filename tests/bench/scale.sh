#!/usr/bin/env bash
# `make scale`: five Starling nodes on this machine over one nats-server,
# 90,000 idle subscribed connections across them (a few shared channels, many
# channels with one connection each), then rounds of publishes that reach
# every channel (100 channels per request, all to node 1, so each event
# crosses the cluster through NATS). Reports memory per connection across the
# cluster, time until the last connection has a round's event, and NATS
# messages per publish (nats-server /varz in_msgs / out_msgs). Minutes long;
# never in CI. Loopback only, bounded, stops what it started by pid.
#
# One node cannot hold more: 20,000 open files per process here. Loadgen
# workers stay below that too (9,000 connections each) and each binds its own
# 127.0.0.x source address so none runs out of ephemeral ports.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=bench_lib.sh
. "$here/bench_lib.sh"
BENCH_TAG=scale

STARLING=$repo/build/starling
LOADGEN=$repo/build/tests/bench/starling_loadgen
NATS_SERVER=nats-server
NODES=5
CONNS=90000
PROCS=10           # loadgen workers (worker k -> node k % NODES)
PRIVATE=60000      # channels with one connection each
SHARED=10          # shared channels; the other CONNS - PRIVATE connections
ROUNDS=3
ROUND_GAP_S=20     # rounds start this far apart
CONCURRENCY=8      # publishes in flight
HOLD_S=15          # idle hold after all are subscribed (memory is sampled)
OUT=

usage() {
  cat <<EOF
usage: $0 [--starling PATH] [--loadgen PATH] [--nats-server PATH] [--out DIR]
          [--nodes 5] [--conns 90000] [--procs 10] [--private 60000]
          [--shared 10] [--rounds 3] [--round-gap-s 20] [--hold-s 15]
  --small: 3 nodes, 6,000 connections (4,000 private, 5 shared), 2 rounds
EOF
}
ARGV="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --starling) STARLING=$2; shift 2 ;;
    --loadgen) LOADGEN=$2; shift 2 ;;
    --nats-server) NATS_SERVER=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --procs) PROCS=$2; shift 2 ;;
    --private) PRIVATE=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --round-gap-s) ROUND_GAP_S=$2; shift 2 ;;
    --hold-s) HOLD_S=$2; shift 2 ;;
    --small) NODES=3; CONNS=6000; PROCS=3; PRIVATE=4000; SHARED=5; ROUNDS=2
             ROUND_GAP_S=5; HOLD_S=3; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1"; usage; exit 2 ;;
  esac
done
for bin in "$STARLING" "$LOADGEN"; do
  [ -x "$bin" ] || { echo "missing executable: $bin (build it first)"; exit 2; }
done
command -v "$NATS_SERVER" > /dev/null || { echo "needs nats-server (--nats-server PATH)"; exit 2; }
[ $(( (CONNS + PROCS - 1) / PROCS )) -le 19000 ] || { echo "more than 19,000 connections per loadgen worker: raise --procs"; exit 2; }
[ $(( (CONNS + NODES - 1) / NODES )) -le 19000 ] || { echo "more than 19,000 connections per node: raise --nodes"; exit 2; }
[ "$PRIVATE" -lt "$CONNS" ] || { echo "--private must be below --conns"; exit 2; }

[ -n "$OUT" ] || OUT=$repo/reports/scale-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/starling-scale.XXXXXX)
PIDS=()       # nats-server first, then nodes
LG_PID=
cleanup() {
  local i
  stop_pid "$LG_PID" 100
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do stop_pid "${PIDS[$i]}" 100; done
  wait 2>/dev/null
  cp "$WORK"/*.log "$OUT/" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

varz() { curl -s -m 3 "http://127.0.0.1:$MON_PORT/varz"; }
varz_field() { echo "$1" | grep -o "\"$2\": *[0-9]*" | grep -o '[0-9]*$'; }
nodes_rss_kib() { local p t=0; for p in "${NODE_PIDS[@]}"; do t=$((t + $(rss_kib "$p"))); done; echo $t; }
nodes_rss_each() { local p o=; for p in "${NODE_PIDS[@]}"; do o="$o$(( $(rss_kib "$p") / 1024 )) "; done; echo "${o% }"; }

LOAD_START=$(uptime)
log "start: $LOAD_START"
MON_PORT=$(free_port)
start_nats_server "$NATS_SERVER" "$WORK/nats.log" -m "$MON_PORT" || exit 1
PIDS+=("$NS_PID")
NODE_PIDS=(); PORTS=(); ADMINS=()
for k in $(seq 1 "$NODES"); do
  cat > "$WORK/n$k.json" <<JSON
{"server":{"host":"127.0.0.1","port":0},"admin":{"port":0},
 "apps":[{"id":"app-id","key":"app-key","secret":"app-secret"}],
 "cluster":{"bridge":"nats","node_id":"n$k"},
 "nats":{"servers":["nats://127.0.0.1:$NS_PORT"]}}
JSON
  start_starling "node n$k" "$WORK/n$k.json" "$WORK/n$k.log" "$STARLING"; rc=$?
  PIDS+=("$SN_PID")
  [ $rc = 0 ] || exit 1
  NODE_PIDS+=("$SN_PID"); PORTS+=("$SN_PORT"); ADMINS+=("$SN_ADMIN")
done
wait_members 60 "$NODES" "${ADMINS[@]}" || { echo "the nodes did not all see $NODES members within 60 s"; exit 1; }
log "cluster of $NODES formed"
sleep 2
RSS0=$(nodes_rss_kib); RSS0_EACH=$(nodes_rss_each); NATS_RSS0=$(rss_kib "$NS_PID")
SLAB0=$(slab_kib)
V0=$(varz)

CHANNELS=$((PRIVATE + SHARED))
ports_csv=$(IFS=,; echo "${PORTS[*]}")
pids_csv=$(IFS=,; echo "${NODE_PIDS[*]}")
max_s=$((600 + ROUNDS * ROUND_GAP_S))
log "opening $CONNS connections ($PROCS loadgen workers over $NODES nodes): $PRIVATE channels with one connection, $((CONNS - PRIVATE)) connections on $SHARED shared channels"
T_CONNECT=$(now_ms)
timeout -k 5 $((max_s + 30)) "$LOADGEN" rounds --ports "$ports_csv" --publish-port "${PORTS[0]}" \
  --conns "$CONNS" --procs "$PROCS" --src-base 20 --channel scale --channels "$CHANNELS" \
  --shared-channels "$SHARED" --events "$ROUNDS" --rate "$(calc "1 / $ROUND_GAP_S" 4)" \
  --round-burst 1 --concurrency "$CONCURRENCY" --payload 100 --connect-timeout-s 400 \
  --pre-publish-s "$HOLD_S" --ready-file "$WORK/ready" --server-pid "$pids_csv" \
  --aux-pid "$NS_PID" --max-s "$max_s" > "$OUT/loadgen.out" 2>&1 &
LG_PID=$!
READY=$(wait_ready_file "$WORK/ready" "$LG_PID" 4500)
T_READY=$(now_ms)
log "ready: $READY of $CONNS after $(calc "($T_READY - $T_CONNECT) / 1000" 1) s; holding ${HOLD_S} s"
# Idle memory near the end of the hold, before the first publish.
if [ "${HOLD_S%.*}" -gt 4 ]; then sleep "$(calc "$HOLD_S - 3" 1)"; else sleep "$(calc "$HOLD_S / 2" 1)"; fi
RSS1=$(nodes_rss_kib); RSS1_EACH=$(nodes_rss_each); NATS_RSS1=$(rss_kib "$NS_PID")
SLAB1=$(slab_kib); LOAD_IDLE=$(uptime)
V1=$(varz)
wait "$LG_PID"; LG_RC=$?; LG_PID=
V2=$(varz)
T_END=$(now_ms)
LOAD_END=$(uptime)
# Background NATS traffic (heartbeats, membership) with the cluster idle, to
# take out of the publish figures.
sleep 10
V3=$(varz)
for k in "${!NODE_PIDS[@]}"; do
  kill -0 "${NODE_PIDS[$k]}" 2>/dev/null || echo "node n$((k + 1)) exited during the run"
done

# --- figures -------------------------------------------------------------------
f() { kv "$OUT/loadgen.out" "$1"; }
in01=$(( $(varz_field "$V1" in_msgs) - $(varz_field "$V0" in_msgs) ))
in12=$(( $(varz_field "$V2" in_msgs) - $(varz_field "$V1" in_msgs) ))
out12=$(( $(varz_field "$V2" out_msgs) - $(varz_field "$V1" out_msgs) ))
in23=$(( $(varz_field "$V3" in_msgs) - $(varz_field "$V2" in_msgs) ))
out23=$(( $(varz_field "$V3" out_msgs) - $(varz_field "$V2" out_msgs) ))
pub_s=$(calc "($T_END - $T_READY) / 1000 - $HOLD_S" 1)
bg_in=$(calc "$in23 / 10 * $pub_s"); bg_out=$(calc "$out23 / 10 * $pub_s")
requests=$(f requests_sent); requests=${requests:-0}
rounds_sent=$(f rounds_sent); chan_events=$(( ${rounds_sent:-0} * CHANNELS ))
# Per round: first request (CLOCK_REALTIME ms) to the last delivery of that
# round anywhere in the cluster.
f round_table | tr ',' '\n' | awk -F: 'NF >= 4 { printf "%s %s %s %.0f\n", $1, $2, $3, $4 - $1 }' > "$OUT/rounds.txt"
reach=$(awk '{ printf "%s%.2f s (%d got it)", (NR > 1 ? ", " : ""), $4 / 1000, $2 }' "$OUT/rounds.txt")

{
  echo "# Starling scale run: $NODES nodes, $CONNS connections, one nats-server"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null); $(nproc) CPU, kernel $(uname -r)"
  echo "- command: \`$0 $ARGV\`"
  echo "- nats-server $("$NATS_SERVER" --version 2>/dev/null | awk '{print $2}'); nodes: \`$STARLING\`, default config + NATS bridge (io_threads = cores)"
  echo "- load: start \`$LOAD_START\`; idle \`$LOAD_IDLE\`; end \`$LOAD_END\`"
  echo "- channels: $PRIVATE with one connection each + $SHARED shared ($(( (CONNS - PRIVATE) / SHARED )) connections each); $PROCS loadgen workers, worker k on source 127.0.0.$((20))+k connects to node n(k % $NODES + 1)"
  echo "- rounds: $ROUNDS, $ROUND_GAP_S s apart; a round = one event to each of the $CHANNELS channels, 100 channels per signed POST to node n1, $CONCURRENCY in flight"
  echo
  echo "| figure | value | notes |"
  echo "| --- | --- | --- |"
  echo "| connections subscribed | $READY of $CONNS | connect phase $(calc "($T_READY - $T_CONNECT) / 1000" 1) s; failed $(f connect_failed), first error $(f connect_first_error) |"
  echo "| userspace per connection, cluster-wide | $( [ "$READY" -gt 0 ] && calc "($RSS1 - $RSS0) * 1024 / $READY" || echo n/a) B | RSS of the $NODES nodes $((RSS0 / 1024)) -> $((RSS1 / 1024)) MiB (each: $RSS0_EACH -> $RSS1_EACH MiB) |"
  echo "| nats-server RSS | $((NATS_RSS0 / 1024)) -> $((NATS_RSS1 / 1024)) MiB | NATS messages while connecting: $in01 in |"
  echo "| kernel slab per connection (both ends) | $( [ "$READY" -gt 0 ] && calc "($SLAB1 - $SLAB0) * 1024 / $READY" || echo n/a) B | machine-wide, informative |"
  echo "| **time until the last connection has a round's event** | $reach | from the round's first request to its last delivery anywhere in the cluster |"
  echo "| slowest single delivery / p50 / p99 | $(f latency_max_us) / $(f latency_p50_us) / $(f latency_p99_us) us | from each request's own send time |"
  echo "| deliveries | $(f deliveries) of $(f expected_deliveries) | missed $(f missed_deliveries) in $(f missed_requests) requests; publish errors $(f publish_errors) |"
  echo "| publishes (requests) / channel events | $requests / $chan_events | |"
  echo "| NATS messages in / out during publishing | $in12 / $out12 | idle background over the same time ~$bg_in / ~$bg_out (heartbeats; measured for 10 s after) |"
  echo "| **NATS messages per publish (request of 100 channels)** | in $(calc "($in12 - $bg_in) / ($requests > 0 ? $requests : 1)" 1), out $(calc "($out12 - $bg_out) / ($requests > 0 ? $requests : 1)" 1) | background taken out |"
  echo "| NATS messages per channel event | in $(calc "($in12 - $bg_in) / ($chan_events > 0 ? $chan_events : 1)" 2), out $(calc "($out12 - $bg_out) / ($chan_events > 0 ? $chan_events : 1)" 2) | |"
  echo "| CPU during publishing: nodes / nats / loadgen / foreign | $(f server_cpu_s) / $(f aux_cpu_s) / $(f loadgen_cpu_s) / $(f foreign_cpu_s) s | nodes each: $(f server_cpu_s_each); wall $(f wall_s) s |"
  echo "| node CPU per delivery | $(calc "$(f server_cpu_s || echo 0) * 1000000 / ($(f deliveries || echo 0) > 0 ? $(f deliveries) : 1)" 1) us | includes the publishing node's HTTP + NATS work |"
  echo "| loadgen exit | $LG_RC | 0 = every connection got every round |"
  echo
  echo "Per round (rounds.txt): first request CLOCK_REALTIME ms, connections that got it, slowest delivery us, reach ms:"
  echo
  echo '```'
  cat "$OUT/rounds.txt"
  echo '```'
} > "$OUT/report.md"
cat "$OUT/report.md"
log "report: $OUT/report.md"
