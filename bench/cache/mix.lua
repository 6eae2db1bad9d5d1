-- wrk script for bench/cache.sh: a read-heavy JSON-RPC mix. 80 % of requests
-- are one of four cacheable calls (eth_blockNumber, eth_chainId, net_version,
-- eth_getBlockByNumber of a fixed block), 20 % an eth_getBalance of an address
-- never asked before (uncacheable for any cache). Argument 1: "fixed" (every
-- request has id 1: the best case for a cache keyed on the raw body) or
-- "counter" (ids count up per connection thread, as web3 clients do).
-- Prints one "ANCHOR ..." line at the end, like ../../../shared/bench/lua.
local cacheable = {
  '"method":"eth_blockNumber","params":[]',
  '"method":"eth_chainId","params":[]',
  '"method":"net_version","params":[]',
  '"method":"eth_getBlockByNumber","params":["0x10",false]',
}
local mode = "fixed"
local n = 0
local tid = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  mode = args[1] or "fixed"
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  tid = math.random(0, 2147483646)
end

request = function()
  n = n + 1
  local id = 1
  if mode == "counter" then id = n end
  local r = n % 10
  local call
  if r < 8 then
    call = cacheable[(r % 4) + 1]
  else
    call = string.format('"method":"eth_getBalance","params":["0x%08x%032x","latest"]', tid, n)
  end
  return wrk.format("POST", "/", headers, string.format('{"jsonrpc":"2.0","id":%d,%s}', id, call))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "ANCHOR reqs=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, summary.duration,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
