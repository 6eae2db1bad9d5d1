#!/usr/bin/env bash
# TLS termination benchmark: nodeward side by side with HAProxy (Debian's,
# OpenSSL 3) enforcing the same IRI policy with the same certificate, for an
# ECDSA P-256 and an RSA-2048 server certificate, interleaved (every
# repetition runs each proxy once per measure, back to back).
#
#   bash bench/tls.sh                       # REPS=3, 10 s per measure (~8 minutes)
#   REPS=5 DURATION=5 bash bench/tls.sh
#   flock /tmp/bench.lock bash bench/tls.sh  # on a shared machine
#
# Measures, each with the proxy's CPU read from /proc/<pid>/stat around it:
#   keepalive : wrk -t1 -c$CONNS, POST getNodeInfo over HTTPS keep-alive
#               (req/s, proxy CPU µs per request)
#   new       : openssl s_time -new: a full TLS handshake per connection, one
#               request (GET, answered 405 by both proxies' policy) per
#               connection, $CLIENTS clients side by side (connections/s)
#   reuse     : the same with openssl s_time -reuse (session resumption)
# The clients' CPU (children of this script, from /proc/$$/stat) is recorded
# too. On a 2-core machine the new-connection measures are client-bound:
# `openssl s_time` spends 4-5x the proxy's CPU per full handshake (OpenSSL 3's
# client: X25519, the ECDSA/RSA verification, its per-connection set-up), the
# proxy sits 20-30 % busy, and pinning the proxy and the clients to a CPU each
# only makes the clients slower. So the rate mostly measures the clients; the
# proxy's CPU per connection (and the connections per proxy CPU-second it
# implies, its capacity) is the figure a client bottleneck cannot hide, and
# the table gives both.
# Both proxies staple an OCSP answer from a local `openssl ocsp` responder
# (nodeward fetches its own; HAProxy reads the same answer from
# <cert>.ocsp), and nodeward also runs its redirect_https listener, so the
# figures include them. Everything runs on 127.0.0.1 only, 1 thread each.
# Results: bench/run/tls-<id>/results.tsv and a table of medians and paired
# ratios (nodeward ÷ HAProxy per repetition), printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared/bench}
[ -d "$SHARED" ] || SHARED=$ROOT/../../shared/bench   # from a worktree under wt/
REPS=${REPS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
CLIENTS=${CLIENTS:-2}
TYPES=${TYPES:-"ecdsa rsa"}

need=()
for p in haproxy nginx wrk curl openssl python3; do command -v "$p" >/dev/null || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if [ -z "${NODEWARD_BIN:-}" ]; then
  cargo build --release --locked -p nodeward
  NODEWARD_BIN=$ROOT/target/release/nodeward
fi

RUN_ID=tls-$(date +%Y%m%d-%H%M%S)-$$
RUN=$ROOT/bench/run/$RUN_ID
mkdir -p "$RUN/tmp" "$RUN/raw"
ln -sfn "$RUN_ID" "$ROOT/bench/run/latest-tls"
RESULTS=$RUN/results.tsv
: >"$RESULTS"

# ---- ports: a free block -----------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
BASE=""
for attempt in $(seq 0 19); do
  b=$((19480 + attempt * 100)) busy=""
  for o in $(seq 0 12); do port_in_use $((b + o)) && busy=1; done
  if [ -z "$busy" ]; then BASE=$b; break; fi
done
[ -n "$BASE" ] || { echo "no free port block" >&2; exit 2; }
P_BACKEND=$BASE
declare -A P_OCSP=([ecdsa]=$((BASE + 1)) [rsa]=$((BASE + 2)))
declare -A P_GW=([ecdsa]=$((BASE + 3)) [rsa]=$((BASE + 4)))
declare -A P_HA=([ecdsa]=$((BASE + 5)) [rsa]=$((BASE + 6)))
declare -A P_ADMIN=([ecdsa]=$((BASE + 7)) [rsa]=$((BASE + 8)))
declare -A P_REDIR=([ecdsa]=$((BASE + 9)) [rsa]=$((BASE + 10)))

# ---- processes: only the PIDs started here ------------------------------------
declare -A PID=()
ORDER=()
start_bg() { # start_bg NAME CMD... (stays in the foreground)
  local name=$1; shift
  "$@" >"$RUN/$name.out" 2>&1 &
  PID[$name]=$!
  ORDER+=("$name")
}
cleanup() {
  local n
  for n in "${ORDER[@]}"; do kill "${PID[$n]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_for() { # wait_for WHAT CMD... (polls up to 30 s)
  local what=$1; shift
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "$what: not ready after 30 s" >&2
  exit 3
}

# ---- certificates: a CA, a delegated OCSP signer, a server cert per key type --
keyopts() { # keyopts TYPE
  if [ "$1" = ecdsa ]; then echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256"; else echo "-newkey rsa:2048"; fi
}
pki() { # pki TYPE
  local t=$1 d=$RUN/pki-$1
  mkdir -p "$d"
  # shellcheck disable=SC2046
  openssl req -x509 $(keyopts "$t") -nodes -days 2 -subj "/CN=bench $t ca" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  local name subj serial ext
  for name in responder server; do
    if [ $name = responder ]; then
      subj="/CN=bench $t ocsp"; serial=0x2002
      printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=OCSPSigning\n' >"$d/$name.ext"
    else
      subj=/CN=localhost; serial=0x1001
      printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:%s/\n' \
        "${P_OCSP[$t]}" >"$d/$name.ext"
    fi
    # shellcheck disable=SC2046
    openssl req -new $(keyopts "$t") -nodes -subj "$subj" -keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
    openssl x509 -req -days 2 -set_serial "$serial" -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
      -extfile "$d/$name.ext" -out "$d/$name.pem" 2>/dev/null
  done
  cat "$d/server.pem" "$d/ca.pem" >"$d/chain.pem"
  cat "$d/chain.pem" "$d/server.key" >"$d/haproxy.pem"
  printf 'V\t301231235959Z\t\t1001\tunknown\t/CN=localhost\n' >"$d/index.txt"
}

# ---- configs -------------------------------------------------------------------
sed -e "s|@RUN@|$RUN|g" -e "s|@BACKEND_PORT@|$P_BACKEND|g" \
  -e "s|@BACKEND_JSON@|$(tr -d '\n' <"$SHARED/conf/backend-getnodeinfo.json" | sed 's/[&|]/\\&/g')|g" \
  "$SHARED/conf/backend-nginx.conf.tmpl" >"$RUN/backend.conf"
nodeward_conf() { # nodeward_conf TYPE
  local t=$1 d=$RUN/pki-$1
  sed -e "s|@PORT@|${P_GW[$t]}|" -e "s|@ADMIN_PORT@|${P_ADMIN[$t]}|" \
    -e "s|@BACKEND_PORT@|$P_BACKEND|" -e "s|@RATE_PER_S@|1000000|" \
    "$SHARED/conf/nodeward.toml.tmpl" |
    sed -e "/^bind = \"127.0.0.1:${P_GW[$t]}\"/a tls = { cert = \"$d/chain.pem\", key = \"$d/server.key\" }" \
      -e "/^bind = \"127.0.0.1:${P_ADMIN[$t]}\"/a public_read = true" >"$RUN/gw-$t.toml"
  printf '\n[[listener]]\nbind = "127.0.0.1:%s"\nredirect_https = true\n' "${P_REDIR[$t]}" >>"$RUN/gw-$t.toml"
}
haproxy_conf() { # haproxy_conf TYPE: the anchor's policy, TLS on the bind line
  local t=$1 d=$RUN/pki-$1
  sed -e "s|@NBTHREAD@|1|" -e "s|@PORT@|${P_HA[$t]}|" -e "s|@BACKEND_PORT@|$P_BACKEND|" \
    -e "s|@RATE_PER_10S@|10000000|" \
    -e "s|@FORBIDDEN_REGEX@|\"command\"\\\\s*:\\\\s*\"(addNeighbors\|removeNeighbors\|getNeighbors\|attachToTangle\|interruptAttachingToTangle)\"|" \
    "$SHARED/conf/haproxy.cfg.tmpl" |
    sed -e "s|^    bind 127.0.0.1:${P_HA[$t]}\$|    bind 127.0.0.1:${P_HA[$t]} ssl crt $d/haproxy.pem alpn h2,http/1.1|" \
      -e "/^    http-request track-sc0 src/i \    # nodeward answers 405 itself to anything but POST on an IRI route\n    http-request deny deny_status 405 if !METH_POST" \
      >"$RUN/haproxy-$t.cfg"
}

# ---- start -------------------------------------------------------------------------
{
  echo "run_id: $RUN_ID"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu: $(nproc) x $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "haproxy: $(haproxy -v | head -1)"
  echo "openssl: $(openssl version)"
  echo "nodeward: $("$NODEWARD_BIN" --version)"
  echo "reps=$REPS duration=${DURATION}s conns=$CONNS clients=$CLIENTS"
} | tee "$RUN/env.txt"
start_bg backend nginx -c "$RUN/backend.conf"
wait_for backend curl -s -o /dev/null "http://127.0.0.1:$P_BACKEND/"
for t in $TYPES; do
  pki "$t"
  d=$RUN/pki-$t
  start_bg "ocsp-$t" openssl ocsp -ignore_err -port "${P_OCSP[$t]}" -index "$d/index.txt" -CA "$d/ca.pem" \
    -rsigner "$d/responder.pem" -rkey "$d/responder.key" -ndays 1
  # (not probed by connecting: an empty connection blocks its single process)
  wait_for "ocsp-$t" grep -q "waiting for OCSP client connections" "$RUN/ocsp-$t.out"
  # HAProxy reads its staple from <crt>.ocsp (DER), fetched from the same responder.
  openssl ocsp -issuer "$d/ca.pem" -cert "$d/server.pem" -url "http://127.0.0.1:${P_OCSP[$t]}/" \
    -CAfile "$d/ca.pem" -no_nonce -respout "$d/haproxy.pem.ocsp" >"$RUN/ocsp-fetch-$t.out" 2>&1
  nodeward_conf "$t"
  haproxy_conf "$t"
  start_bg "gw-$t" "$NODEWARD_BIN" gateway --config "$RUN/gw-$t.toml" --threads 1 --state-dir "$RUN/gw-state-$t"
  start_bg "haproxy-$t" haproxy -f "$RUN/haproxy-$t.cfg" -db
  wait_for "gw-$t staple" sh -c "curl -s http://127.0.0.1:${P_ADMIN[$t]}/status | grep -q '\"stapled\":true'"
  for p in "gw-$t:${P_GW[$t]}" "haproxy-$t:${P_HA[$t]}"; do
    port=${p#*:}
    openssl s_client -connect "127.0.0.1:$port" -servername localhost -status -CAfile "$d/ca.pem" </dev/null \
      >"$RUN/s_client-${p%%:*}.txt" 2>&1 || true
    grep -q "Cert Status: good" "$RUN/s_client-${p%%:*}.txt" || { echo "${p%%:*}: no OCSP staple served" >&2; exit 3; }
    grep -q "Verify return code: 0" "$RUN/s_client-${p%%:*}.txt" || { echo "${p%%:*}: certificate not verified" >&2; exit 3; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$d/ca.pem" -H 'X-IOTA-API-Version: 1' \
      --data-binary '{"command":"getNodeInfo"}' "https://localhost:$port/")
    [ "$code" = 200 ] || { echo "${p%%:*}: POST answered $code" >&2; exit 3; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$d/ca.pem" "https://localhost:$port/")
    [ "$code" = 405 ] || [ "$code" = 403 ] || { echo "${p%%:*}: GET answered $code (policy differs)" >&2; exit 3; }
  done
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${P_REDIR[$t]}/x")
  [ "$code" = 308 ] || { echo "redirect listener answered $code" >&2; exit 3; }
done

# ---- measures -------------------------------------------------------------------
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
child_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; } # reaped clients of this script
measure() { # measure SCENARIO NAME PORT REP
  local scen=$1 name=$2 port=$3 rep=$4 pid=${PID[$2]} t0 t1 c0 c1 raw=$RUN/raw/$1-$2-$4
  t0=$(ticks "$pid")
  c0=$(child_ticks)
  case $scen in
    keepalive)
      wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$SHARED/lua/getnodeinfo.lua" "https://127.0.0.1:$port/" >"$raw" 2>&1
      t1=$(ticks "$pid")
      c1=$(child_ticks)
      local line
      line=$(grep '^ANCHOR' "$raw" | sed 's/^ANCHOR //')
      printf '%s\t%s\t%s\t%s proxy_cpu_ticks=%s client_cpu_ticks=%s clk_tck=%s\n' "$scen" "$name" "$rep" "$line" \
        $((t1 - t0)) $((c1 - c0)) "$(getconf CLK_TCK)" >>"$RESULTS"
      ;;
    new | reuse)
      local i pids=() w0 w1
      w0=$(date +%s%N)
      for i in $(seq "$CLIENTS"); do
        openssl s_time -connect "127.0.0.1:$port" "-$scen" -time "$DURATION" -www / >"$raw.$i" 2>&1 &
        pids+=($!)
      done
      wait "${pids[@]}" || true
      w1=$(date +%s%N)
      t1=$(ticks "$pid")
      c1=$(child_ticks)
      # s_time prints "N connections in T real seconds" (whole seconds, so the
      # wall time is taken here) and one mark per connection: '*' for a full
      # handshake, 'r' for a resumed session.
      local conns us reused
      conns=$(cat "$raw".* | awk '/connections in .* real seconds/{n += $1} END {print n + 0}')
      us=$(((w1 - w0) / 1000))
      reused=$(cat "$raw".* | grep -E '^[r*]+$' | tr -cd 'r' | wc -c)
      printf '%s\t%s\t%s\treqs=%s duration_us=%s rps=%s resumed=%s proxy_cpu_ticks=%s client_cpu_ticks=%s clk_tck=%s\n' \
        "$scen" "$name" "$rep" "$conns" "$us" \
        "$(awk -v n="$conns" -v us="$us" 'BEGIN{printf "%.1f", (us > 0) ? n * 1e6 / us : 0}')" "$reused" \
        $((t1 - t0)) $((c1 - c0)) "$(getconf CLK_TCK)" >>"$RESULTS"
      ;;
  esac
  tail -1 "$RESULTS"
}
for rep in $(seq "$REPS"); do
  for scen in keepalive new reuse; do
    for t in $TYPES; do
      measure "$scen" "gw-$t" "${P_GW[$t]}" "$rep"
      measure "$scen" "haproxy-$t" "${P_HA[$t]}" "$rep"
    done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RUN/env.txt"

# ---- table ----------------------------------------------------------------------
python3 - "$RESULTS" <<'EOF' | tee "$RUN/table.md"
import statistics, sys
rows = {}
for line in open(sys.argv[1], encoding="utf-8"):
    scen, name, rep, rest = line.rstrip("\n").split("\t")
    f = dict(kv.split("=", 1) for kv in rest.split())
    reqs = float(f["reqs"])
    tck = float(f["clk_tck"])
    cpu = float(f["proxy_cpu_ticks"]) / tck
    client = float(f.get("client_cpu_ticks", "nan")) / tck
    secs = float(f["duration_us"]) / 1e6
    per = (lambda x: 1e6 * x / reqs) if reqs else (lambda x: float("nan"))
    rows[(scen, name, rep)] = (float(f["rps"]), per(cpu), per(client), 100 * cpu / secs)
med = statistics.median
print("Rates are client-bound where the proxy is far from 100 % busy; there the proxy's CPU per")
print("request or connection (capacity ratio: its inverse, per proxy CPU-second) is the figure to compare.")
print()
print("| measure | key | nodeward median /s | HAProxy median /s | ratio (median of paired) | range "
      "| nodeward CPU µs/req | HAProxy CPU µs/req | CPU ratio | capacity ratio | proxy busy % nw / HA "
      "| clients CPU µs/req nw / HA |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for scen in ("keepalive", "new", "reuse"):
    for t in ("ecdsa", "rsa"):
        reps = sorted({r for (s, n, r) in rows if s == scen and n == f"gw-{t}"})
        pairs = [(rows[(scen, f"gw-{t}", r)], rows[(scen, f"haproxy-{t}", r)]) for r in reps
                 if (scen, f"haproxy-{t}", r) in rows]
        if not pairs:
            continue
        ratios = [g[0] / h[0] for g, h in pairs if h[0] > 0]
        cpu = [g[1] / h[1] for g, h in pairs if h[1] > 0]
        cap = [h[1] / g[1] for g, h in pairs if g[1] > 0]
        print(f"| {scen} | {t} | {med(g[0] for g, _ in pairs):.0f} | {med(h[0] for _, h in pairs):.0f} | "
              f"{med(ratios):.2f}x | {min(ratios):.2f}–{max(ratios):.2f} | {med(g[1] for g, _ in pairs):.1f} | "
              f"{med(h[1] for _, h in pairs):.1f} | {med(cpu):.2f}x | {med(cap):.2f}x | "
              f"{med(g[3] for g, _ in pairs):.0f} / {med(h[3] for _, h in pairs):.0f} | "
              f"{med(g[2] for g, _ in pairs):.0f} / {med(h[2] for _, h in pairs):.0f} |")
EOF
echo "results: $RUN"
