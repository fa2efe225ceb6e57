--[[
  Records activity from one IP address: moves last_seen_ms forward and, for idle-timeout
  sessions, pushes expires_ms to event_time_ms + timeout_s. Hard-timeout sessions keep their
  expiry. Sessions already past expiry are left to the sweep (FortiGate does not revive them).

  KEYS[1]  zset    expiry index
  KEYS[2]  stream  audit stream
  ARGV[1]  string  base (`P{A}:`)
  ARGV[2]  integer now_ms: event-time high-water mark
  ARGV[3]  integer grace_ms: Redis TTL safety margin beyond expires_ms
  ARGV[4]  integer audit_max_len
  ARGV[5]  integer audit_refresh: 1 to add a session.refreshed entry when the expiry moved, else 0
  ARGV[6]  string  ip: source or tunnel IP of the activity
  ARGV[7]  string  device filter ('' = sessions of any device)
  ARGV[8]  string  user filter, compared ASCII-case-insensitively ('' = any user)
  ARGV[9]  integer event_time_ms: time of the (latest) activity

  An older event never moves last_seen_ms or expires_ms backwards.
  Returns: { id, expires_ms, … } for each session whose last_seen_ms or expiry changed.
  Errors (integer reply): -1 bad argument.
]]
--@include session-common

local nowMs = tonumber(ARGV[2])
local graceMs = tonumber(ARGV[3])
local eventTimeMs = tonumber(ARGV[9])
if not nowMs or not graceMs or not tonumber(ARGV[4]) or not eventTimeMs or ARGV[6] == '' then return -1 end

local ctx = newContext(ARGV[1], KEYS[1], KEYS[2], ARGV[4], graceMs, nowMs)
local auditRefresh = ARGV[5] == '1'
local deviceFilter = ARGV[7]
local userFilter = string.lower(ARGV[8])

local result = {}
for _, s in ipairs(sessionsByIp(ctx, ARGV[6])) do
  local expiresMs = tonumber(s.expires_ms)
  if (deviceFilter == '' or s.device == deviceFilter)
    and (userFilter == '' or string.lower(s.user or '') == userFilter)
    and expiresMs > nowMs
    and eventTimeMs > tonumber(s.last_seen_ms) then
    local key = sessionKey(ctx, s.id)
    redis.call('HSET', key, STORED.last_seen_ms, int(eventTimeMs))
    local newExpiresMs = expiresMs
    if s.timeout_type == 'idle' then
      local candidate = eventTimeMs + tonumber(s.timeout_s) * 1000
      if candidate > expiresMs then newExpiresMs = candidate end
    end
    if newExpiresMs ~= expiresMs then
      redis.call('HSET', key, STORED.expires_ms, int(newExpiresMs))
      redis.call('ZADD', ctx.expiryKey, int(newExpiresMs), s.id)
      applySafetyTtl(ctx, s, newExpiresMs)
      if auditRefresh then
        audit(ctx, 'session.refreshed', 'activity', eventTimeMs, loadSession(ctx, s.id))
      end
    end
    result[#result + 1] = s.id
    result[#result + 1] = int(newExpiresMs)
  end
end
flushSafetyTtls(ctx)
return result
