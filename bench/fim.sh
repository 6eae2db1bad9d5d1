#!/usr/bin/env bash
# File integrity benchmark: `nodeward fim init|check` vs `aide --init|--check`
# (Debian's aide) with an equivalent rule on this machine's /usr, in one
# interleaved run.
#
#   bash bench/fim.sh            # REPS=3 (~15 minutes on a 2-vCPU guest; AIDE dominates)
#   REPS=5 bash bench/fim.sh
#
# Needs root: everything runs in a private mount namespace (unshare --mount)
# where /usr is an overlay (lower: the real /usr, upper: a temp dir), so the
# planted changes land in the temp dir and the real /usr is never written.
# Both tools see the same overlay, with the same per-lookup cost.
#
# Rule: AIDE `sha256+p+u+g+s+m+i+ftype+l` on /usr (database not gzipped, which
# favours AIDE); nodeward `[fim] paths = ["/usr"]` with its default rule (which
# records all of that plus ctime, xattrs and capabilities), `hash = "sha256"`,
# and again with the default BLAKE3. The page cache is warm for both: one
# untimed `nodeward fim init` reads every file before the first timed run.
# Timed: wall time and peak RSS from /usr/bin/time. `check` runs after five
# changes are planted (content with size and mtime restored, a setuid bit, an
# owner, an added and a removed file); every check's report must name all
# five, for both tools. `nodeward fim check` reuses a digest where size,
# mtime, ctime and inode are unchanged; `check --paranoid` rehashes everything
# as AIDE does, and is reported too.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REPS=${REPS:-3}

if [ "${1:-}" != "--inner" ]; then
  [ "$(id -u)" = 0 ] || { echo "bench/fim.sh needs root (unshare --mount, overlay)" >&2; exit 2; }
  need=()
  command -v aide >/dev/null || need+=(aide)
  [ -x /usr/bin/time ] || need+=(time)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
  if [ -z "${NODEWARD_BIN:-}" ]; then
    cargo build --release --locked -p nodeward
    NODEWARD_BIN=$ROOT/target/release/nodeward
  fi
  RUN=$ROOT/bench/run/fim-$(date -u +%Y%m%d-%H%M%S)
  mkdir -p "$RUN"
  WORK=$(mktemp -d /var/tmp/nodeward-fim-bench.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  # A copy of the binary outside /usr and the repo: the overlay hides nothing it needs.
  cp "$NODEWARD_BIN" "$WORK/nodeward"
  # --propagation private: nothing mounted inside is seen outside.
  unshare --mount --propagation private -- env WORK="$WORK" RUN="$RUN" REPS="$REPS" \
    bash "$ROOT/bench/fim.sh" --inner
  echo "results: $RUN/results.tsv"
  exit 0
fi

# ---- inside the private mount namespace ------------------------------------
mkdir -p "$WORK/upper" "$WORK/ovl-work" "$WORK/nw" "$WORK/aide"
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$WORK/upper,workdir=$WORK/ovl-work" /usr
NW=$WORK/nodeward
MACHINE="$(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB RAM, kernel $(uname -r)"
echo "machine: $MACHINE" | tee "$RUN/machine.txt"
aide --version 2>&1 | head -1 | tee -a "$RUN/machine.txt"
{ "$NW" --version || true; } | tee -a "$RUN/machine.txt"

for algo in sha256 blake3; do
  cat > "$WORK/nw/$algo.toml" <<EOF
[fim]
defaults = false
paths = ["/usr"]
hash = "$algo"
database = "$WORK/nw/$algo.nwfim"
key = "$WORK/nw/fim.key"
EOF
done
cat > "$WORK/aide/aide.conf" <<EOF
database_in=file:$WORK/aide/aide.db
database_out=file:$WORK/aide/aide.db.new
gzip_dbout=no
report_url=stdout
NW = sha256+p+u+g+s+m+i+ftype+l
/usr NW
EOF

printf 'tool\top\trep\tseconds\tpeak_rss_kib\n' > "$RUN/results.tsv"
# timed NAME OP REP CMD...: runs CMD under /usr/bin/time, records wall s and peak RSS.
timed() {
  local name=$1 op=$2 rep=$3; shift 3
  local out="$RUN/$name-$op-$rep"
  local rc=0
  /usr/bin/time -f '%e %M' -o "$out.time" "$@" > "$out.out" 2> "$out.err" || rc=$?
  # aide --check: 1 added, 2 removed, 4 changed (bits); 14+ is an error. nodeward check: 1 = changes.
  if [ "$rc" -ge 14 ] || { [ "$name" != aide ] && [ "$rc" -ge 2 ]; }; then
    echo "$name $op failed (exit $rc):" >&2; cat "$out.err" >&2; exit 1
  fi
  read -r secs rss < <(tail -1 "$out.time")
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$op" "$rep" "$secs" "$rss" >> "$RUN/results.tsv"
  printf '%-16s %-14s rep %s: %7.2f s  %8s KiB\n' "$name" "$op" "$rep" "$secs" "$rss"
}

echo "warming the page cache (untimed nodeward fim init)..."
"$NW" fim init -c "$WORK/nw/blake3.toml" --force > /dev/null 2>&1

for rep in $(seq 1 "$REPS"); do
  timed nodeward-sha256 init "$rep" "$NW" fim init -c "$WORK/nw/sha256.toml" --force
  timed aide init "$rep" aide --config "$WORK/aide/aide.conf" --init
  timed nodeward-blake3 init "$rep" "$NW" fim init -c "$WORK/nw/blake3.toml" --force
done
mv "$WORK/aide/aide.db.new" "$WORK/aide/aide.db"
nw_entries=$(grep -o 'baseline of [0-9]* entries' "$RUN/nodeward-sha256-init-1.out" | grep -o '[0-9]*')
aide_entries=$(grep -i 'number of entries' "$RUN/aide-init-1.out" | grep -o '[0-9]*' | head -1)
echo "entries: nodeward $nw_entries, aide $aide_entries" | tee "$RUN/entries.txt"

# ---- planted changes (in the overlay's upper layer only) --------------------
P_CONTENT=/usr/share/common-licenses/GPL-3
P_SETUID=/usr/bin/env
P_OWNER=/usr/share/common-licenses/BSD
P_ADDED=/usr/local/bin/nw-planted
P_REMOVED=/usr/share/common-licenses/Apache-2.0
mtime=$(stat -c %y "$P_CONTENT")
printf 'X' | dd of="$P_CONTENT" bs=1 seek=100 conv=notrunc status=none
touch -d "$mtime" "$P_CONTENT"
chmod u+s "$P_SETUID"
chown 65534 "$P_OWNER"
printf '#!/bin/sh\necho planted\n' > "$P_ADDED"
rm "$P_REMOVED"
PLANTED=("$P_CONTENT" "$P_SETUID" "$P_OWNER" "$P_ADDED" "$P_REMOVED")

for rep in $(seq 1 "$REPS"); do
  timed nodeward-sha256 check "$rep" "$NW" fim check -c "$WORK/nw/sha256.toml" --format json
  timed aide check "$rep" aide --config "$WORK/aide/aide.conf" --check
  timed nodeward-sha256 check-paranoid "$rep" "$NW" fim check --paranoid -c "$WORK/nw/sha256.toml" --format json
  timed nodeward-blake3 check "$rep" "$NW" fim check -c "$WORK/nw/blake3.toml" --format json
done

# Every check of both tools must name every planted path.
missing=0
for f in "$RUN"/*-check*.out; do
  for p in "${PLANTED[@]}"; do
    grep -qF "$p" "$f" || { echo "MISSING: $(basename "$f") does not report $p"; missing=1; }
  done
done
[ $missing = 0 ] && echo "every check of both tools reported all ${#PLANTED[@]} planted changes"

# ---- medians and ratios -------------------------------------------------------
python3 - "$RUN/results.tsv" <<'EOF' | tee "$RUN/summary.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = {}
for r in rows:
    med.setdefault((r["tool"], r["op"]), []).append((float(r["seconds"]), int(r["peak_rss_kib"])))
print(f"{'tool':<16} {'op':<15} {'runs':>4} {'median s':>9} {'peak RSS MiB':>12}")
m = {}
for (tool, op), v in sorted(med.items()):
    s = statistics.median(x[0] for x in v)
    rss = max(x[1] for x in v) / 1024
    m[(tool, op)] = s
    print(f"{tool:<16} {op:<15} {len(v):>4} {s:>9.2f} {rss:>12.1f}")
def ratio(a, b):
    return m[a] / m[b] if m.get(b) else float("nan")
print()
print(f"init:  aide / nodeward-sha256 = {ratio(('aide','init'), ('nodeward-sha256','init')):.1f}x, aide / nodeward-blake3 = {ratio(('aide','init'), ('nodeward-blake3','init')):.1f}x")
print(f"check: aide / nodeward-sha256 = {ratio(('aide','check'), ('nodeward-sha256','check')):.1f}x, aide / nodeward-blake3 = {ratio(('aide','check'), ('nodeward-blake3','check')):.1f}x, aide / nodeward-sha256 --paranoid = {ratio(('aide','check'), ('nodeward-sha256','check-paranoid')):.1f}x")
EOF
