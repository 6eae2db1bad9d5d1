#!/usr/bin/env bash
# Times `nodeward audit` against `lynis audit system --quick` on this host, whole
# process, interleaved (nodeward, lynis, nodeward, lynis, ...), RUNS rounds.
# Prints per-run figures and a markdown summary (medians and ratios) for
# docs/benchmarks.md. Needs root for a full audit by either tool.
#
#   RUNS=5 NODEWARD_BIN=target/release/nodeward bash bench/audit.sh
#
# lynis writes its log and report into a temp dir (--logfile/--report-file), so
# the host's /var/log is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-5}"
BIN="${NODEWARD_BIN:-target/release/nodeward}"
if [ ! -x "$BIN" ]; then
  cargo build --release --locked -p nodeward
fi
command -v lynis >/dev/null || { echo "lynis is not installed (apt-get install -y lynis)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time is not installed (apt-get install -y time)" >&2; exit 2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# One timed run: appends "tool wall user sys maxrss_kb exit" to $WORK/results.
timed() {
  local tool="$1"
  shift
  local code=0
  /usr/bin/time -o "$WORK/time" -f "%e %U %S %M" "$@" >"$WORK/$tool.out" 2>"$WORK/$tool.err" || code=$?
  # /usr/bin/time reports the child's exit status on its first line when it is non-zero.
  local figures
  figures="$(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$WORK/time" | tail -1)"
  echo "$tool $figures $code" | tee -a "$WORK/results"
}

echo "machine: $(nproc) CPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "nodeward: $("$BIN" --version)   lynis: $(lynis --version 2>/dev/null | head -1)"
echo "tool wall_s user_s sys_s maxrss_kb exit"
for i in $(seq 1 "$RUNS"); do
  timed nodeward "$BIN" audit --format json --fail-on critical
  timed lynis lynis audit system --quick --no-colors \
    --logfile "$WORK/lynis.log" --report-file "$WORK/lynis-report.dat"
done

# Medians and ratios.
awk -v runs="$RUNS" '
function median(arr, n,    i, j, t) {
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
  return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{
  n[$1]++; k = n[$1]
  wall[$1, k] = $2; cpu[$1, k] = $3 + $4; rss[$1, k] = $5
}
END {
  for (t in n) {
    for (k = 1; k <= n[t]; k++) { w[k] = wall[t, k]; c[k] = cpu[t, k]; r[k] = rss[t, k] }
    mw[t] = median(w, n[t]); mc[t] = median(c, n[t]); mr[t] = median(r, n[t])
  }
  printf "\n| tool | runs | median wall (s) | median CPU user+sys (s) | median max RSS (MiB) |\n|---|---|---|---|---|\n"
  for (t in n) printf "| %s | %d | %.3f | %.3f | %.1f |\n", t, n[t], mw[t], mc[t], mr[t] / 1024
  if (mw["nodeward"] > 0) printf "\nratio lynis/nodeward: wall %.0fx, CPU %.0fx\n", mw["lynis"] / mw["nodeward"], mc["lynis"] / (mc["nodeward"] > 0 ? mc["nodeward"] : 0.001)
}' "$WORK/results"
