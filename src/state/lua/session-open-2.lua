--[[
  Opens one identity session, replacing the session it supersedes, and audits both changes.

  KEYS[1]  zset    expiry index (session id scored by expires_ms)
  KEYS[2]  stream  audit stream
  ARGV[1]  string  base: common start of every identity key (`P{A}:`)
  ARGV[2]  integer now_ms: event-time high-water mark
  ARGV[3]  integer grace_ms: Redis TTL safety margin beyond expires_ms
  ARGV[4]  integer audit_max_len: approximate cap of the audit stream
  ARGV[5]  string  id: session id (derived from the opening event, so a replay has the same id)
  ARGV[6]  string  user
  ARGV[7]  string  groups: JSON array text, '' for none
  ARGV[8]  string  ip: source IP ('' when unknown)
  ARGV[9]  string  tunnel_ip: assigned tunnel IP ('' for none)
  ARGV[10] string  device: observer serial or name
  ARGV[11] string  vdom ('' for none)
  ARGV[12] string  method: firewall | fsso | sslvpn | admin | ipsec | idp
  ARGV[13] integer event_time_ms: time of the opening event (becomes created_ms and last_seen_ms)
  ARGV[14] string  timeout_type: idle | hard
  ARGV[15] integer timeout_s: ≥ 1; expires_ms = event_time_ms + timeout_s * 1000
  ARGV[16] string  opened_by: the opening event (log id / event id)
  ARGV[17] string  external_id: e.g. admin `sn`, IdP session id ('' for none)

  Which session a new one supersedes: with an external id, the session holding the same
  (device, method, external id); without, every session of the same (device, method) whose key
  address (tunnel IP if any, else source IP) is the same and that has no external id. Both are
  found with one HGET (the ext and addr indices): since every open replaces what it supersedes,
  there is at most one.

  Returns: { status, id, expires_ms, replaced id … } where status is
    'opened'    created, nothing replaced
    'replaced'  created, the listed sessions were closed (audited as session.closed / replaced)
    'duplicate' a session with this id exists already (replayed event): nothing changed
    'stale'     a superseded session is newer than this event: nothing changed
    'expired'   expires_ms ≤ now_ms: the session would be dead on arrival, nothing changed
  Errors (integer reply): -1 bad argument, -2 bad timeout type.
]]
--@include session-open-core

local nowMs = tonumber(ARGV[2])
local graceMs = tonumber(ARGV[3])
if not nowMs or not graceMs or not tonumber(ARGV[4]) then return -1 end
local ctx = newContext(ARGV[1], KEYS[1], KEYS[2], ARGV[4], graceMs, nowMs)
local reply = openSession(ctx, { ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12],
  ARGV[13], ARGV[14], ARGV[15], ARGV[16], ARGV[17] })
flushSafetyTtls(ctx)
return reply
