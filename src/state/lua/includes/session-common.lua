--[[
  Shared helpers of the session scripts (inlined by the loader at `--@include session-common`).

  Key builders mirror src/state/keys.ts: every identity key starts with `base` = `P{A}:`
  (prefix, then the audit stream name as hash tag), so all of them and the audit stream share
  one slot. `string.lower` in Redis is ASCII-only, as is `normalizeUserForIndex` in TypeScript.

  Indices (memory matters: ≤ 1 KB per session, and a Redis key costs ~100 bytes before its data):
    base..'ip'               hash  ip → space-separated session ids (source and tunnel IPs)
    base..'user'             hash  lower(user) → space-separated session ids
    base..'device:'..device  hash  session id → ''   (one FortiGate can have many sessions)
    base..'ext:'..device     hash  method|external id → session id
    base..'expiry'           zset  session id scored by expires_ms
  Session ids never contain spaces (the TypeScript side checks explicit ids).

  A session is a hash base..'session:'..id (the id is in the key name, not repeated) with the
  fields user, groups, ip, tunnel_ip, device, vdom, method, created_ms, last_seen_ms, expires_ms,
  timeout_type, timeout_s, opened_by, external_id (optional fields left out when empty). In Redis
  the fields have the short names of STORED (a listpack repeats every name in every session, and
  the long names alone cost ~80 bytes); scripts, replies and audit entries use the long names.
  src/state/session-model.ts holds the same table.
]]
local STORED = {
  user = 'usr', groups = 'grp', ip = 'ip', tunnel_ip = 'tip', device = 'dev', vdom = 'vd',
  method = 'm', created_ms = 'c', last_seen_ms = 'ls', expires_ms = 'exp', timeout_type = 'tt',
  timeout_s = 'to', opened_by = 'by', external_id = 'xid',
}
local LONG = {}
for long, short in pairs(STORED) do LONG[short] = long end

local function newContext(base, expiryKey, auditKey, auditMaxLen, graceMs, nowMs)
  return {
    base = base, expiryKey = expiryKey, auditKey = auditKey,
    auditMaxLen = auditMaxLen, graceMs = graceMs, nowMs = nowMs,
    ipIndexKey = base .. 'ip', userIndexKey = base .. 'user',
  }
end

local function sessionKey(ctx, id) return ctx.base .. 'session:' .. id end
local function deviceKey(ctx, device) return ctx.base .. 'device:' .. device end
local function extKey(ctx, device) return ctx.base .. 'ext:' .. device end
local function extField(method, externalId) return method .. '|' .. externalId end

-- Integers as decimal text: Redis would turn a Lua number such as 1.7e12 into exponent notation.
local function int(value)
  return string.format('%.0f', value)
end

local function present(value)
  return value ~= nil and value ~= false and value ~= ''
end

-- Ids listed under one field of the ip or user index.
local function listedIds(indexKey, field)
  local ids = {}
  local text = redis.call('HGET', indexKey, field)
  if text then
    for id in string.gmatch(text, '%S+') do ids[#ids + 1] = id end
  end
  return ids
end

-- Only called for a session being created (its id is new), so the id is never listed yet.
local function listAdd(indexKey, field, id)
  local ids = redis.call('HGET', indexKey, field)
  redis.call('HSET', indexKey, field, ids and (ids .. ' ' .. id) or id)
end

local function listRemove(indexKey, field, id)
  local keep = {}
  for _, existing in ipairs(listedIds(indexKey, field)) do
    if existing ~= id then keep[#keep + 1] = existing end
  end
  if #keep == 0 then
    redis.call('HDEL', indexKey, field)
  else
    redis.call('HSET', indexKey, field, table.concat(keep, ' '))
  end
end

-- The session as a table of fields (plus `id`), with `_flat` = { 'id', id, field, value, … };
-- nil when missing.
local function loadSession(ctx, id)
  local stored = redis.call('HGETALL', sessionKey(ctx, id))
  if #stored == 0 then return nil end
  local flat = { 'id', id }
  local s = { id = id, _flat = flat }
  for i = 1, #stored, 2 do
    local name = LONG[stored[i]] or stored[i]
    s[name] = stored[i + 1]
    flat[#flat + 1] = name
    flat[#flat + 1] = stored[i + 1]
  end
  return s
end

-- The (index key, field) pairs of the ip and user indices that list a session.
local function listEntries(ctx, s)
  local entries = {}
  if present(s.ip) then entries[#entries + 1] = { ctx.ipIndexKey, s.ip } end
  if present(s.tunnel_ip) and s.tunnel_ip ~= s.ip then entries[#entries + 1] = { ctx.ipIndexKey, s.tunnel_ip } end
  if present(s.user) then entries[#entries + 1] = { ctx.userIndexKey, string.lower(s.user) } end
  return entries
end

-- Redis TTL is only a safety net for when no sweep runs (the sweep is authoritative and audited):
-- the hash lives until expiry + grace, and each index key at least as long as its longest entry.
local function safetyTtlMs(ctx, expiresMs)
  local remaining = expiresMs - ctx.nowMs
  if remaining < 0 then remaining = 0 end
  return remaining + ctx.graceMs
end

local function extendTtl(key, ttlMs)
  if redis.call('PTTL', key) < ttlMs then redis.call('PEXPIRE', key, ttlMs) end
end

local function applySafetyTtl(ctx, s, expiresMs)
  local ttl = safetyTtlMs(ctx, expiresMs)
  redis.call('PEXPIRE', sessionKey(ctx, s.id), ttl)
  for _, entry in ipairs(listEntries(ctx, s)) do extendTtl(entry[1], ttl) end
  if present(s.device) then extendTtl(deviceKey(ctx, s.device), ttl) end
  if present(s.external_id) then extendTtl(extKey(ctx, s.device), ttl) end
  extendTtl(ctx.expiryKey, ttl)
end

local function indexSession(ctx, s)
  for _, entry in ipairs(listEntries(ctx, s)) do listAdd(entry[1], entry[2], s.id) end
  if present(s.device) then redis.call('HSET', deviceKey(ctx, s.device), s.id, '') end
  if present(s.external_id) then
    redis.call('HSET', extKey(ctx, s.device), extField(s.method, s.external_id), s.id)
  end
  redis.call('ZADD', ctx.expiryKey, s.expires_ms, s.id)
end

local function unindexSession(ctx, s)
  for _, entry in ipairs(listEntries(ctx, s)) do listRemove(entry[1], entry[2], s.id) end
  if present(s.device) then redis.call('HDEL', deviceKey(ctx, s.device), s.id) end
  if present(s.external_id) then
    local key = extKey(ctx, s.device)
    local field = extField(s.method, s.external_id)
    -- Only when the entry still names this session: a newer session may own the external id now.
    if redis.call('HGET', key, field) == s.id then redis.call('HDEL', key, field) end
  end
  redis.call('ZREM', ctx.expiryKey, s.id)
end

local function deleteSession(ctx, s)
  unindexSession(ctx, s)
  redis.call('DEL', sessionKey(ctx, s.id))
end

-- One audit entry: event.action, event.reason, event.time_ms, extra pairs, then session.<field>.
local function audit(ctx, action, reason, timeMs, s, extra)
  local args = { ctx.auditKey, 'MAXLEN', '~', ctx.auditMaxLen, '*',
    'event.action', action, 'event.reason', reason, 'event.time_ms', int(timeMs) }
  if extra then
    for i = 1, #extra do args[#args + 1] = extra[i] end
  end
  local flat = s._flat
  for i = 1, #flat, 2 do
    args[#args + 1] = 'session.' .. flat[i]
    args[#args + 1] = flat[i + 1]
  end
  redis.call('XADD', unpack(args))
end

-- The live sessions listed under one ip or user (ASCII-lowercased) entry. Ids whose session hash
-- is gone (only possible after the safety TTL fired because no sweep ran for `grace`) are
-- dropped from the entry on the way.
local function loadListedSessions(ctx, indexKey, field)
  local sessions = {}
  for _, id in ipairs(listedIds(indexKey, field)) do
    local s = loadSession(ctx, id)
    if s then
      sessions[#sessions + 1] = s
    else
      listRemove(indexKey, field, id)
    end
  end
  return sessions
end

local function sessionsByIp(ctx, ip) return loadListedSessions(ctx, ctx.ipIndexKey, ip) end
local function sessionsByUser(ctx, user) return loadListedSessions(ctx, ctx.userIndexKey, string.lower(user)) end
