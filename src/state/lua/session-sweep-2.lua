--[[
  Expires the sessions that are due: every id in the expiry index scored ≤ now_ms, oldest first,
  at most `limit` per call. Each is removed with its index entries and audited as
  session.expired (event.reason = its timeout type, event.time_ms = its expires_ms).

  KEYS[1]  zset    expiry index
  KEYS[2]  stream  audit stream
  ARGV[1]  string  base (`P{A}:`)
  ARGV[2]  integer audit_max_len
  ARGV[3]  integer now_ms: event-time high-water mark (or wall clock, as the caller decides)
  ARGV[4]  integer limit: most sessions expired in this call (keeps the script short)

  Returns: { more, session, … } where more is 1 when `limit` was reached (call again), else 0,
  and each session is its flat field/value list. A session whose hash was already removed by the
  safety TTL (no sweep ran for `grace`) comes back as { 'id', id, 'lost', '1' } and is audited
  with event.reason 'lost'.
  Errors (integer reply): -1 bad argument.
]]
--@include session-common

local nowMs = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
if not nowMs or not limit or limit < 1 or not tonumber(ARGV[2]) then return -1 end
local ctx = newContext(ARGV[1], KEYS[1], KEYS[2], ARGV[2], 0, nowMs)

local due = redis.call('ZRANGEBYSCORE', ctx.expiryKey, '-inf', int(nowMs), 'LIMIT', 0, limit)
local result = { #due >= limit and 1 or 0 }
for _, id in ipairs(due) do
  local s = loadSession(ctx, id)
  if s then
    deleteSession(ctx, s)
    audit(ctx, 'session.expired', s.timeout_type or 'idle', tonumber(s.expires_ms), s)
    result[#result + 1] = s._flat
  else
    redis.call('ZREM', ctx.expiryKey, id)
    local lost = { _flat = { 'id', id, 'lost', '1' } }
    audit(ctx, 'session.expired', 'lost', nowMs, lost)
    result[#result + 1] = lost._flat
  end
end
return result
