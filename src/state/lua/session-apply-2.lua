--[[
  Applies a batch's session changes (opens and closes) in order, in one call: the same work as one
  session-open-2 or session-close-2 call per change, without the per-call cost of a script
  (argument parsing, script setup) and with the PTTL of the shared index keys asked once per
  call. Every identity key shares one hash tag, so this works unchanged on a Redis Cluster.

  KEYS[1]  zset    expiry index
  KEYS[2]  stream  audit stream
  ARGV[1]  string  base: common start of every identity key (`P{A}:`)
  ARGV[2]  integer now_ms: expiry clock of the opens (see session-open-2)
  ARGV[3]  integer grace_ms: Redis TTL safety margin beyond expires_ms
  ARGV[4]  integer audit_max_len
  ARGV[5]  integer n: number of changes that follow
  ARGV[6…] per change, a kind then its values:
           'open'  then 13 values: session-open-2's ARGV[5…17] (id, user, groups, ip, tunnel_ip,
                   device, vdom, method, event_time_ms, timeout_type, timeout_s, opened_by,
                   external_id)
           'close' then 6 values: session-close-2's ARGV[3…8] (mode, selector ×3, event_time_ms,
                   reason)

  Returns: an array of n replies, each exactly what session-open-2 / session-close-2 returns for
           that change (an integer error code in place of a change whose arguments were bad;
           the other changes still apply, as they would as separate calls).
  Errors (integer reply): -1 bad argument (the batch itself is malformed: nothing applied).
]]
--@include session-open-core
--@include session-close-core

local nowMs = tonumber(ARGV[2])
local graceMs = tonumber(ARGV[3])
local n = tonumber(ARGV[5])
if not nowMs or not graceMs or not tonumber(ARGV[4]) or not n then return -1 end

-- Check the layout before changing anything.
local at = 6
for _ = 1, n do
  local kind = ARGV[at]
  if kind == 'open' then
    at = at + 14
  elseif kind == 'close' then
    at = at + 7
  else
    return -1
  end
end
if at ~= #ARGV + 1 then return -1 end

local ctx = newContext(ARGV[1], KEYS[1], KEYS[2], ARGV[4], graceMs, nowMs)
local replies = {}
at = 6
for i = 1, n do
  if ARGV[at] == 'open' then
    replies[i] = openSession(ctx, { ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5],
      ARGV[at + 6], ARGV[at + 7], ARGV[at + 8], ARGV[at + 9], ARGV[at + 10], ARGV[at + 11], ARGV[at + 12],
      ARGV[at + 13] })
    at = at + 14
  else
    replies[i] = closeSessions(ctx, ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6])
    at = at + 7
  end
end
flushSafetyTtls(ctx)
return replies
