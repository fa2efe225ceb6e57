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
--@include session-close-core

if not tonumber(ARGV[7]) or not tonumber(ARGV[2]) then return -1 end
local ctx = newContext(ARGV[1], KEYS[1], KEYS[2], ARGV[2], 0, tonumber(ARGV[7]))
return closeSessions(ctx, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
