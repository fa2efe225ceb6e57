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
    base..'addr:'..device    hash  method|key address → session id, for sessions without an
                                   external id (key address: tunnel IP if any, else source IP).
                                   session-open finds the session a login supersedes with one
                                   HGET instead of reading every session listed under the address.
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
local AUDIT_NAME = { id = 'session.id' }
for long, short in pairs(STORED) do
  LONG[short] = long
  AUDIT_NAME[long] = 'session.' .. long
end

-- ttlNeeded: index key → the longest safety TTL (ms) a change of this call asked for. The TTLs
-- are applied once, at the end of the call (flushSafetyTtls), so a call with many changes asks
-- PTTL of each shared index key once instead of once per change; a key that a removal emptied
-- (and deleted) and a later change recreated still gets its TTL, since the flush comes last.
local function newContext(base, expiryKey, auditKey, auditMaxLen, graceMs, nowMs)
  return {
    base = base, expiryKey = expiryKey, auditKey = auditKey,
    auditMaxLen = auditMaxLen, graceMs = graceMs, nowMs = nowMs,
    ipIndexKey = base .. 'ip', userIndexKey = base .. 'user',
    ttlNeeded = {},
  }
end

local function sessionKey(ctx, id) return ctx.base .. 'session:' .. id end
local function deviceKey(ctx, device) return ctx.base .. 'device:' .. device end
local function extKey(ctx, device) return ctx.base .. 'ext:' .. device end
local function extField(method, externalId) return method .. '|' .. externalId end
local function addrKey(ctx, device) return ctx.base .. 'addr:' .. device end
local function addrField(method, keyIp) return method .. '|' .. keyIp end

-- Integers as decimal text: Redis would turn a Lua number such as 1.7e12 into exponent notation.
local function int(value)
  return string.format('%.0f', value)
end

-- The decimal text of an integer argument: the argument itself when it is already canonical
-- (what the TypeScript side sends), which saves formatting a number back into the same text.
local function intText(text, value)
  if string.find(text, '^[1-9]%d*$') and #text < 16 then return text end
  return int(value)
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

-- The address a session is found by when it has no external id (tunnel IP if any, else source
-- IP); nil when it has an external id or no address.
local function addressKeyIp(s)
  if present(s.external_id) then return nil end
  if present(s.tunnel_ip) then return s.tunnel_ip end
  if present(s.ip) then return s.ip end
  return nil
end

local function needTtl(ctx, key, ttlMs)
  local known = ctx.ttlNeeded[key]
  if not known or known < ttlMs then ctx.ttlNeeded[key] = ttlMs end
end

-- Shared index hashes (ip, user, device, ext, addr) above this many entries are converted from
-- listpack to hashtable encoding. Redis keeps a hash as a listpack up to hash-max-listpack-entries
-- (512 by default), and every HGET / HSET on a listpack scans it: ~2.5 µs per access at 500
-- entries against ~0.3 µs in a hashtable (measured), and an open touches these hashes ~10 times.
-- Small hashes stay compact listpacks. Redis never converts a hashtable back, so writing a field
-- longer than hash-max-listpack-value (64 by default) and deleting it again converts the key for
-- good, without leaving anything readers could see.
local HASHTABLE_AT_ENTRIES = 128
local CONVERTING_FIELD = string.rep('~', 200)

-- Every script that calls applySafetyTtl calls this once before returning: it applies the
-- safety TTLs asked for and converts the index hashes that grew past HASHTABLE_AT_ENTRIES.
local function flushSafetyTtls(ctx)
  for key, ttlMs in pairs(ctx.ttlNeeded) do
    if redis.call('PTTL', key) < ttlMs then redis.call('PEXPIRE', key, ttlMs) end
    if key ~= ctx.expiryKey and redis.call('HLEN', key) > HASHTABLE_AT_ENTRIES
      and redis.call('OBJECT', 'ENCODING', key) == 'listpack' then
      redis.call('HSET', key, CONVERTING_FIELD, '')
      redis.call('HDEL', key, CONVERTING_FIELD)
    end
  end
  ctx.ttlNeeded = {}
end

local function applySafetyTtl(ctx, s, expiresMs)
  local ttl = safetyTtlMs(ctx, expiresMs)
  redis.call('PEXPIRE', sessionKey(ctx, s.id), ttl)
  for _, entry in ipairs(listEntries(ctx, s)) do needTtl(ctx, entry[1], ttl) end
  if present(s.device) then needTtl(ctx, deviceKey(ctx, s.device), ttl) end
  if present(s.external_id) then needTtl(ctx, extKey(ctx, s.device), ttl) end
  if addressKeyIp(s) then needTtl(ctx, addrKey(ctx, s.device or ''), ttl) end
  needTtl(ctx, ctx.expiryKey, ttl)
end

-- `text` (a space-separated id list, or nil) without `id` and with `add` appended (either may be
-- nil); nil when nothing is left. String search instead of splitting the list into a table: the
-- lists of a busy user hold tens of ids and this runs on every login. Ids never contain spaces
-- and are never listed twice, so the result is what splitting and re-joining would give.
local function listEdit(text, id, add)
  if text and id then
    if text == id then
      text = nil
    else
      local n = #id
      if string.sub(text, 1, n + 1) == id .. ' ' then
        text = string.sub(text, n + 2)
      elseif string.sub(text, -(n + 1)) == ' ' .. id then
        text = string.sub(text, 1, -(n + 2))
      else
        local at = string.find(text, ' ' .. id .. ' ', 1, true)
        if at then text = string.sub(text, 1, at) .. string.sub(text, at + n + 2) end
      end
    end
  end
  if add then text = text and (text .. ' ' .. add) or add end
  return text
end

-- Takes `removed`'s id out of, and adds `added`'s id to, the ip and user index entries that list
-- them (either may be nil), with one HGET and one write per entry: a login that replaces a
-- session from the same address and user rewrites each entry once, not twice. An id is removed
-- before the other is appended, as separate remove and add calls would.
local function editLists(ctx, removed, added)
  local old = removed and listEntries(ctx, removed) or {}
  local new = added and listEntries(ctx, added) or {}
  local oldId, newId = removed and removed.id, added and added.id
  local done = {}
  for _, entry in ipairs(old) do
    local key, field = entry[1], entry[2]
    local add = nil
    for j, other in ipairs(new) do
      if other[1] == key and other[2] == field then
        add = newId
        done[j] = true
      end
    end
    local text = redis.call('HGET', key, field)
    local edited = listEdit(text, oldId, add)
    if edited then
      if edited ~= text then redis.call('HSET', key, field, edited) end
    elseif text then
      redis.call('HDEL', key, field)
    end
  end
  for j, entry in ipairs(new) do
    if not done[j] then
      local text = redis.call('HGET', entry[1], entry[2])
      redis.call('HSET', entry[1], entry[2], listEdit(text, nil, newId))
    end
  end
end

-- The ext and addr index entries of a session: { key, field } pairs (at most one of each).
local function ownedEntries(ctx, s)
  local entries = {}
  if present(s.external_id) then
    entries[#entries + 1] = { extKey(ctx, s.device), extField(s.method, s.external_id) }
  end
  local keyIp = addressKeyIp(s)
  if keyIp then entries[#entries + 1] = { addrKey(ctx, s.device or ''), addrField(s.method or '', keyIp) } end
  return entries
end

-- Removes `s` from every index. `successor`: the session about to be indexed in its place (or
-- nil); the list entries they share are rewritten once, and an ext / addr entry the successor
-- takes over is left for its HSET to overwrite.
local function unindexSession(ctx, s, successor)
  editLists(ctx, s, successor)
  if present(s.device) then redis.call('HDEL', deviceKey(ctx, s.device), s.id) end
  local taken = {}
  if successor then
    for _, entry in ipairs(ownedEntries(ctx, successor)) do taken[entry[1] .. '\0' .. entry[2]] = true end
  end
  for _, entry in ipairs(ownedEntries(ctx, s)) do
    -- Only when the entry still names this session: a newer session may own it now.
    if not taken[entry[1] .. '\0' .. entry[2]] and redis.call('HGET', entry[1], entry[2]) == s.id then
      redis.call('HDEL', entry[1], entry[2])
    end
  end
  redis.call('ZREM', ctx.expiryKey, s.id)
end

-- Adds `s` to every index; its ip and user list entries only when `listsDone` is false (an
-- unindexSession with `s` as successor has already added them).
local function indexSession(ctx, s, listsDone)
  if not listsDone then editLists(ctx, nil, s) end
  if present(s.device) then redis.call('HSET', deviceKey(ctx, s.device), s.id, '') end
  for _, entry in ipairs(ownedEntries(ctx, s)) do redis.call('HSET', entry[1], entry[2], s.id) end
  redis.call('ZADD', ctx.expiryKey, s.expires_ms, s.id)
end

local function deleteSession(ctx, s, successor)
  unindexSession(ctx, s, successor)
  redis.call('DEL', sessionKey(ctx, s.id))
end

-- One audit entry: event.action, event.reason, event.time_ms, extra pairs, then session.<field>.
-- timeMs: a number, or its decimal text already made.
local function audit(ctx, action, reason, timeMs, s, extra)
  local args = { ctx.auditKey, 'MAXLEN', '~', ctx.auditMaxLen, '*',
    'event.action', action, 'event.reason', reason, 'event.time_ms',
    type(timeMs) == 'string' and timeMs or int(timeMs) }
  if extra then
    for i = 1, #extra do args[#args + 1] = extra[i] end
  end
  local flat = s._flat
  local n = #args
  for i = 1, #flat, 2 do
    local name = flat[i]
    args[n + i] = AUDIT_NAME[name] or ('session.' .. name)
    args[n + i + 1] = flat[i + 1]
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

-- The live sessions listed under an IP that pass `keep(method, device)`. Only those are read in
-- full: the others cost one HMGET of two fields instead of an HGETALL. Lost ids are dropped from
-- the entry on the way, as in loadListedSessions.
local function sessionsByIpWhere(ctx, ip, keep)
  local sessions = {}
  for _, id in ipairs(listedIds(ctx.ipIndexKey, ip)) do
    local seen = redis.call('HMGET', sessionKey(ctx, id), STORED.method, STORED.device)
    if seen[1] or seen[2] then
      if keep(seen[1] or '', seen[2] or '') then
        local s = loadSession(ctx, id)
        if s then sessions[#sessions + 1] = s end
      end
    elseif redis.call('EXISTS', sessionKey(ctx, id)) == 0 then
      listRemove(ctx.ipIndexKey, ip, id)
    elseif keep('', '') then
      local s = loadSession(ctx, id)
      if s then sessions[#sessions + 1] = s end
    end
  end
  return sessions
end
