//! The one script run on Redis: a token bucket per (rule, key) that charges
//! an instance's debt and hands out a batch of tokens, atomically, on the
//! server's clock (a skewed instance clock changes nothing).

/// KEYS[1]: the bucket. ARGV: limit, period in ms, debt, wanted tokens.
/// Returns {granted, ms until one more token is available when short}.
///
/// The bucket holds up to `limit` tokens and refills `limit` per `period`
/// (the local limiter's burst and rate). Debt (requests an instance admitted
/// on credit) is charged first and may take the level below zero, so it is
/// paid back out of later refills; tokens are granted only from a positive
/// level. The key expires once it would be full again.
const LUA: &str = r"
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local debt = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'l', 't')
local level = tonumber(v[1])
local last = tonumber(v[2])
if level == nil or last == nil then
  level = limit
  last = now
end
if now > last then
  level = math.min(limit, level + (now - last) * limit / period)
  last = now
end
level = level - debt
local grant = 0
if level >= 1 then
  grant = math.min(want, math.floor(level))
end
level = level - grant
redis.call('HSET', KEYS[1], 'l', tostring(level), 't', tostring(last))
redis.call('PEXPIRE', KEYS[1], math.ceil((limit - level) * period / limit) + 1000)
local wait = 0
if grant < want then
  wait = math.ceil((1 - level) * period / limit)
end
return {grant, wait}
";

/// The script (run with EVALSHA; loaded with SCRIPT LOAD on connect).
pub(crate) fn script() -> redis::Script {
    redis::Script::new(LUA)
}
