--[[
  Closes sessions on a logout / logoff / tunnel-down event (or by id, from the CLI), removing
  them from every index and auditing each as session.closed.

  KEYS[1]  zset    expiry index
  KEYS[2]  stream  audit stream
  ARGV[1]  string  base (`P{A}:`)
  ARGV[2]  integer audit_max_len
  ARGV[3]  string  mode: 'id' | 'ip' | 'ext'
  ARGV[4]  string  mode 'id': session id; 'ip': source or tunnel IP; 'ext': device
  ARGV[5]  string  mode 'ip': method ('' = any); 'ext': method; 'id': unused
  ARGV[6]  string  mode 'ip': device ('' = any); 'ext': external id; 'id': unused
  ARGV[7]  integer event_time_ms: time of the closing event; sessions created after it are kept
           (a late logout never ends the newer session that replaced the one it meant)
  ARGV[8]  string  reason, e.g. 'logout', 'tunnel-down', 'FSSO-logoff'

  Returns: { session, … }, each session as its flat field/value list (empty when none matched).
  Errors (integer reply): -1 bad argument, -3 unknown mode.
]]
--@include session-common

local eventTimeMs = tonumber(ARGV[7])
if not eventTimeMs or not tonumber(ARGV[2]) then return -1 end
local ctx = newContext(ARGV[1], KEYS[1], KEYS[2], ARGV[2], 0, eventTimeMs)
local mode = ARGV[3]

local candidates = {}
if mode == 'id' then
  local s = loadSession(ctx, ARGV[4])
  if s then candidates[1] = s end
elseif mode == 'ip' then
  for _, s in ipairs(sessionsByIp(ctx, ARGV[4])) do
    if (ARGV[5] == '' or s.method == ARGV[5]) and (ARGV[6] == '' or s.device == ARGV[6]) then
      candidates[#candidates + 1] = s
    end
  end
elseif mode == 'ext' then
  local id = redis.call('HGET', extKey(ctx, ARGV[4]), extField(ARGV[5], ARGV[6]))
  if id then
    local s = loadSession(ctx, id)
    if s then candidates[1] = s end
  end
else
  return -3
end

local closed = {}
for _, s in ipairs(candidates) do
  if tonumber(s.created_ms) <= eventTimeMs then
    deleteSession(ctx, s)
    audit(ctx, 'session.closed', ARGV[8], eventTimeMs, s)
    closed[#closed + 1] = s._flat
  end
end
return closed
