#!/usr/bin/env bash
# Heap profile of idle keep-alive connections (issue 17): where each idle
# plain HTTP/1.1 connection's memory goes, allocation site by allocation site.
#
#   flock /tmp/bench.lock bash bench/scale/heap.sh            # N=1000
#
# Builds nodeward with the system allocator (`--features system-alloc`:
# mimalloc is invisible to valgrind), runs the gateway under valgrind's
# massif, opens N keep-alive connections that each make one request (from N
# loopback sources, bench/scale/idle_client.py), and takes a detailed massif
# snapshot before and after through vgdb. The difference of the two
# snapshots, by allocation site, is the heap cost of N idle connections;
# massif counts requested bytes plus malloc's 16-byte block overhead
# (`--heap-admin`), not mimalloc's size-class rounding, which the RSS figures
# of bench/scale.sh include.
#
# Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${N:-1000}
SOURCES=${SOURCES:-$N}
ANCHOR_CONF=${ANCHOR_CONF:-/work/shared/bench/conf}
RUN=$ROOT/bench/run/heap-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN"
CLIENT=$ROOT/bench/scale/idle_client.py

if [ -z "${NODEWARD_BIN:-}" ]; then
  cargo build --release --locked -p nodeward --features system-alloc
  NODEWARD_BIN=$ROOT/target/release/nodeward
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_BACKEND=$(free_port) P_GW=$(free_port) P_ADMIN=$(free_port)
BACKEND_JSON=$(<"$ANCHOR_CONF/backend-getnodeinfo.json")
content=$(<"$ANCHOR_CONF/backend-nginx.conf.tmpl")
content=${content//@RUN@/$RUN}; content=${content//@BACKEND_PORT@/$P_BACKEND}
content=${content//@BACKEND_JSON@/$BACKEND_JSON}
printf '%s\n' "$content" >"$RUN/backend.conf"
mkdir -p "$RUN/tmp"
cat >"$RUN/gw.toml" <<CONF
[gateway]
max_connections = 200000
max_connections_per_ip = 60000
header_timeout = "300s"
idle_timeout = "300s"
access_log = "off"

[gateway.autoban]

[[listener]]
bind = "127.0.0.1:$P_GW"

[admin]
bind = "127.0.0.1:$P_ADMIN"

[[upstream]]
name = "iri"
backends = ["http://127.0.0.1:$P_BACKEND"]

[[route]]
protocol = "iri"
upstream = "iri"
deny = ["addNeighbors", "removeNeighbors", "getNeighbors", "attachToTangle", "interruptAttachingToTangle"]
max_body = "64KiB"
per_ip_rate = "1000000/s"
CONF

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
nginx -p "$RUN" -c "$RUN/backend.conf" -e "$RUN/backend.err" &
PIDS+=($!)
# (The variable stops the gateway re-executing itself with mimalloc settings,
# which would leave valgrind, in binaries built before that was skipped.)
MIMALLOC_ARENA_EAGER_COMMIT=0 valgrind --tool=massif --vgdb=yes --threshold=0.1 \
  --massif-out-file="$RUN/massif.out" \
  "$NODEWARD_BIN" gateway --config "$RUN/gw.toml" --threads 1 --state-dir "$RUN/state" \
  >"$RUN/gw.log" 2>&1 &
GW=$!
PIDS+=($GW)
for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$P_GW/" && break; sleep 0.2; done
# valgrind runs the program as the same pid
python3 "$CLIENT" --port "$P_GW" --rate 1 --parallel 1 >/dev/null
sleep 2
vgdb --pid="$GW" detailed_snapshot "$RUN/before.massif" >/dev/null
mkfifo "$RUN/hold"
python3 "$CLIENT" --port "$P_GW" --conns "$N" --sources "$SOURCES" <"$RUN/hold" >"$RUN/client.out" 2>&1 &
CL=$!
exec {hold}>"$RUN/hold"
for _ in $(seq 1200); do grep -q READY "$RUN/client.out" 2>/dev/null && break; sleep 0.5; done
cat "$RUN/client.out"
sleep 3
vgdb --pid="$GW" detailed_snapshot "$RUN/after.massif" >/dev/null
exec {hold}>&-
wait "$CL" || true
python3 "$ROOT/bench/scale/massif_diff.py" "$RUN/before.massif" "$RUN/after.massif" "$N" | tee "$RUN/diff.txt"
