#!/usr/bin/env bash
# Full 65,535-port TCP connect scan: nodeward vs `nmap -sT -p- -T4`, side by side.
#
# Everything runs inside a network namespace this script creates, so the only
# ports that exist are the listeners it starts there; nothing leaves the
# namespace's loopback. Needs root, iproute2, nmap, socat and GNU time.
#
#   bench/portscan.sh [RUNS]        (default 5 runs of each, interleaved)
#
# NODEWARD_BIN selects the binary (default target/release/nodeward, built if missing).
# Prints one line per run and a summary (medians and the nmap/nodeward ratio)
# in the form recorded in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-5}
PORTS=(22 80 443 8080 14265 15600 40000 65535)
NS="nwbench-$$"

if [ "$(id -u)" != 0 ]; then
  echo "portscan.sh: needs root (ip netns)" >&2
  exit 2
fi
for tool in ip nmap socat /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "portscan.sh: $tool not found" >&2; exit 2; }
done

BIN=${NODEWARD_BIN:-$PWD/target/release/nodeward}
if [ ! -x "$BIN" ]; then
  cargo build --release --locked -p nodeward
fi

PIDS=()
TMP=$(mktemp -d)
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
for p in "${PORTS[@]}"; do
  # A listener that accepts every connection and discards what it reads.
  ip netns exec "$NS" socat -u "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr,fork" OPEN:/dev/null >/dev/null 2>&1 &
  PIDS+=($!)
done
expected=$(IFS=,; echo "${PORTS[*]}")

# Wait for the listeners.
for _ in $(seq 50); do
  n=$(ip netns exec "$NS" nmap -n -Pn -sT -p "$expected" 127.0.0.1 -oG - | grep -o '/open/' | wc -l)
  [ "$n" = "${#PORTS[@]}" ] && break
  sleep 0.1
done

open_nmap() { grep -o '[0-9]*/open/' | cut -d/ -f1 | sort -n | paste -sd, -; }
open_nodeward() { tr -d ' \n' | grep -o '"open":\[[0-9,]*\]' | head -1 | grep -o '[0-9,]*' | sed 's/^,//'; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

: > "$TMP/nmap"
: > "$TMP/nodeward"
# One timed run: tool name, then the command. Prints the row and records "wall cpu rss".
timed() {
  local name=$1; shift
  /usr/bin/time -o "$TMP/t" -f "%e %U %S %M" "$@" > "$TMP/out" 2>/dev/null || true
  read -r wall user sys rss < "$TMP/t"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
  echo "$wall $cpu $rss" >> "$TMP/$name"
}
echo "run tool wall_s cpu_s max_rss_kib open"
for i in $(seq "$RUNS"); do
  timed nmap ip netns exec "$NS" nmap -n -Pn -sT -p- -T4 127.0.0.1 -oG -
  open=$(open_nmap < "$TMP/out")
  echo "$i nmap $(tail -1 "$TMP/nmap") $open"
  [ "$open" = "$expected" ] || { echo "nmap found $open, expected $expected" >&2; exit 1; }
  timed nodeward ip netns exec "$NS" "$BIN" scan 127.0.0.1 --only ports -p- --expect "$expected" --format json
  open=$(open_nodeward < "$TMP/out")
  echo "$i nodeward $(tail -1 "$TMP/nodeward") $open"
  [ "$open" = "$expected" ] || { echo "nodeward found $open, expected $expected" >&2; exit 1; }
done

nw=$(cut -d' ' -f1 "$TMP/nodeward" | median)
nm=$(cut -d' ' -f1 "$TMP/nmap" | median)
nwc=$(cut -d' ' -f2 "$TMP/nodeward" | median)
nmc=$(cut -d' ' -f2 "$TMP/nmap" | median)
nwr=$(cut -d' ' -f3 "$TMP/nodeward" | median)
nmr=$(cut -d' ' -f3 "$TMP/nmap" | median)
echo
echo "| tool | median wall (s) | median CPU (s) | median max RSS (KiB) |"
echo "|---|---|---|---|"
echo "| nmap -sT -p- -T4 | $nm | $nmc | $nmr |"
echo "| nodeward scan --only ports -p- | $nw | $nwc | $nwr |"
awk -v a="$nm" -v b="$nw" -v c="$nmc" -v d="$nwc" 'BEGIN{printf "\nratio nmap/nodeward: wall %.2f, CPU %.2f (above 1 = nodeward faster)\n", a/b, c/d}'
