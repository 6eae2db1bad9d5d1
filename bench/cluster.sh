#!/usr/bin/env bash
# Cluster-limit benchmark: nodeward with its local per-source limit against
# nodeward with the same limit shared on Redis ([cluster] redis), interleaved
# (local, cluster, local, cluster, ...) REPS times with wrk, then one run
# where a shared limit refuses, to measure over-admission across three
# gateways (and the same three with local-only limits, for contrast).
#
#   bash bench/cluster.sh                    # REPS=3, 10 s per run
#   REPS=5 DURATION=5 bash bench/cluster.sh
#
# Everything runs on 127.0.0.1 (its own nginx backend and redis-server, no
# persistence). Prints req/s, p99 and gateway CPU per request per run, the
# paired cluster/local ratios, and the over-admission; record them in
# docs/benchmarks.md. Needs: redis-server nginx wrk curl python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared/bench}
[ -d "$SHARED" ] || SHARED=/work/shared/bench
REPS=${REPS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-2}
CONNS=${CONNS:-50}
for t in redis-server nginx wrk curl python3; do
  command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y redis-server nginx wrk curl python3)" >&2; exit 2; }
done
cargo build --release --locked -p nodeward
BIN=$ROOT/target/release/nodeward
RUN=$ROOT/bench/run/cluster-$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$RUN/tmp"
ln -sfn "$(basename "$RUN")" "$ROOT/bench/run/cluster-latest"
CLK_TCK=$(getconf CLK_TCK)

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "nothing on :$1" >&2; exit 3; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# ---- backend (the anchors' nginx fake node) and Redis ----------------------
P_BACKEND=$(free_port)
json=$(<"$SHARED/conf/backend-getnodeinfo.json")
tmpl=$(<"$SHARED/conf/backend-nginx.conf.tmpl")
tmpl=${tmpl//@RUN@/$RUN}; tmpl=${tmpl//@BACKEND_PORT@/$P_BACKEND}; tmpl=${tmpl//@BACKEND_JSON@/$json}
printf '%s\n' "$tmpl" >"$RUN/backend.conf"
nginx -c "$RUN/backend.conf" >"$RUN/backend.out" 2>&1 &
PIDS+=($!)
P_REDIS=$(free_port)
redis-server --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN/tmp" >"$RUN/redis.out" 2>&1 &
PIDS+=($!)
wait_port "$P_BACKEND"
for _ in $(seq 100); do redis-cli -p "$P_REDIS" ping >/dev/null 2>&1 && break; sleep 0.1; done

# ---- gateways ---------------------------------------------------------------
gateway() { # gateway NAME RATE CLUSTER(0/1) INSTANCES -> prints "pid port"
  local name=$1 rate=$2 cluster=$3 n=$4 port admin
  port=$(free_port); admin=$(free_port)
  {
    printf '[gateway]\nstate_dir = "%s/%s-state"\naccess_log = "off"\n\n' "$RUN" "$name"
    printf '[[listener]]\nbind = "127.0.0.1:%s"\n\n[admin]\nbind = "127.0.0.1:%s"\ntoken_file = "%s/%s.token"\n\n' "$port" "$admin" "$RUN" "$name"
    printf '[[upstream]]\nname = "iri"\nbackends = ["http://127.0.0.1:%s"]\n\n' "$P_BACKEND"
    printf '[[route]]\nprotocol = "iri"\nupstream = "iri"\nmax_body = "64KiB"\n'
    printf 'deny = ["addNeighbors", "removeNeighbors", "getNeighbors", "attachToTangle", "interruptAttachingToTangle"]\n'
    printf 'per_ip_rate = "%s"\n' "$rate"
    if [ "$cluster" = 1 ]; then
      printf '\n[cluster]\nredis = "redis://127.0.0.1:%s"\nprefix = "/bench-%s"\ninstances = %s\n' "$P_REDIS" "$$" "$n"
    fi
  } >"$RUN/$name.toml"
  "$BIN" gateway --config "$RUN/$name.toml" --threads 1 >"$RUN/$name.out" 2>&1 &
  PIDS+=($!)
  echo "$! $port"
}

wrk_run() { # wrk_run PORT DURATION -> ANCHOR line
  wrk -t"$THREADS" -c"$CONNS" -d"$2s" --latency -s "$SHARED/lua/getnodeinfo.lua" "http://127.0.0.1:$1/" | grep '^ANCHOR' || true
}

echo "== machine: $(nproc) x $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== load: wrk -t$THREADS -c$CONNS -d${DURATION}s, reps=$REPS interleaved, warm-up ${WARMUP}s"
# A limit high enough never to refuse: the cost of sharing it, not of refusing.
read -r pid_l port_l < <(gateway local "100000000/s" 0 1)
read -r pid_c port_c < <(gateway cluster "100000000/s" 1 1)
wait_port "$port_l"; wait_port "$port_c"
RESULTS=$RUN/results.tsv
: >"$RESULTS"
for rep in $(seq "$REPS"); do
  for v in "local:$pid_l:$port_l" "cluster:$pid_c:$port_c"; do
    IFS=: read -r name pid port <<<"$v"
    wrk_run "$port" "$WARMUP" >/dev/null
    t0=$(ticks "$pid")
    line=$(wrk_run "$port" "$DURATION")
    t1=$(ticks "$pid")
    printf '%s\t%s\t%s cpu_ticks=%s clk_tck=%s\n' "$name" "$rep" "$line" "$((t1 - t0))" "$CLK_TCK" >>"$RESULTS"
    echo "  rep $rep $name: $(echo "$line" | awk '{print $4, $7}') cpu_ticks=$((t1 - t0))"
  done
done
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, rep, rest = line.rstrip("\n").split("\t")
    f = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
    reqs = int(f["reqs"])
    rows.setdefault(name, {})[rep] = {
        "rps": float(f["rps"]), "p99": int(f["p99_us"]) / 1000,
        "cpu": 1e6 * int(f["cpu_ticks"]) / int(f["clk_tck"]) / max(reqs, 1),
        "non2xx": int(f["non2xx"]),
    }
med = statistics.median
print("\n| gateway | median req/s | median p99 ms | CPU µs/req | non-2xx |")
print("|---|---:|---:|---:|---:|")
for name in ("local", "cluster"):
    r = rows.get(name, {}).values()
    print(f"| {name} | {med(x['rps'] for x in r):.0f} | {med(x['p99'] for x in r):.2f} | "
          f"{med(x['cpu'] for x in r):.1f} | {sum(x['non2xx'] for x in r)} |")
reps = sorted(set(rows.get("local", {})) & set(rows.get("cluster", {})))
for key, label in (("rps", "req/s"), ("p99", "p99"), ("cpu", "CPU/req")):
    ratios = [rows["cluster"][k][key] / rows["local"][k][key] for k in reps if rows["local"][k][key]]
    if ratios:
        print(f"paired cluster/local {label}: median {med(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f})")
PY

# ---- over-admission: three gateways, one shared limit that refuses ----------
# 1000 per 10 s per source (burst 1000, 100/s), default batch 1000/20 = 50,
# bound 3 × 50 = 150. Three wrk hammer the three gateways at once for OVER_S.
OVER_S=${OVER_S:-5}
overadmit() { # overadmit LABEL CLUSTER(0/1)
  local label=$1 cluster=$2 i pids=() ports=() total=0 wpids=()
  for i in 1 2 3; do
    read -r p port < <(gateway "$label-$i" "1000/10s" "$cluster" 3)
    pids+=("$p"); ports+=("$port")
  done
  for port in "${ports[@]}"; do wait_port "$port"; done
  # wait_port's probe took one token per gateway from the limit; counted below.
  local start end
  start=$(date +%s.%N)
  for i in 0 1 2; do
    wrk -t1 -c16 -d"${OVER_S}s" -s "$SHARED/lua/getnodeinfo.lua" "http://127.0.0.1:${ports[$i]}/" >"$RUN/$label-wrk-$i.out" 2>&1 &
    wpids+=($!)
  done
  wait "${wpids[@]}"
  end=$(date +%s.%N)
  local admitted
  admitted=$(cat "$RUN"/"$label"-wrk-*.out | awk '/^ANCHOR/{for(i=2;i<=NF;i++){split($i,kv,"="); f[kv[1]]=kv[2]}; a += f["reqs"] - f["non2xx"]} END {print a + 0}')
  python3 - "$label" "$admitted" "$start" "$end" <<'PY'
import sys
label, admitted, start, end = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
elapsed = end - start
allowed = 1000 + 100 * elapsed  # burst + refill over the run
probes = 3                      # one readiness probe per gateway
print(f"| {label} | {elapsed:.1f} | {admitted + probes} | {allowed:.0f} | {admitted + probes - allowed:+.0f} |")
PY
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
echo
echo "== over-admission: limit 1000/10s per source, three gateways, three wrk at once (${OVER_S}s)"
echo "| limits | seconds | admitted | allowed (1000 + 100/s) | over |"
echo "|---|---:|---:|---:|---:|"
overadmit shared 1
overadmit local-only 0
echo "(bound for shared: 3 instances x batch 50 = 150; results in $RUN)"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
