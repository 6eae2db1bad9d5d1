#!/usr/bin/env bash
# Read-cache benchmark: nodeward with its cache vs nginx (proxy_cache on POST,
# keyed on the request body, 1 s, proxy_cache_lock) vs HAProxy (its cache does
# not store POST: every call goes to the node), all three in front of the SAME
# backend: nodeward-testnode answering JSON-RPC with a node's limits, NODE_WORKERS
# calls at a time, SERVICE_MS each (4 x 2 ms: about 2,000 calls/s; further
# calls queue). Everything runs on 127.0.0.1 only.
#
#   bash bench/cache.sh                       # REPS=3, 10 s runs
#   REPS=5 DURATION=10 bash bench/cache.sh
#   python3 bench/ratios.py --ours gw --anchor nginx bench/run/cache-latest/results.tsv
#
# 1. mix (scenarios mix-fixed-id and mix-counter-id): wrk with bench/cache/mix.lua,
#    80 % cacheable calls (4 bodies), 20 % uncacheable (a new address each
#    time); "fixed-id" sends id 1 always (the best case for a cache keyed on the
#    raw body), "counter-id" counts ids up as web3 clients do. Interleaved per
#    repetition: gw, nginx, haproxy. req/s, p50/p99, proxy CPU per request and
#    the node's calls (from its /_stats) per run.
# 2. coalescing: 100 identical concurrent eth_call requests (each 500 ms at the
#    node), a fresh body per proxy and repetition: how many reach the node.
#
# Env: REPS=3 DURATION=10 CONNS=64 WRK_THREADS=1 WARMUP=1 SERVICE_MS=2 NODE_WORKERS=4
#      EXPENSIVE_MS=500 BASE_PORT=19380 NODEWARD_BIN= TESTNODE_BIN= RUNS_DIR=bench/run
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true
cd "$(dirname "$0")/.."
ROOT=$PWD
HERE=$ROOT/bench/cache
REPS=${REPS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-1}
WARMUP=${WARMUP:-1}
SERVICE_MS=${SERVICE_MS:-2}
NODE_WORKERS=${NODE_WORKERS:-4}
EXPENSIVE_MS=${EXPENSIVE_MS:-500}
BASE_PORT=${BASE_PORT:-19380}
RUNS_DIR=${RUNS_DIR:-$ROOT/bench/run}

need=()
for p in haproxy nginx wrk curl python3; do command -v "$p" >/dev/null || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if [ -z "${NODEWARD_BIN:-}" ] || [ -z "${TESTNODE_BIN:-}" ]; then
  cargo build --release --locked -p nodeward -p nodeward-testnode
  NODEWARD_BIN=${NODEWARD_BIN:-$ROOT/target/release/nodeward}
  TESTNODE_BIN=${TESTNODE_BIN:-$ROOT/target/release/nodeward-testnode}
fi

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
find_port_block "$BASE_PORT" 5
declare -A PORT=([node]=$BASE [gw]=$((BASE + 1)) [nginx]=$((BASE + 2)) [haproxy]=$((BASE + 3)))
ADMIN_PORT=$((BASE + 4))

RUN_ID=cache-$(date +%Y%m%d-%H%M%S)-$$
RUN=$RUNS_DIR/$RUN_ID
mkdir -p "$RUN/raw" "$RUN/tmp" "$RUN/gw-state"
ln -sfn "$RUN_ID" "$RUNS_DIR/cache-latest"
RESULTS=$RUN/results.tsv
: >"$RESULTS"

render "$(<"$HERE/nginx.conf.tmpl")" RUN="$RUN" PORT="${PORT[nginx]}" BACKEND_PORT="${PORT[node]}" >"$RUN/nginx.conf"
render "$(<"$HERE/haproxy.cfg.tmpl")" PORT="${PORT[haproxy]}" BACKEND_PORT="${PORT[node]}" >"$RUN/haproxy.cfg"
render "$(<"$HERE/nodeward.toml.tmpl")" PORT="${PORT[gw]}" ADMIN_PORT="$ADMIN_PORT" BACKEND_PORT="${PORT[node]}" >"$RUN/gw.toml"
haproxy -c -q -f "$RUN/haproxy.cfg"
"$NODEWARD_BIN" config check --config "$RUN/gw.toml" >/dev/null

declare -A CMD=(
  [node]="$TESTNODE_BIN --listen 127.0.0.1:${PORT[node]} --name node"
  [gw]="$NODEWARD_BIN gateway --config $RUN/gw.toml --threads 1 --state-dir $RUN/gw-state"
  [nginx]="nginx -p $RUN -c $RUN/nginx.conf -e $RUN/nginx.err"
  [haproxy]="haproxy -f $RUN/haproxy.cfg"
)
{
  echo "run: $RUN_ID  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) x $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "versions: $(haproxy -v | head -1) | $(nginx -v 2>&1) | $(wrk -v 2>&1 | head -1) | $("$NODEWARD_BIN" --version) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null))"
  echo "node: $NODE_WORKERS calls at a time, ${SERVICE_MS} ms per call, eth_call ${EXPENSIVE_MS} ms"
  echo "mix: wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s --latency -s $HERE/mix.lua URL -- fixed|counter"
  for n in node gw nginx haproxy; do echo "$n: ${CMD[$n]}"; done
} | tee "$RUN/meta.txt"

for n in node gw nginx haproxy; do
  # shellcheck disable=SC2086
  start_bg "$n" ${CMD[$n]}
  wait_listen "$n"
done
NODE=http://127.0.0.1:${PORT[node]}
curl -sf -m 5 -X POST -d "{\"workers\":$NODE_WORKERS,\"delay_ms\":{\"*\":$SERVICE_MS,\"eth_call\":$EXPENSIVE_MS}}" "$NODE/_control" >/dev/null
node_calls() {  # node_calls [METHOD] -> requests the node has seen (all, or of METHOD)
  curl -sf -m 5 "$NODE/_stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); m=sys.argv[1:]; print(s["by_command"].get(m[0],0) if m else s["total"])' "$@"
}

# Each proxy answers the mix's calls correctly, with the caller's id.
for p in gw nginx haproxy; do
  for id in 7 8; do
    a=$(curl -sf -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":$id,\"method\":\"eth_chainId\",\"params\":[]}" "http://127.0.0.1:${PORT[$p]}/")
    python3 -c 'import json,sys; a=json.loads(sys.argv[1]); assert a["result"]=="0x1", a; print(sys.argv[3], "id", sys.argv[2], "->", a["id"])' "$a" "$id" "$p"
  done
done

run_mix() {  # run_mix PROXY REP IDS
  local p=$1 rep=$2 ids=$3 out p0 p1 b0 b1 c0 c1 f url
  url=http://127.0.0.1:${PORT[$p]}/
  out=$RUN/raw/mix-$ids-$p-r$rep.txt
  [ "$WARMUP" -gt 0 ] && wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" -s "$HERE/mix.lua" "$url" -- "$ids" >/dev/null 2>&1 || true
  p0=$(ticks_tree "${PID_OF[$p]}"); b0=$(ticks_tree "${PID_OF[node]}"); c0=$(node_calls)
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/mix.lua" "$url" -- "$ids" >"$out" 2>&1 || true
  p1=$(ticks_tree "${PID_OF[$p]}"); b1=$(ticks_tree "${PID_OF[node]}"); c1=$(node_calls)
  f="$(anchor_line "$out") proxy_cpu_ticks=$((p1 - p0)) backend_cpu_ticks=$((b1 - b0)) clk_tck=$CLK_TCK node_calls=$((c1 - c0))"
  printf 'mix-%s-id\t%s\t%s\t%s\n' "$ids" "$p" "$rep" "$f" >>"$RESULTS"
  echo "  mix-$ids-id $p rep $rep: $f"
}
run_coalesce() {  # run_coalesce PROXY REP
  local p=$1 rep=$2 before after body line
  body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_call\",\"params\":[{\"to\":\"0x$(printf '%040x' $((rep * 10 + ${#p})))\",\"data\":\"0x$p$rep\"},\"0x10\"]}"
  before=$(node_calls eth_call)
  line=$(python3 "$HERE/coalesce.py" "${PORT[$p]}" "$body" 100)
  after=$(node_calls eth_call)
  printf 'coalesce\t%s\t%s\t%s reached_node=%d\n' "$p" "$rep" "$line" $((after - before)) >>"$RESULTS"
  echo "  coalesce $p rep $rep: $line, reached the node: $((after - before))"
}

for ids in fixed counter; do
  echo "== mix, ids $ids: $REPS x interleaved (gw nginx haproxy), ${DURATION}s each"
  for rep in $(seq 1 "$REPS"); do
    for p in gw nginx haproxy; do run_mix "$p" "$rep" "$ids"; done
  done
done
echo "== coalescing: 100 identical concurrent eth_call (${EXPENSIVE_MS} ms at the node)"
for rep in $(seq 1 "$REPS"); do
  for p in gw nginx haproxy; do run_coalesce "$p" "$rep"; done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RUN/meta.txt"

echo
python3 "$HERE/summarise.py" "$RUN/results.tsv" | tee "$RUN/table.md"
for a in nginx haproxy; do
  echo
  python3 bench/ratios.py --ours gw --anchor "$a" "$RESULTS" | tee -a "$RUN/table.md"
done
echo "raw wrk output: $RUN/raw/   results: $RESULTS"
