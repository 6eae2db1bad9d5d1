#!/usr/bin/env bash
# Gateway benchmark: nodeward side by side with HAProxy and nginx enforcing the
# same IRI policy, in one interleaved run (../shared/bench/run-anchors.sh), then
# peak memory with 1,000 open keep-alive connections (nodeward vs HAProxy).
#
#   bash bench/gateway.sh                 # REPS=5, 10 s per run (~15 minutes)
#   REPS=3 DURATION=5 bash bench/gateway.sh
#   RSS_ONLY=1 bash bench/gateway.sh     # only the memory part, on the latest run's configs
#
# Everything runs on 127.0.0.1 only. Results: the anchor script's table (req/s,
# p50/p99, proxy CPU per request, proxy/backend CPU ratio) and an RSS table;
# record the medians and ratios in docs/benchmarks.md. Paired ratios over
# several runs: python3 bench/ratios.py bench/run/*/results.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ANCHORS=${ANCHORS:-$ROOT/../shared/bench/run-anchors.sh}
export RUNS_DIR=${RUNS_DIR:-$ROOT/bench/run}
export REPS=${REPS:-5}
mkdir -p "$RUNS_DIR"

need=()
for p in haproxy nginx wrk curl python3; do command -v "$p" >/dev/null || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
cargo build --release --locked -p nodeward
export NODEWARD_BIN=$ROOT/target/release/nodeward

if [ -z "${RSS_ONLY:-}" ]; then
  bash "$ANCHORS"
  # Per-repetition ratios (gw-1t and haproxy-1t ran back to back in each).
  echo
  echo "== paired ratios, this run ($(basename "$(readlink -f "$RUNS_DIR/latest")"))"
  python3 bench/ratios.py "$RUNS_DIR/latest/results.tsv" || true
fi

# ---- peak RSS with 1,000 open connections ---------------------------------
RUN=$(readlink -f "$RUNS_DIR/latest")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
nginx -c "$RUN/backend.conf" >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
backend_port=$(grep -oE 'listen 127.0.0.1:[0-9]+' "$RUN/backend.conf" | head -1 | cut -d: -f2)

measure() { # name port cmd...
  local name=$1 port=$2; shift 2
  "$@" >/dev/null 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  local rss_idle
  rss_idle=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  wrk -t1 -c1000 -d8s -s "$(dirname "$ANCHORS")/lua/getnodeinfo.lua" "http://127.0.0.1:$port/" >"$RUN/rss-$name.wrk" 2>&1 &
  local wrk_pid=$!
  sleep 6
  local open
  open=$(ss -Htn state established "( sport = :$port )" | wc -l)
  local rss_load
  rss_load=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
  wait "$wrk_pid" || true
  local hwm
  hwm=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  local rps
  rps=$(awk '/Requests\/sec/{print $2}' "$RUN/rss-$name.wrk")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$open" "$rss_idle" "$rss_load" "$hwm" "$rps"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

gw_port=$(grep -oE 'bind = "127.0.0.1:[0-9]+"' "$RUN/gw-1t.toml" | head -1 | grep -oE '[0-9]+"$' | tr -d '"')
ha_port=$(grep -oE 'bind 127.0.0.1:[0-9]+' "$RUN/haproxy-1t.cfg" | head -1 | cut -d: -f2)
echo
echo "== peak memory with 1,000 open connections (wrk -c1000, backend :$backend_port)"
echo "| proxy | established conns | RSS idle KiB | RSS under load KiB | peak RSS (VmHWM) KiB | req/s |"
echo "|---|---:|---:|---:|---:|---:|"
# The policy caps connections per source (128 by default) and wrk opens all
# 1,000 from one address: lift the cap for this measurement only.
{ printf '[gateway]\nmax_connections_per_ip = 2048\n\n'; cat "$RUN/gw-1t.toml"; } >"$RUN/gw-1t-rss.toml"
measure gw-1t "$gw_port" "$NODEWARD_BIN" gateway --config "$RUN/gw-1t-rss.toml" --threads 1 --state-dir "$RUN/gw-state"
measure haproxy-1t "$ha_port" haproxy -f "$RUN/haproxy-1t.cfg" -db
