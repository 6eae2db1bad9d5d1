#!/usr/bin/env bash
# Log-scan speed of `nodeward ban scan` against `fail2ban-regex` (the anchor) on the
# same synthetic auth.log, side by side, several interleaved runs, medians and ratio.
#
#   bash bench/ban.sh [SIZE_MB] [RUNS]        defaults: 200 MB, 3 runs
#
# The log comes from ../shared/bench/gen-sshd-log.py next to the repository
# (deterministic; GEN=PATH overrides; it writes a .truth.json with the expected
# line counts per template), cached in $BENCH_DIR.
# Both tools' counts are checked against the truth before any time is reported.
# Needs: python3, fail2ban (apt-get install -y fail2ban), GNU time (/usr/bin/time).
# NODEWARD_BIN selects the binary (default: target/release/nodeward, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SIZE_MB="${1:-200}"
RUNS="${2:-3}"
GEN="${GEN:-$ROOT/../shared/bench/gen-sshd-log.py}"
BENCH_DIR="${BENCH_DIR:-/tmp/nodeward-ban-bench}"
LOG="$BENCH_DIR/auth-${SIZE_MB}mb.log"
NODEWARD_BIN="${NODEWARD_BIN:-$ROOT/target/release/nodeward}"

command -v fail2ban-regex >/dev/null || { echo "fail2ban-regex missing: apt-get install -y fail2ban" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install -y time" >&2; exit 2; }
if [ ! -x "$NODEWARD_BIN" ]; then cargo build --release --locked -p nodeward; fi
mkdir -p "$BENCH_DIR"
if [ ! -s "$LOG" ] || [ ! -s "$LOG.truth.json" ]; then
  [ -f "$GEN" ] || { echo "log generator missing: $GEN (../shared/bench/ next to the repository, or set GEN)" >&2; exit 2; }
  echo "generating $LOG ($SIZE_MB MB)"
  python3 "$GEN" "$LOG" --size-mb "$SIZE_MB"
fi
# A config that does not exist: nodeward uses its defaults (maxretry 5, findtime 10m).
NO_CONFIG="$BENCH_DIR/none.toml"
rm -f "$NO_CONFIG"

measure() { # measure NAME OUTFILE cmd... -> prints "seconds maxrss_kb"
  local name="$1" out="$2"; shift 2
  sync
  /usr/bin/time -f "%e %M" -o "$BENCH_DIR/$name.time" "$@" >"$out" 2>"$out.err"
  cat "$BENCH_DIR/$name.time"
}

declare -a NW_T F2B_T NW_M F2B_M
for ((i = 1; i <= RUNS; i++)); do
  # Interleave the order so cache warmth does not favour one side.
  if (( i % 2 )); then order="nw f2b"; else order="f2b nw"; fi
  for who in $order; do
    if [ "$who" = nw ]; then
      read -r t m < <(measure nw "$BENCH_DIR/nw.json" "$NODEWARD_BIN" ban scan "$LOG" --format json -c "$NO_CONFIG")
      NW_T+=("$t"); NW_M+=("$m"); echo "run $i nodeward        ${t}s  ${m} KB"
    else
      read -r t m < <(measure f2b "$BENCH_DIR/f2b.out" fail2ban-regex "$LOG" sshd)
      F2B_T+=("$t"); F2B_M+=("$m"); echo "run $i fail2ban-regex  ${t}s  ${m} KB"
    fi
  done
done

python3 - "$LOG.truth.json" "$BENCH_DIR/nw.json" "$BENCH_DIR/f2b.out" "${NW_T[*]}" "${F2B_T[*]}" "${NW_M[*]}" "${F2B_M[*]}" "$SIZE_MB" <<'PY'
import json, re, statistics, sys
truth = json.load(open(sys.argv[1])); nw = json.load(open(sys.argv[2])); f2b = open(sys.argv[3]).read()
nw_t, f2b_t, nw_m, f2b_m = ([float(x) for x in a.split()] for a in sys.argv[4:8])
size_mb = sys.argv[8]
T = truth["templates"]
expect = {
    "failed_password": T["failed_password_root"] + T["failed_password_invalid"],
    "failed_publickey": T["failed_publickey_invalid"],
    "invalid_user": T["invalid_user"],
    "max_auth_tries": T["max_auth_root"] + T["max_auth_invalid"],
    "preauth_closed": T["conn_closed_auth_root"] + T["conn_reset_auth_root"] + T["conn_closed_invalid"] + T["conn_closed_preauth"],
    "preauth_disconnected": T["disconnected_auth_root"] + T["disconnected_invalid"],
    "negotiation_failed": T["unable_to_negotiate"],
}
bad = []
if nw["lines"] != truth["lines"]: bad.append(f"nodeward lines {nw['lines']} != {truth['lines']}")
for k, v in expect.items():
    got = nw["by_kind"].get(k, 0)
    if got != v: bad.append(f"nodeward {k} {got} != truth {v}")
extra = set(nw["by_kind"]) - set(expect)
if extra: bad.append(f"nodeward counted unexpected kinds {extra}")
m = re.search(r"Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", f2b)
if not m: bad.append("fail2ban-regex summary not found")
else:
    lines, ign, matched, missed = map(int, m.groups())
    e = truth["expected_fail2ban_regex"]
    if lines != truth["lines"]: bad.append(f"fail2ban lines {lines}")
    if missed != e["missed"]: bad.append(f"fail2ban missed {missed} != {e['missed']}")
    if matched + ign != e["matched_plus_ignored"]: bad.append(f"fail2ban matched+ignored {matched+ign} != {e['matched_plus_ignored']}")
if bad:
    print("COUNT CHECK FAILED:\n  " + "\n  ".join(bad)); sys.exit(1)
mb = truth["bytes"] / 1e6
a, b = statistics.median(nw_t), statistics.median(f2b_t)
print(f"\ncounts: nodeward matches the truth per kind ({nw['failures']} failure lines, {nw['bans']} bans of {nw['banned_sources']} sources); "
      f"fail2ban-regex missed={missed} matched+ignored={matched+ign} as expected")
print(f"| log | runs | nodeward median | fail2ban-regex median | ratio | nodeward MB/s | fail2ban MB/s | max RSS nodeward / fail2ban |")
print(f"|---|---|---|---|---|---|---|---|")
print(f"| {size_mb} MB, {truth['lines']} lines | {len(nw_t)} | {a:.2f} s | {b:.2f} s | **{b/a:.0f}x** | {mb/a:.0f} | {mb/b:.1f} | {statistics.median(nw_m)/1024:.0f} MiB / {statistics.median(f2b_m)/1024:.0f} MiB |")
print(f"all runs: nodeward {nw_t}, fail2ban-regex {f2b_t}")
PY
