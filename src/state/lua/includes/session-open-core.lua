-- The body of session-open for one session, shared by session-open-2 (one change per call) and
-- session-apply-2 (a batch's changes in one call). `a` holds session-open-2's ARGV[5…17] as
-- a[1…13]: id, user, groups, ip, tunnel_ip, device, vdom, method, event_time_ms, timeout_type,
-- timeout_s, opened_by, external_id. See session-open-2 for the contract and the reply; an
-- integer reply is an error code (-1 bad argument, -2 bad timeout type).
--@include session-common

local function openSession(ctx, a)
  local eventTimeMs = tonumber(a[9])
  local timeoutS = tonumber(a[11])
  if not eventTimeMs or not timeoutS or timeoutS < 1 or a[1] == '' or a[1] == nil then return -1 end
  local timeoutType = a[10]
  if timeoutType ~= 'idle' and timeoutType ~= 'hard' then return -2 end
  local nowMs = ctx.nowMs
  local id = a[1]
  local device, method, ip, tunnelIp, externalId = a[6], a[8], a[4], a[5], a[13]

  local existingExpiry = redis.call('HGET', sessionKey(ctx, id), STORED.expires_ms)
  if existingExpiry then return { 'duplicate', id, existingExpiry } end

  local expiresMs = eventTimeMs + timeoutS * 1000
  if expiresMs <= nowMs then return { 'expired', id, int(expiresMs) } end

  -- The session this one supersedes (at most one: each open replaces the one it supersedes).
  -- With an external id: the session holding the same (device, method, external id); without:
  -- the session of the same (device, method, key address) that has no external id.
  local victims = {}
  local indexKey, indexField
  if externalId ~= '' then
    indexKey, indexField = extKey(ctx, device), extField(method, externalId)
  else
    local keyIp = tunnelIp ~= '' and tunnelIp or ip
    if keyIp ~= '' then indexKey, indexField = addrKey(ctx, device), addrField(method, keyIp) end
  end
  if indexKey then
    local otherId = redis.call('HGET', indexKey, indexField)
    if otherId then
      local other = loadSession(ctx, otherId)
      if other then
        victims[1] = other
      elseif externalId == '' then
        -- Lost (the safety TTL removed the hash because no sweep ran): drop the dangling entry.
        redis.call('HDEL', indexKey, indexField)
      end
    end
  end
  -- Out-of-order delivery: an older login never replaces a newer session.
  for _, other in ipairs(victims) do
    if tonumber(other.created_ms) > eventTimeMs then return { 'stale', id, other.expires_ms, other.id } end
  end

  local flat = { 'id', id, 'user', a[2] }
  local stored = { STORED.user, a[2] }
  local function put(field, value)
    if value ~= '' then
      flat[#flat + 1] = field
      flat[#flat + 1] = value
      stored[#stored + 1] = STORED[field]
      stored[#stored + 1] = value
    end
  end
  put('groups', a[3])
  put('ip', ip)
  put('tunnel_ip', tunnelIp)
  put('device', device)
  put('vdom', a[7])
  put('method', method)
  local eventTimeText = intText(a[9], eventTimeMs)
  put('created_ms', eventTimeText)
  put('last_seen_ms', eventTimeText)
  put('expires_ms', int(expiresMs))
  put('timeout_type', timeoutType)
  put('timeout_s', intText(a[11], timeoutS))
  put('opened_by', a[12])
  put('external_id', externalId)
  local s = { _flat = flat }
  for i = 1, #flat, 2 do s[flat[i]] = flat[i + 1] end

  -- The superseded session leaves its index entries to this one (deleteSession's successor), so
  -- entries both share (same address, same user) are rewritten once.
  local result = { #victims > 0 and 'replaced' or 'opened', id, int(expiresMs) }
  for _, other in ipairs(victims) do
    deleteSession(ctx, other, s)
    audit(ctx, 'session.closed', 'replaced', eventTimeText, other, { 'session.replaced_by', id })
    result[#result + 1] = other.id
  end

  redis.call('HSET', sessionKey(ctx, id), unpack(stored))
  indexSession(ctx, s, #victims > 0)
  applySafetyTtl(ctx, s, expiresMs)
  audit(ctx, 'session.opened', result[1], eventTimeText, s)
  return result
end
