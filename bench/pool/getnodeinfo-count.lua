-- wrk script for the failover scenario of bench/pool.sh: the same request as
-- ../shared/bench/lua/getnodeinfo.lua (POST / {"command":"getNodeInfo"},
-- Content-Type: application/json, X-IOTA-API-Version: 1), plus a response()
-- hook that counts every answer whose status is not 200 (wrk's own "non2xx"
-- only counts statuses > 399). Prints one "ANCHOR ..." line at the end with
-- the fields of getnodeinfo.lua plus s200= and snon200=.
wrk.method = "POST"
wrk.path   = "/"
wrk.body   = '{"command":"getNodeInfo"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-IOTA-API-Version"] = "1"

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  s200, snon200 = 0, 0
end

function response(status, headers, body)
  if status == 200 then s200 = s200 + 1 else snon200 = snon200 + 1 end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("s200"); bad = bad + t:get("snon200")
  end
  local e = summary.errors
  io.write(string.format(
    "ANCHOR reqs=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d s200=%d snon200=%d\n",
    summary.requests, summary.duration,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout, ok, bad))
end
