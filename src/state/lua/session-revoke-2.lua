--[[
  Revokes every session of one user or one IP address (an operator's or an alert's decision),
  auditing each as session.revoked.

  KEYS[1]  zset    expiry index
  KEYS[2]  stream  audit stream
  ARGV[1]  string  base (`P{A}:`)
  ARGV[2]  integer audit_max_len
  ARGV[3]  string  mode: 'user' | 'ip'
  ARGV[4]  string  the user (ASCII-case-insensitive) or the IP (source or tunnel)
  ARGV[5]  integer now_ms: time recorded in the audit entries
  ARGV[6]  string  reason
  ARGV[7]  string  actor: who revoked (operator, rule name)

  Returns: { session, … }, each as its flat field/value list.
  Errors (integer reply): -1 bad argument, -3 unknown mode.
]]
--@include session-common

local nowMs = tonumber(ARGV[5])
if not nowMs or not tonumber(ARGV[2]) or ARGV[4] == '' then return -1 end
local ctx = newContext(ARGV[1], KEYS[1], KEYS[2], ARGV[2], 0, nowMs)

local sessions
if ARGV[3] == 'user' then
  sessions = sessionsByUser(ctx, ARGV[4])
elseif ARGV[3] == 'ip' then
  sessions = sessionsByIp(ctx, ARGV[4])
else
  return -3
end

local revoked = {}
for _, s in ipairs(sessions) do
  deleteSession(ctx, s)
  audit(ctx, 'session.revoked', ARGV[6], nowMs, s, { 'fortistream.actor', ARGV[7] })
  revoked[#revoked + 1] = s._flat
end
return revoked
