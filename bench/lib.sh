# Shared helpers of the bench/ scripts that start their own processes
# (sourced, not run). The caller sets RUN (the run's directory) before
# start_bg, and fills PORT[name] before wait_listen.
#
#   find_port_block BASE COUNT   -> sets BASE to the first of COUNT free loopback ports
#   start_bg NAME CMD...         -> CMD in the background, output in $RUN/NAME.{out,err}
#   wait_listen NAME             -> waits until PORT[NAME] answers (10 s), or stops the run
#   ticks PID...                 -> utime+stime of those processes, in clock ticks
#   ticks_tree PID               -> the same for PID and its children (nginx's workers)
#   render TEXT KEY=VAL...       -> TEXT with every @KEY@ replaced
#   anchor_line FILE             -> the fields of wrk's ANCHOR line in FILE
# Every process started with start_bg is stopped on exit (TERM, then KILL
# after 5 s); nothing else is touched.

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

find_port_block() {  # find_port_block FIRST COUNT
  local first=$1 count=$2 attempt b o busy
  BASE=""
  for attempt in $(seq 0 19); do
    b=$((first + attempt * 100)); busy=""
    for o in $(seq 0 $((count - 1))); do port_in_use $((b + o)) && busy="$busy $((b + o))"; done
    if [ -z "$busy" ]; then BASE=$b; return 0; fi
    echo "port block $b busy (in use:$busy), trying $((b + 100))" >&2
  done
  echo "no free block of $count ports found" >&2
  exit 2
}

declare -A PID_OF=()
ALL_PIDS=()
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ "$s" != Z* ]]; }
cleanup() {
  local pid n
  trap - EXIT INT TERM
  for pid in "${ALL_PIDS[@]}"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${ALL_PIDS[@]}"; do
    for n in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && { echo "force-killing $pid" >&2; kill -KILL "$pid" 2>/dev/null || true; }
  done
  wait 2>/dev/null || true
  [ ${#ALL_PIDS[@]} -gt 0 ] && echo "stopped the processes this run started (${ALL_PIDS[*]})" >&2
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_bg() {  # start_bg NAME CMD...   (CMD stays in the foreground; output appended)
  local name=$1; shift
  "$@" >>"$RUN/$name.out" 2>>"$RUN/$name.err" &
  PID_OF[$name]=$!
  ALL_PIDS+=("$!")
  echo "$! $name $*" >>"$RUN/started.pids"
}

wait_listen() {  # wait_listen NAME
  local name=$1 i
  for i in $(seq 1 100); do
    alive "${PID_OF[$name]}" || { echo "$name died:" >&2; cat "$RUN/$name.out" "$RUN/$name.err" >&2; exit 3; }
    port_in_use "${PORT[$name]}" && return 0
    sleep 0.1
  done
  echo "$name did not listen on ${PORT[$name]} within 10 s" >&2; exit 3
}

CLK_TCK=$(getconf CLK_TCK)
ticks() {  # ticks PID... -> utime+stime of those processes (all threads), in clock ticks
  local p t=0 v
  for p in "$@"; do
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
ticks_tree() {  # ticks_tree PID -> ticks of PID and its direct children
  # shellcheck disable=SC2046
  ticks "$1" $(ps -o pid= --ppid "$1" 2>/dev/null)
}

render() {  # render TEMPLATE_TEXT KEY=VAL...  -> stdout
  local content=$1 kv; shift
  for kv in "$@"; do content=${content//@${kv%%=*}@/${kv#*=}}; done
  printf '%s\n' "$content"
}

anchor_line() {  # anchor_line FILE -> the fields of wrk's ANCHOR line
  local line; line=$(grep '^ANCHOR ' "$1" | tail -1)
  [ -n "$line" ] || { echo "no ANCHOR line in $1:" >&2; cat "$1" >&2; exit 5; }
  echo "${line#ANCHOR }"
}
