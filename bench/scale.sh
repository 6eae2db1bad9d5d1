#!/usr/bin/env bash
# Scale benchmark (issue 17): memory per idle keep-alive connection and per
# client address, nodeward side by side with HAProxy and nginx under the same
# policy (per-source rate limit, per-source connection cap, autoban / error
# rate ban where the proxy has one), interleaved run by run; then new
# connections per second (connect, guard, one request, close).
#
#   flock /tmp/bench.lock bash bench/scale.sh            # REPS=3
#   REPS=1 SIZES="1000 10000" bash bench/scale.sh        # quicker
#
# Every process it starts listens on 127.0.0.1 only; clients are
# bench/scale/idle_client.py, bound to loopback source addresses 127.1.0.1 and
# up (all of 127/8 is local on Linux) so each connection can be its own
# client. A fresh proxy is started for every measurement; memory is read from
# /proc/PID/status (VmRSS) and /proc/PID/smaps_rollup (Pss) before and after
# the connections are open and idle, and divided by their number.
#
# File descriptors: the script raises its soft limit to the hard limit. Sizes
# above what the hard limit allows (one fd per connection in the proxy) are
# skipped and said so; raising the hard limit needs CAP_SYS_RESOURCE
# (`prlimit --nofile=...` on this script's shell as root, or a larger
# `ulimit -Hn` in the calling shell).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REPS=${REPS:-3}
SIZES=${SIZES:-"1000 9000 50000"}
H2_SIZE=${H2_SIZE:-9000}
RATE_SECS=${RATE_SECS:-5}
ANCHOR_CONF=${ANCHOR_CONF:-/work/shared/bench/conf}
RUN=$ROOT/bench/run/scale-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN/tmp"
ln -sfn "$RUN" "$ROOT/bench/run/scale-latest"
CLIENT=$ROOT/bench/scale/idle_client.py

need=()
for p in haproxy nginx curl python3 openssl; do command -v "$p" >/dev/null || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if [ -z "${NODEWARD_BIN:-}" ]; then
  cargo build --release --locked -p nodeward
  NODEWARD_BIN=$ROOT/target/release/nodeward
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
# HAProxy reserves a server socket for every client connection and will not
# start when 2 x maxconn exceeds the fd limit: the comparable size is half it.
MAX_CONNS=$(((FD_LIMIT - 400) / 2))

# ---- ports and configs ---------------------------------------------------------
BASE=${BASE:-}
if [ -z "$BASE" ]; then
  for b in $(seq 31000 20 31900); do
    if ! ss -Htln | awk '{print $4}' | grep -qE ":($b|$((b + 1))|$((b + 2))|$((b + 3))|$((b + 4))|$((b + 5))|$((b + 6))|$((b + 7))|$((b + 8)))\$"; then
      BASE=$b; break
    fi
  done
fi
P_BACKEND=$BASE P_GW=$((BASE + 1)) P_GW_TLS=$((BASE + 2)) P_GW_ADMIN=$((BASE + 3))
P_HA=$((BASE + 4)) P_HA_TLS=$((BASE + 5)) P_NG=$((BASE + 6)) P_NG_TLS=$((BASE + 7))
CAP=60000   # per-source connection cap: on, but above the one-source run's size
RATE_PER_10S=10000000

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$RUN/key.pem" -out "$RUN/cert.pem" 2>/dev/null
cat "$RUN/cert.pem" "$RUN/key.pem" >"$RUN/haproxy.pem"
BACKEND_JSON=$(<"$ANCHOR_CONF/backend-getnodeinfo.json")
content=$(<"$ANCHOR_CONF/backend-nginx.conf.tmpl")
content=${content//@RUN@/$RUN}; content=${content//@BACKEND_PORT@/$P_BACKEND}
content=${content//@BACKEND_JSON@/$BACKEND_JSON}
printf '%s\n' "$content" >"$RUN/backend.conf"

cat >"$RUN/gw.toml" <<CONF
[gateway]
max_connections = 200000
max_connections_per_ip = $CAP
header_timeout = "300s"
idle_timeout = "300s"
access_log = "off"

[gateway.autoban]

[[listener]]
bind = "127.0.0.1:$P_GW"

[[listener]]
bind = "127.0.0.1:$P_GW_TLS"
tls = { cert = "$RUN/cert.pem", key = "$RUN/key.pem" }

[admin]
bind = "127.0.0.1:$P_GW_ADMIN"

[[upstream]]
name = "iri"
backends = ["http://127.0.0.1:$P_BACKEND"]

[[route]]
protocol = "iri"
upstream = "iri"
deny = ["addNeighbors", "removeNeighbors", "getNeighbors", "attachToTangle", "interruptAttachingToTangle"]
max_body = "64KiB"
per_ip_rate = "$((RATE_PER_10S / 10))/s"
CONF

cat >"$RUN/haproxy.cfg" <<CONF
global
    nbthread 1
    maxconn $MAX_CONNS
    tune.bufsize 73728

defaults
    mode http
    option http-keep-alive
    option http-buffer-request
    timeout connect 5s
    timeout client 300s
    timeout server 30s
    timeout http-request 300s
    timeout http-keep-alive 300s

frontend fe_iri_api
    bind 127.0.0.1:$P_HA
    bind 127.0.0.1:$P_HA_TLS ssl crt $RUN/haproxy.pem alpn h2,http/1.1
    # per source: request rate, open connections, and a ban on 20 errors a minute
    stick-table type ip size 200k expire 60s store http_req_rate(10s),conn_cur,http_err_rate(60s)
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc0_conn_cur gt $CAP }
    tcp-request connection reject if { sc0_http_err_rate gt 20 }
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt $RATE_PER_10S }
    http-request deny deny_status 413 if { req.body_size gt 65536 }
    http-request deny deny_status 403 if { req.body -m reg -i "command\"\\s*:\\s*\"(addNeighbors|removeNeighbors|getNeighbors|attachToTangle|interruptAttachingToTangle)\"" }
    default_backend be_iri_node

backend be_iri_node
    server node1 127.0.0.1:$P_BACKEND maxconn 1000
CONF

cat >"$RUN/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
pid $RUN/nginx.pid;
error_log $RUN/nginx.err warn;
worker_rlimit_nofile $FD_LIMIT;
events { worker_connections $MAX_CONNS; }
http {
    access_log off;
    server_tokens off;
    client_body_temp_path $RUN/tmp/body;
    proxy_temp_path $RUN/tmp/proxy;
    fastcgi_temp_path $RUN/tmp/fastcgi;
    uwsgi_temp_path $RUN/tmp/uwsgi;
    scgi_temp_path $RUN/tmp/scgi;
    client_header_timeout 300s;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    client_max_body_size 64k;
    client_body_buffer_size 64k;
    limit_req_zone \$binary_remote_addr zone=perip:10m rate=$((RATE_PER_10S / 10))r/s;
    limit_conn_zone \$binary_remote_addr zone=perconn:10m;
    upstream node_api { server 127.0.0.1:$P_BACKEND; keepalive 128; }
    server {
        listen 127.0.0.1:$P_NG backlog=4096;
        listen 127.0.0.1:$P_NG_TLS ssl http2 backlog=4096;
        ssl_certificate $RUN/cert.pem;
        ssl_certificate_key $RUN/key.pem;
        limit_req zone=perip burst=$((RATE_PER_10S / 10)) nodelay;
        limit_conn perconn $CAP;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://node_api;
        }
    }
}
CONF

haproxy -c -q -f "$RUN/haproxy.cfg"
nginx -t -q -p "$RUN" -c "$RUN/nginx.conf" -e "$RUN/nginx.err"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
nginx -p "$RUN" -c "$RUN/backend.conf" -e "$RUN/backend.err" &
PIDS+=($!)

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu: $(nproc) x $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "kernel: $(uname -r); $(haproxy -v | head -1); $(nginx -v 2>&1)"
  echo "nodeward: $(git -C "$ROOT" rev-parse --short HEAD); fd limit $FD_LIMIT; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RUN/meta.txt"

wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }
wait_port "$P_BACKEND"

# start NAME -> sets SRV (pid to kill) and MEM (pid whose memory is read)
start() {
  case $1 in
    nodeward) "$NODEWARD_BIN" gateway --config "$RUN/gw.toml" --threads 1 --state-dir "$RUN/gw-state" >"$RUN/gw.log" 2>&1 &
              SRV=$!; MEM=$SRV; PORT=$P_GW; TLS_PORT=$P_GW_TLS ;;
    haproxy)  haproxy -f "$RUN/haproxy.cfg" -db >"$RUN/haproxy.log" 2>&1 &
              SRV=$!; MEM=$SRV; PORT=$P_HA; TLS_PORT=$P_HA_TLS ;;
    nginx)    nginx -p "$RUN" -c "$RUN/nginx.conf" -e "$RUN/nginx.err" &
              SRV=$!; PORT=$P_NG; TLS_PORT=$P_NG_TLS ;;
  esac
  wait_port "$PORT"
  [ "$1" = nginx ] && MEM=$(pgrep -P "$SRV" | head -1) || true
  # one request so the request path is warm before the baseline is read
  python3 "$CLIENT" --port "$PORT" --rate 0.2 --parallel 1 >/dev/null
}
stop() { kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; }
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
pss() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup"; }

# idle NAME CONNS SOURCES h1|h2 -> one result line
idle() {
  local name=$1 n=$2 sources=$3 proto=$4 port rss0 pss0 ok=0 chunk=9000 i=0 fifos=() clients=()
  start "$name"
  if [ "$proto" = h2 ]; then port=$TLS_PORT; else port=$PORT; fi
  rss0=$(rss "$MEM"); pss0=$(pss "$MEM")
  while [ "$i" -lt "$n" ]; do
    local k=$((n - i < chunk ? n - i : chunk)) fifo="$RUN/tmp/hold.$i"
    rm -f "$fifo"; mkfifo "$fifo"
    python3 "$CLIENT" --port "$port" --conns "$k" --sources "$([ "$sources" = 1 ] && echo 1 || echo "$k")" \
      --first "$i" $([ "$proto" = h2 ] && echo --h2) <"$fifo" >"$RUN/tmp/client.$i.out" 2>&1 &
    clients+=($!); exec {fd}>"$fifo"; fifos+=("$fd")
    i=$((i + k))
  done
  for j in $(seq 600); do
    local ready; ready=$(cat "$RUN"/tmp/client.*.out 2>/dev/null | grep -c READY || true)
    [ "$ready" -ge "${#clients[@]}" ] && break; sleep 0.5
  done
  ok=$(grep -ho 'ok=[0-9]*' "$RUN"/tmp/client.*.out | cut -d= -f2 | paste -sd+ | bc)
  sleep 5   # let freed request state settle (every proxy alike; nodeward trims once a second)
  local rss1 pss1 open
  rss1=$(rss "$MEM"); pss1=$(pss "$MEM")
  open=$(ss -Htn state established "( sport = :$port )" | wc -l)
  for fd in "${fifos[@]}"; do exec {fd}>&-; done
  wait "${clients[@]}" 2>/dev/null || true
  grep -h READY "$RUN"/tmp/client.*.out | sed 's/^/    /' >>"$RUN/clients.log"
  rm -f "$RUN"/tmp/client.*.out "$RUN"/tmp/hold.*
  stop
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$proto" "$n" "$sources" "$ok" "$open" \
    "$rss0" "$rss1" "$pss0" "$pss1" | tee -a "$RUN/idle.tsv"
}

# rate NAME -> connections/s and proxy CPU per connection
rate() {
  local name=$1 t0 t1 out
  start "$name"
  t0=$(awk '{print $14 + $15}' "/proc/$MEM/stat")
  out=$(python3 "$CLIENT" --port "$PORT" --rate "$RATE_SECS" --sources 5000 --parallel 64)
  t1=$(awk '{print $14 + $15}' "/proc/$MEM/stat")
  stop
  local conns secs
  conns=$(grep -o 'conns=[0-9]*' <<<"$out" | cut -d= -f2); secs=$(grep -o 'secs=[0-9.]*' <<<"$out" | cut -d= -f2)
  printf '%s\trate\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$secs" "$((t1 - t0))" "$(grep -o 'failed=[0-9]*' <<<"$out")" | tee -a "$RUN/rate.tsv"
}

printf 'proxy\tproto\tconns\tsources\tok\testablished\trss0_kib\trss1_kib\tpss0_kib\tpss1_kib\n' >"$RUN/idle.tsv"
printf 'proxy\tkind\tconns\tsecs\tcpu_ticks\tfailed\n' >"$RUN/rate.tsv"
for rep in $(seq "$REPS"); do
  echo "== repetition $rep (load $(cut -d' ' -f1-3 /proc/loadavg))"
  for n in $SIZES; do
    if [ "$n" -gt "$MAX_CONNS" ]; then
      echo "skipping $n connections: fd limit $FD_LIMIT (raise the hard limit to measure it)" | tee -a "$RUN/meta.txt"
      continue
    fi
    for sources in 1 many; do
      for p in nodeward haproxy nginx; do idle "$p" "$n" "$sources" h1; done
    done
  done
  if [ "$H2_SIZE" -le "$MAX_CONNS" ]; then
    for p in nodeward haproxy nginx; do idle "$p" "$H2_SIZE" many h2; done
  fi
  for p in nodeward haproxy nginx; do rate "$p"; done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RUN/meta.txt"
python3 "$ROOT/bench/scale/summary.py" "$RUN"
