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
  address (tunnel IP if any, else source IP) is the same and that has no external id.

  Returns: { status, id, expires_ms, replaced id … } where status is
    'opened'    created, nothing replaced
    'replaced'  created, the listed sessions were closed (audited as session.closed / replaced)
    'duplicate' a session with this id exists already (replayed event): nothing changed
    'stale'     a superseded session is newer than this event: nothing changed
    'expired'   expires_ms ≤ now_ms: the session would be dead on arrival, nothing changed
  Errors (integer reply): -1 bad argument, -2 bad timeout type.
]]
--@include session-common

local nowMs = tonumber(ARGV[2])
local graceMs = tonumber(ARGV[3])
local eventTimeMs = tonumber(ARGV[13])
local timeoutS = tonumber(ARGV[15])
if not nowMs or not graceMs or not tonumber(ARGV[4]) or not eventTimeMs or not timeoutS or timeoutS < 1
  or ARGV[5] == '' then
  return -1
end
local timeoutType = ARGV[14]
if timeoutType ~= 'idle' and timeoutType ~= 'hard' then return -2 end

local ctx = newContext(ARGV[1], KEYS[1], KEYS[2], ARGV[4], graceMs, nowMs)
local id = ARGV[5]
local device, method, ip, tunnelIp, externalId = ARGV[10], ARGV[12], ARGV[8], ARGV[9], ARGV[17]

local existingExpiry = redis.call('HGET', sessionKey(ctx, id), STORED.expires_ms)
if existingExpiry then return { 'duplicate', id, existingExpiry } end

local expiresMs = eventTimeMs + timeoutS * 1000
if expiresMs <= nowMs then return { 'expired', id, int(expiresMs) } end

-- The sessions this one supersedes.
local victims = {}
if externalId ~= '' then
  local otherId = redis.call('HGET', extKey(ctx, device), extField(method, externalId))
  if otherId then
    local other = loadSession(ctx, otherId)
    if other then victims[#victims + 1] = other end
  end
else
  local keyIp = tunnelIp ~= '' and tunnelIp or ip
  if keyIp ~= '' then
    for _, other in ipairs(sessionsByIp(ctx, keyIp)) do
      local otherKeyIp = present(other.tunnel_ip) and other.tunnel_ip or other.ip
      if other.device == device and other.method == method and otherKeyIp == keyIp
        and not present(other.external_id) then
        victims[#victims + 1] = other
      end
    end
  end
end
-- Out-of-order delivery: an older login never replaces a newer session.
for _, other in ipairs(victims) do
  if tonumber(other.created_ms) > eventTimeMs then return { 'stale', id, other.expires_ms, other.id } end
end

local result = { #victims > 0 and 'replaced' or 'opened', id, int(expiresMs) }
for _, other in ipairs(victims) do
  deleteSession(ctx, other)
  audit(ctx, 'session.closed', 'replaced', eventTimeMs, other, { 'session.replaced_by', id })
  result[#result + 1] = other.id
end

local flat = { 'user', ARGV[6] }
local function put(field, value)
  if value ~= '' then
    flat[#flat + 1] = field
    flat[#flat + 1] = value
  end
end
put('groups', ARGV[7])
put('ip', ip)
put('tunnel_ip', tunnelIp)
put('device', device)
put('vdom', ARGV[11])
put('method', method)
put('created_ms', int(eventTimeMs))
put('last_seen_ms', int(eventTimeMs))
put('expires_ms', int(expiresMs))
put('timeout_type', timeoutType)
put('timeout_s', int(timeoutS))
put('opened_by', ARGV[16])
put('external_id', externalId)

local stored = {}
for i = 1, #flat, 2 do
  stored[i] = STORED[flat[i]]
  stored[i + 1] = flat[i + 1]
end
redis.call('HSET', sessionKey(ctx, id), unpack(stored))
table.insert(flat, 1, id)
table.insert(flat, 1, 'id')
local s = { _flat = flat }
for i = 1, #flat, 2 do s[flat[i]] = flat[i + 1] end
indexSession(ctx, s)
applySafetyTtl(ctx, s, expiresMs)
audit(ctx, 'session.opened', result[1], eventTimeMs, s)
return result
