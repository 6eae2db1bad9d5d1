#!/usr/bin/env bash
# Node-pool benchmark: nodeward and HAProxy each balancing the SAME three fake
# IRI nodes with the same policy (../shared/bench/conf: body cap, forbidden
# commands, per-IP rate, timeouts), round robin, and active getNodeInfo health
# checks at the same interval (every 2 s, 1 s deadline, fall 3, rise 2).
# Everything runs on 127.0.0.1 only; see bench/pool/README.md.
#
#   bash bench/pool.sh                         # REPS=5, 10 s runs, 20 s failover runs (~10 min)
#   REPS=2 DURATION=5 bash bench/pool.sh       # quick look
#   python3 bench/pool/summarise.py bench/run/pool-<id>   # re-print the tables of a run
#
# 1. throughput: wrk (../shared/bench/lua/getnodeinfo.lua) against gw-1t,
#    haproxy-1t, gw-2t, haproxy-2t, in that order, REPS times (interleaved):
#    req/s, p50/p99, proxy CPU per request (utime+stime from /proc/PID/stat
#    around the run), proxy÷backends CPU, and per-repetition ratios
#    nodeward÷HAProxy.
# 2. failover: FAIL_DURATION s of the same load against gw-1t then haproxy-1t,
#    FAIL_REPS times; KILL_AT s in, one backend nginx gets SIGKILL (the victim
#    rotates node1, node2, node3 over the repetitions; both proxies lose the same
#    one in a repetition); it is restarted after the run and both proxies must
#    see all three nodes up again before the next run. Counts the answers that
#    were not 200 (wrk Lua response hook) and wrk's socket errors.
#
# Env: REPS=5 DURATION=10 FAIL_REPS=$REPS FAIL_DURATION=20 KILL_AT=7 CONNS=64
#      WRK_THREADS=1 WARMUP=1 BASE_PORT=19080 SCENARIOS="throughput failover"
#      NODEWARD_BIN= (skip the cargo build, use this binary) RUNS_DIR=bench/run
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true   # bash 5.2: '&' literal in ${x//a/b}
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared/bench}
POOL=$ROOT/bench/pool
REPS=${REPS:-5}
DURATION=${DURATION:-10}
FAIL_REPS=${FAIL_REPS:-$REPS}
FAIL_DURATION=${FAIL_DURATION:-20}
KILL_AT=${KILL_AT:-7}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-1}
WARMUP=${WARMUP:-1}
BASE_PORT=${BASE_PORT:-19080}
SCENARIOS=${SCENARIOS:-"throughput failover"}
RUNS_DIR=${RUNS_DIR:-$ROOT/bench/run}

# ---- tools and the binary ------------------------------------------------------
need=()
for p in haproxy nginx wrk curl python3; do command -v "$p" >/dev/null || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if [ -z "${NODEWARD_BIN:-}" ]; then
  cargo build --release --locked -p nodeward
  NODEWARD_BIN=$ROOT/target/release/nodeward
fi

# ---- the policy: the same values as ../shared/bench/run-anchors.sh -------------
FORBIDDEN_REGEX=$(sed -n "s/^FORBIDDEN_REGEX='\(.*\)'\$/\1/p" "$SHARED/run-anchors.sh")
RATE_PER_10S=$(sed -n 's/^RATE_PER_10S=\([0-9]*\).*/\1/p' "$SHARED/run-anchors.sh")
[ -n "$FORBIDDEN_REGEX" ] && [ -n "$RATE_PER_10S" ] || { echo "cannot read the policy from $SHARED/run-anchors.sh" >&2; exit 2; }
RATE_PER_S=$((RATE_PER_10S / 10))   # nodeward's per_ip_rate, as run-anchors.sh renders it
BACKEND_JSON=$(<"$SHARED/conf/backend-getnodeinfo.json")
LUA_LOAD=$SHARED/lua/getnodeinfo.lua
LUA_COUNT=$POOL/getnodeinfo-count.lua

# ---- ports: a free block of 9 loopback ports -----------------------------------
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
find_port_block "$BASE_PORT" 9
P1=$BASE; P2=$((BASE + 1)); P3=$((BASE + 2))
declare -A PORT=([node1]=$P1 [node2]=$P2 [node3]=$P3
  [haproxy-1t]=$((BASE + 3)) [haproxy-2t]=$((BASE + 4)) [gw-1t]=$((BASE + 5)) [gw-2t]=$((BASE + 6)))
declare -A ADMIN=([gw-1t]=$((BASE + 7)) [gw-2t]=$((BASE + 8)))

RUN_ID=pool-$(date +%Y%m%d-%H%M%S)-$$
RUN=$RUNS_DIR/$RUN_ID
mkdir -p "$RUN/raw" "$RUN/tmp"
ln -sfn "$RUN_ID" "$RUNS_DIR/pool-latest"
RESULTS=$RUN/results.tsv
: >"$RESULTS"

# ---- processes: only the PIDs started here -------------------------------------
# ---- configs -----------------------------------------------------------------------
for n in node1 node2 node3; do
  render "$(<"$POOL/backend-nginx.conf.tmpl")" RUN="$RUN" NAME="$n" PORT="${PORT[$n]}" \
    BACKEND_JSON="$BACKEND_JSON" >"$RUN/$n.conf"
done
# HAProxy: the shared anchor config (global, defaults, the policy frontend) with
# its one-server backend replaced by the pool backend, plus a read-only stats
# socket (for the health view only).
grep -q '^backend be_iri_node' "$SHARED/conf/haproxy.cfg.tmpl" || { echo "unexpected $SHARED/conf/haproxy.cfg.tmpl" >&2; exit 2; }
HA_TMPL="$(sed -e '/^backend be_iri_node/,$d' -e '/^global/a\    stats socket @RUN@/@NAME@.sock mode 600 level user' \
  "$SHARED/conf/haproxy.cfg.tmpl")
$(<"$POOL/haproxy-backend.cfg.tmpl")"
for v in haproxy-1t:1 haproxy-2t:2; do
  n=${v%%:*}
  render "$HA_TMPL" RUN="$RUN" NAME="$n" NBTHREAD="${v#*:}" PORT="${PORT[$n]}" RATE_PER_10S="$RATE_PER_10S" \
    FORBIDDEN_REGEX="$FORBIDDEN_REGEX" P1="$P1" P2="$P2" P3="$P3" >"$RUN/$n.cfg"
  haproxy -c -q -f "$RUN/$n.cfg"
done
# nodeward: the shared anchor config (listener, admin, the policy route) with its
# one-backend [[upstream]] replaced by the pool upstream. The access log stays
# at its default (stdout), which goes to gw-*.out as in run-anchors.sh; the file
# is emptied after each run so it does not grow without bound.
GW_TMPL="$(awk '/^\[\[upstream\]\]/ { skip = 1; next } /^\[/ { skip = 0 } !skip' "$SHARED/conf/nodeward.toml.tmpl")
$(<"$POOL/nodeward-upstream.toml.tmpl")"
for n in gw-1t gw-2t; do
  render "$GW_TMPL" PORT="${PORT[$n]}" ADMIN_PORT="${ADMIN[$n]}" RATE_PER_S="$RATE_PER_S" \
    P1="$P1" P2="$P2" P3="$P3" >"$RUN/$n.toml"
  mkdir -p "$RUN/$n-state"
  "$NODEWARD_BIN" config check --config "$RUN/$n.toml" >/dev/null
done

declare -A CMD=(
  [node1]="nginx -p $RUN -c $RUN/node1.conf -e $RUN/node1.err"
  [node2]="nginx -p $RUN -c $RUN/node2.conf -e $RUN/node2.err"
  [node3]="nginx -p $RUN -c $RUN/node3.conf -e $RUN/node3.err"
  [haproxy-1t]="haproxy -f $RUN/haproxy-1t.cfg"
  [haproxy-2t]="haproxy -f $RUN/haproxy-2t.cfg"
  [gw-1t]="$NODEWARD_BIN gateway --config $RUN/gw-1t.toml --threads 1 --state-dir $RUN/gw-1t-state"
  [gw-2t]="$NODEWARD_BIN gateway --config $RUN/gw-2t.toml --threads 2 --state-dir $RUN/gw-2t-state"
)
{
  echo "run: $RUN_ID  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) x $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
  echo "versions: $(haproxy -v | head -1) | $(nginx -v 2>&1) | $(wrk -v 2>&1 | head -1) | $("$NODEWARD_BIN" --version) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty'))"
  echo "ports: node1..3=$P1,$P2,$P3 haproxy-1t=${PORT[haproxy-1t]} haproxy-2t=${PORT[haproxy-2t]} gw-1t=${PORT[gw-1t]} gw-2t=${PORT[gw-2t]} (admin ${ADMIN[gw-1t]}, ${ADMIN[gw-2t]})"
  echo "== commands"
  for n in node1 node2 node3 haproxy-1t haproxy-2t gw-1t gw-2t; do echo "$n: ${CMD[$n]}"; done
  echo "throughput ($REPS reps, order gw-1t haproxy-1t gw-2t haproxy-2t, ${WARMUP}s warm-up before each):"
  echo "  wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s --latency -s $LUA_LOAD http://127.0.0.1:PORT/"
  echo "  CPU: utime+stime of the proxy PID and of the three backend PIDs, /proc/PID/stat before and after"
  echo "failover ($FAIL_REPS reps, order gw-1t haproxy-1t):"
  echo "  wrk -t$WRK_THREADS -c$CONNS -d${FAIL_DURATION}s --latency -s $LUA_COUNT http://127.0.0.1:PORT/"
  echo "  at ${KILL_AT}s: kill -KILL <victim nginx PID>; after the run: restart it, wait until the proxies show 3 nodes up"
  echo "configs: $RUN/{node1,node2,node3}.conf $RUN/haproxy-{1t,2t}.cfg $RUN/gw-{1t,2t}.toml"
} | tee "$RUN/meta.txt"

# ---- start ---------------------------------------------------------------------------
for n in node1 node2 node3 haproxy-1t haproxy-2t gw-1t gw-2t; do
  # shellcheck disable=SC2086  # CMD holds words without spaces inside them
  start_bg "$n" ${CMD[$n]}
  wait_listen "$n"
done

pool_state() {  # pool_state PROXY -> "node1=up node2=up node3=up requests=a,b,c"
  case $1 in
    haproxy-*) python3 "$POOL/state.py" haproxy "$RUN/$1.sock" "$P1" "$P2" "$P3" ;;
    gw-*) "$NODEWARD_BIN" gateway --config "$RUN/$1.toml" --state-dir "$RUN/$1-state" status --json 2>/dev/null |
            python3 "$POOL/state.py" nodeward "$P1" "$P2" "$P3" ;;
  esac
}
wait_all_up() {  # wait_all_up SECONDS PROXY...  -> 0 when every PROXY shows three nodes up
  local deadline=$((SECONDS + $1)) p ok; shift
  while :; do
    ok=1
    for p in "$@"; do [[ "$(pool_state "$p")" == "node1=up node2=up node3=up "* ]] || ok=0; done
    [ "$ok" = 1 ] && return 0
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.5
  done
}
echo "== health: waiting until every proxy shows three nodes up"
wait_all_up 30 haproxy-1t haproxy-2t gw-1t gw-2t || { for p in haproxy-1t haproxy-2t gw-1t gw-2t; do echo "$p: $(pool_state "$p")"; done; exit 4; }

# ---- functional checks: the policy applies, and round robin reaches all three -------
echo "== functional checks"
FAILS=0
code() { curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST -H 'Content-Type: application/json' -H 'X-IOTA-API-Version: 1' -d "$2" "http://127.0.0.1:$1/" || true; }
for p in gw-1t haproxy-1t gw-2t haproxy-2t; do
  body=$(curl -s -m 5 -X POST -H 'Content-Type: application/json' -H 'X-IOTA-API-Version: 1' -d '{"command":"getNodeInfo"}' "http://127.0.0.1:${PORT[$p]}/" || true)
  [ "$body" = "$BACKEND_JSON" ] && r1=ok || { r1=FAIL; FAILS=$((FAILS + 1)); }
  c403=$(code "${PORT[$p]}" '{"command":"addNeighbors"}'); [ "$c403" = 403 ] || FAILS=$((FAILS + 1))
  for i in $(seq 1 30); do code "${PORT[$p]}" '{"command":"getNodeInfo"}' >/dev/null; done
  st=$(pool_state "$p"); reqs=${st##*requests=}
  spread=ok; for x in ${reqs//,/ }; do [[ "$x" =~ ^[0-9]+$ ]] && [ "$x" -gt 0 ] || spread=FAIL; done
  [ "$spread" = ok ] || FAILS=$((FAILS + 1))
  printf '  %-11s getNodeInfo body passed %s | addNeighbors -> %s | 31 requests per node %s (%s)\n' "$p" "$r1" "$c403" "$reqs" "$spread"
done
[ "$FAILS" = 0 ] || { echo "$FAILS functional check(s) failed - not benchmarking" >&2; exit 4; }

# ---- measurement helpers ----------------------------------------------------------------
clear_access_log() { case $1 in gw-*) : >"$RUN/$1.out" ;; esac; }
warm() { [ "$WARMUP" -gt 0 ] && wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" -s "$LUA_LOAD" "http://127.0.0.1:${PORT[$1]}/" >/dev/null 2>&1 || true; }

run_throughput() {  # run_throughput PROXY REP
  local p=$1 rep=$2 out pp bb p0 p1 b0 b1 f
  out=$RUN/raw/throughput-$p-r$rep.txt
  warm "$p"
  pp=${PID_OF[$p]}; bb="${PID_OF[node1]} ${PID_OF[node2]} ${PID_OF[node3]}"
  # shellcheck disable=SC2086
  p0=$(ticks "$pp"); b0=$(ticks $bb)
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$LUA_LOAD" "http://127.0.0.1:${PORT[$p]}/" >"$out" 2>&1 || true
  # shellcheck disable=SC2086
  p1=$(ticks "$pp"); b1=$(ticks $bb)
  clear_access_log "$p"
  f="$(anchor_line "$out") proxy_cpu_ticks=$((p1 - p0)) backend_cpu_ticks=$((b1 - b0)) clk_tck=$CLK_TCK"
  printf 'throughput\t%s\t%s\t%s\n' "$p" "$rep" "$f" >>"$RESULTS"
  echo "  throughput $p rep $rep: $(python3 "$POOL/summarise.py" --line "$f")"
}

run_failover() {  # run_failover PROXY REP VICTIM
  local p=$1 rep=$2 victim=$3 out wrk_pid t0 detect=-1 recover=-1 st f
  out=$RUN/raw/failover-$p-r$rep.txt
  warm "$p"
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"${FAIL_DURATION}s" --latency -s "$LUA_COUNT" "http://127.0.0.1:${PORT[$p]}/" >"$out" 2>&1 &
  wrk_pid=$!
  sleep "$KILL_AT"
  # kill and reap it in one block with stderr silenced (no "Killed" job notice)
  { kill -KILL "${PID_OF[$victim]}"; wait "${PID_OF[$victim]}"; } 2>/dev/null || true
  t0=$(date +%s%N)
  # how long until the proxy itself stops sending to the victim (0.5 s polling)
  while alive "$wrk_pid"; do
    st=$(pool_state "$p")
    if [[ "$st" == *"$victim=down"* ]]; then detect=$((($(date +%s%N) - t0) / 1000000)); break; fi
    sleep 0.5
  done
  wait "$wrk_pid" || true
  clear_access_log "$p"
  start_bg "$victim" ${CMD[$victim]}
  wait_listen "$victim"
  t0=$(date +%s%N)
  if wait_all_up 60 "$p"; then recover=$((($(date +%s%N) - t0) / 1000000)); fi
  f="$(anchor_line "$out") victim=$victim kill_at_s=$KILL_AT detect_ms=$detect recover_ms=$recover"
  printf 'failover\t%s\t%s\t%s\n' "$p" "$rep" "$f" >>"$RESULTS"
  echo "  failover $p rep $rep: $(python3 "$POOL/summarise.py" --line "$f")"
  # every proxy (also the idle ones) must see all three nodes again before the next run
  wait_all_up 60 haproxy-1t haproxy-2t gw-1t gw-2t || echo "  warning: not every proxy shows three nodes up 60 s after the restart" >&2
}

# ---- measurements ------------------------------------------------------------------------
for scen in $SCENARIOS; do
  case $scen in
    throughput)
      echo "== throughput: $REPS x interleaved, ${DURATION}s each"
      for rep in $(seq 1 "$REPS"); do
        for p in gw-1t haproxy-1t gw-2t haproxy-2t; do run_throughput "$p" "$rep"; done
      done ;;
    failover)
      echo "== failover: $FAIL_REPS x (gw-1t, haproxy-1t), ${FAIL_DURATION}s each, SIGKILL of one node at ${KILL_AT}s"
      for rep in $(seq 1 "$FAIL_REPS"); do
        victim=node$(((rep - 1) % 3 + 1))
        for p in gw-1t haproxy-1t; do run_failover "$p" "$rep" "$victim"; done
      done ;;
    *) echo "unknown scenario $scen" >&2; exit 2 ;;
  esac
done

# ---- tables ------------------------------------------------------------------------------
echo
python3 "$POOL/summarise.py" "$RUN" | tee "$RUN/table.md"
echo
echo "raw wrk output: $RUN/raw/   results: $RESULTS   tables: $RUN/table.md"
