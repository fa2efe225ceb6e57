-- The body of counter-add for one counter key, shared by counter-add-2 (one key: Redis Cluster)
-- and counter-add-many (several keys in one call: one Redis). `args` has the layout of
-- counter-add-2's ARGV; see that script's header for the contract and the return value.

local function int(value)
  return string.format('%.0f', value)
end

-- The reply: { sum_now, #alerts, #late, late bucket starts…, alert texts… } (see counter-add-2).
local function reply(sumNow, late, alerts)
  local out = { sumNow, #alerts, #late }
  for i = 1, #late do out[#out + 1] = late[i] end
  for i = 1, #alerts do out[#out + 1] = alerts[i] end
  return out
end

-- The i-th update (0-based): bucket_start_ms, increment, first_ms, last_ms; nil when one is not a number.
local function readUpdate(args, i)
  local base = 7 + 4 * i
  local bucket = tonumber(args[base])
  local increment = tonumber(args[base + 1])
  local firstMs = tonumber(args[base + 2])
  local lastMs = tonumber(args[base + 3])
  if not bucket or not increment or not firstMs or not lastMs then return nil end
  return bucket, increment, firstMs, lastMs
end

local function counterAdd(bucketsKey, alertKey, args)
  local nowMs = tonumber(args[1])
  local windowMs = tonumber(args[2])
  local bucketMs = tonumber(args[3])
  local threshold = tonumber(args[4])
  local latenessMs = tonumber(args[5])
  local n = tonumber(args[6])
  if not nowMs or not windowMs or not bucketMs or not threshold or not latenessMs or not n
    or bucketMs < 1 or latenessMs < 0 or (#args ~= 6 + 4 * n and #args ~= 8 + 4 * n) then
    return -1
  end
  if windowMs < bucketMs or windowMs % bucketMs ~= 0 then return -4 end

  -- Replays: the writer's last applied batch sequence lives in the hash itself (field seqField);
  -- a batch at or below it was applied already (a retry after a lost reply, a spool replay).
  local seqField, seq = '', nil
  if #args == 8 + 4 * n then
    seqField = args[7 + 4 * n]
    seq = tonumber(args[8 + 4 * n])
    if seqField ~= '' then
      if not seq then return -1 end
      -- (With a threshold the field comes with the HGETALL below, and so do pending alerts.)
      if threshold == 0 then
        local applied = tonumber(redis.call('HGET', bucketsKey, seqField))
        if applied and seq <= applied then return reply(-1, {}, {}) end
      end
    end
  end

  for i = 0, n - 1 do
    local lastMs = tonumber(args[7 + 4 * i + 3])
    if not lastMs then return -1 end
    if lastMs > nowMs then nowMs = lastMs end
  end

  local currentBucket = math.floor(nowMs / bucketMs) * bucketMs
  local keepAfter = currentBucket - windowMs - latenessMs

  if threshold == 0 then
    local late = {}
    local applied = false
    for i = 0, n - 1 do
      local bucket, increment, firstMs, lastMs = readUpdate(args, i)
      if not bucket then return -1 end
      if bucket <= keepAfter then
        late[#late + 1] = bucket
      else
        local b = int(bucket)
        redis.call('HINCRBY', bucketsKey, 'c:' .. b, increment)
        local seen = redis.call('HMGET', bucketsKey, 'f:' .. b, 'l:' .. b)
        local f, l = tonumber(seen[1]), tonumber(seen[2])
        if not f or firstMs < f then redis.call('HSET', bucketsKey, 'f:' .. b, int(firstMs)) end
        if not l or lastMs > l then redis.call('HSET', bucketsKey, 'l:' .. b, int(lastMs)) end
        applied = true
      end
    end
    local retainedFields = 3 * ((windowMs + latenessMs) / bucketMs + 1)
    if redis.call('HLEN', bucketsKey) > retainedFields then
      local flat = redis.call('HGETALL', bucketsKey)
      local stale = {}
      for i = 1, #flat, 2 do
        local bucket = tonumber(string.sub(flat[i], 3))
        if bucket and bucket <= keepAfter then stale[#stale + 1] = flat[i] end
      end
      if #stale > 0 then redis.call('HDEL', bucketsKey, unpack(stale)) end
    end
    if applied then
      if seqField ~= '' then redis.call('HSET', bucketsKey, seqField, args[8 + 4 * n]) end
      redis.call('PEXPIRE', bucketsKey, int(windowMs + latenessMs + bucketMs))
    end
    return reply(0, late, {})
  end

  -- Read the key once, drop the buckets that fell out of the retained range, then write every
  -- changed field with one HSET (a handful of commands per call, whatever the number of updates).
  -- Pending alerts ('a:<window end>' = their text) are those not yet confirmed written to the alerts
  -- stream (the caller deletes the field once it is, see counters.ts ackAlerts): every call returns
  -- them again, so an alert whose XADD was lost comes back with the batch's retry or replay.
  local sums, firsts, lasts = {}, {}, {}
  local stale = {}
  local pending = {}
  local appliedSeq = nil
  local flat = redis.call('HGETALL', bucketsKey)
  for i = 1, #flat, 2 do
    local field = flat[i]
    local kind = string.sub(field, 1, 1)
    local bucket = nil
    if kind == 'a' then
      pending[#pending + 1] = flat[i + 1]
    elseif field == seqField then
      appliedSeq = tonumber(flat[i + 1])
    else
      bucket = tonumber(string.sub(field, 3))
    end
    if bucket then
      if bucket <= keepAfter then
        stale[#stale + 1] = field
      elseif kind == 'c' then
        sums[bucket] = tonumber(flat[i + 1])
      elseif kind == 'f' then
        firsts[bucket] = tonumber(flat[i + 1])
      elseif kind == 'l' then
        lasts[bucket] = tonumber(flat[i + 1])
      end
    end
  end
  if seqField ~= '' and appliedSeq and seq <= appliedSeq then return reply(-1, {}, pending) end
  if #stale > 0 then redis.call('HDEL', bucketsKey, unpack(stale)) end

  local late = {}
  local ref = nil
  local writes = {}
  for i = 0, n - 1 do
    local bucket, increment, firstMs, lastMs = readUpdate(args, i)
    if not bucket then return -1 end
    if bucket <= keepAfter then
      late[#late + 1] = bucket
    else
      local b = int(bucket)
      sums[bucket] = (sums[bucket] or 0) + increment
      if not firsts[bucket] or firstMs < firsts[bucket] then firsts[bucket] = firstMs end
      if not lasts[bucket] or lastMs > lasts[bucket] then lasts[bucket] = lastMs end
      writes[#writes + 1] = 'c:' .. b
      writes[#writes + 1] = int(sums[bucket])
      writes[#writes + 1] = 'f:' .. b
      writes[#writes + 1] = int(firsts[bucket])
      writes[#writes + 1] = 'l:' .. b
      writes[#writes + 1] = int(lasts[bucket])
      if not ref or bucket > ref then ref = bucket end
    end
  end
  if #writes > 0 then
    if seqField ~= '' then
      writes[#writes + 1] = seqField
      writes[#writes + 1] = args[8 + 4 * n]
    end
    redis.call('HSET', bucketsKey, unpack(writes))
  end

  local function windowSum(endBucket)
    local sum, first, last = 0, nil, nil
    for bucket, value in pairs(sums) do
      if bucket > endBucket - windowMs and bucket <= endBucket then
        sum = sum + value
        local f, l = firsts[bucket], lasts[bucket]
        if f and (not first or f < first) then first = f end
        if l and (not last or l > last) then last = l end
      end
    end
    return sum, first or 0, last or 0
  end

  local sumNow = windowSum(currentBucket)

  if ref and threshold > 0 then
    local value, first, last = windowSum(ref)
    if value >= threshold then
      local marker = tonumber(redis.call('GET', alertKey))
      if not marker or ref >= marker + windowMs then
        redis.call('SET', alertKey, int(ref), 'PX', int(windowMs + latenessMs + bucketMs))
        local windowEnd = int(ref + bucketMs)
        local text = int(value) .. ' ' .. int(first) .. ' ' .. int(last) .. ' ' .. int(ref + bucketMs - windowMs) .. ' ' .. windowEnd
        redis.call('HSET', bucketsKey, 'a:' .. windowEnd, text)
        pending[#pending + 1] = text
      end
    end
  end

  if ref then redis.call('PEXPIRE', bucketsKey, int(windowMs + latenessMs + bucketMs)) end
  return reply(sumNow, late, pending)
end
