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
  ARGV[5]  string  writer: its last applied sequence is field `seq:<writer>` of `<base>applied`;
                   '' = no replay check
  ARGV[6]  integer n: number of changes that follow
  ARGV[7…] per change, a kind, its sequence (integer, its event's frame's: runtime/sequence.ts; 0
           without a writer), then its values:
           'open'  then 13 values: session-open-2's ARGV[5…17] (id, user, groups, ip, tunnel_ip,
                   device, vdom, method, event_time_ms, timeout_type, timeout_s, opened_by,
                   external_id)
           'close' then 6 values: session-close-2's ARGV[3…8] (mode, selector ×3, event_time_ms,
                   reason)

  Replays: a change whose sequence is at or below the writer's last applied one was applied
  already (a batch sent again after a lost reply, or replayed from the spool): it changes nothing
  and writes no audit entry; its reply is { 'replayed', id, '0' } for an open, { } for a close.
  The caller never splits one event's changes over two calls (they share a sequence).

  Returns: an array of n replies, each exactly what session-open-2 / session-close-2 returns for
           that change (an integer error code in place of a change whose arguments were bad;
           the other changes still apply, as they would as separate calls).
  Errors (integer reply): -1 bad argument (the batch itself is malformed: nothing applied).
]]
--@include session-open-core
--@include session-close-core

local nowMs = tonumber(ARGV[2])
local graceMs = tonumber(ARGV[3])
local writer = ARGV[5]
local n = tonumber(ARGV[6])
if not nowMs or not graceMs or not tonumber(ARGV[4]) or not n then return -1 end

-- Check the layout before changing anything.
local at = 7
for _ = 1, n do
  local kind = ARGV[at]
  if not tonumber(ARGV[at + 1]) then return -1 end
  if kind == 'open' then
    at = at + 15
  elseif kind == 'close' then
    at = at + 8
  else
    return -1
  end
end
if at ~= #ARGV + 1 then return -1 end

local appliedKey = ARGV[1] .. 'applied'
local seqField = 'seq:' .. writer
local applied = -1
if writer ~= '' then applied = tonumber(redis.call('HGET', appliedKey, seqField)) or -1 end
local newest = applied

local ctx = newContext(ARGV[1], KEYS[1], KEYS[2], ARGV[4], graceMs, nowMs)
local replies = {}
at = 7
for i = 1, n do
  local seq = tonumber(ARGV[at + 1])
  local replayed = writer ~= '' and seq <= applied
  if seq > newest then newest = seq end
  if ARGV[at] == 'open' then
    if replayed then
      replies[i] = { 'replayed', ARGV[at + 2], '0' }
    else
      replies[i] = openSession(ctx, { ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6],
        ARGV[at + 7], ARGV[at + 8], ARGV[at + 9], ARGV[at + 10], ARGV[at + 11], ARGV[at + 12], ARGV[at + 13],
        ARGV[at + 14] })
    end
    at = at + 15
  else
    if replayed then
      replies[i] = {}
    else
      replies[i] = closeSessions(ctx, ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6], ARGV[at + 7])
    end
    at = at + 8
  end
end
if writer ~= '' and newest > applied then redis.call('HSET', appliedKey, seqField, string.format('%.0f', newest)) end
flushSafetyTtls(ctx)
return replies
