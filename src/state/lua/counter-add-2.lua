--[[
  Adds increments to one sliding-window counter key and checks its threshold.

  The window is bucketed: a bucket starting at b (a multiple of bucket_ms) holds the events with
  b ≤ time < b + bucket_ms. With cb = the bucket of now_ms, the current window is the buckets
  cb − window_ms < b ≤ cb (window_ms / bucket_ms buckets), so sums are exact to the bucket.

  KEYS[1]  hash    buckets: 'c:<b>' sum, 'f:<b>' first event ms, 'l:<b>' last event ms
  KEYS[2]  string  alert marker: the bucket start at which the last alert fired
  ARGV[1]  integer now_ms: event-time high-water mark (raised to the newest last_ms given)
  ARGV[2]  integer window_ms: a positive multiple of bucket_ms
  ARGV[3]  integer bucket_ms
  ARGV[4]  integer threshold: alert when the window sum reaches it; 0 = no threshold
  ARGV[5]  integer lateness_ms: how far before the window a bucket may still be applied
  ARGV[6]  integer n: number of updates that follow
  ARGV[7…] per update, 4 values: bucket_start_ms, increment (integer), first_ms, last_ms
           (the caller has already combined the updates of one bucket)

  Late: an update whose bucket starts at or before cb − window_ms − lateness_ms is not applied.
  Buckets are kept for window + lateness (so a tolerated late update can still complete a
  window ending at its own time); older ones are deleted on every call.

  Threshold: evaluated on the window ending at the newest bucket applied in this call (ref; the
  current window in the normal, in-order case). It fires when that sum ≥ threshold and no alert
  fired within the previous window (marker absent or ref ≥ marker + window_ms), then records
  the marker with PX window + lateness + bucket (the comparison uses event time, the PX only
  collects the key).

  Redis TTL: the bucket hash gets PX window + lateness + bucket, so an idle key disappears.

  Without a threshold no window sum is needed: the fast path touches only the buckets given
  (HINCRBY, HMGET of their first/last) and reads the whole hash to drop old buckets only when it
  holds more fields than the retained range can (HLEN is O(1)). sum_now is then 0. Most traffic
  counters (denies per source, bytes per user) have no threshold: this keeps them cheap.

  Returns: { sum_now, alert, alert_value, alert_first_ms, alert_last_ms, alert_window_start_ms,
             alert_window_end_ms, late_bucket_start … } — alert is 1 or 0 (then the alert_*
           values are 0); the window is [start, end) in ms; the late bucket starts let the
           caller count late events.
  Errors (integer reply): -1 bad argument, -4 window not a positive multiple of the bucket.
]]
local function int(value)
  return string.format('%.0f', value)
end

local nowMs = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local bucketMs = tonumber(ARGV[3])
local threshold = tonumber(ARGV[4])
local latenessMs = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
if not nowMs or not windowMs or not bucketMs or not threshold or not latenessMs or not n
  or bucketMs < 1 or latenessMs < 0 or #ARGV ~= 6 + 4 * n then
  return -1
end
if windowMs < bucketMs or windowMs % bucketMs ~= 0 then return -4 end

for i = 0, n - 1 do
  local lastMs = tonumber(ARGV[7 + 4 * i + 3])
  if not lastMs then return -1 end
  if lastMs > nowMs then nowMs = lastMs end
end

local bucketsKey, alertKey = KEYS[1], KEYS[2]
local currentBucket = math.floor(nowMs / bucketMs) * bucketMs
local keepAfter = currentBucket - windowMs - latenessMs

if threshold == 0 then
  local result = { 0, 0, 0, 0, 0, 0, 0 }
  local applied = false
  for i = 0, n - 1 do
    local base = 7 + 4 * i
    local bucket = tonumber(ARGV[base])
    local increment = tonumber(ARGV[base + 1])
    local firstMs = tonumber(ARGV[base + 2])
    local lastMs = tonumber(ARGV[base + 3])
    if not bucket or not increment or not firstMs then return -1 end
    if bucket <= keepAfter then
      result[#result + 1] = bucket
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
  if applied then redis.call('PEXPIRE', bucketsKey, int(windowMs + latenessMs + bucketMs)) end
  return result
end

-- Read the key once, drop the buckets that fell out of the retained range, then write every
-- changed field with one HSET (a handful of commands per call, whatever the number of updates).
local sums, firsts, lasts = {}, {}, {}
local stale = {}
local flat = redis.call('HGETALL', bucketsKey)
for i = 1, #flat, 2 do
  local field = flat[i]
  local kind = string.sub(field, 1, 1)
  local bucket = tonumber(string.sub(field, 3))
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
if #stale > 0 then redis.call('HDEL', bucketsKey, unpack(stale)) end

local result = { 0, 0, 0, 0, 0, 0, 0 }
local ref = nil
local writes = {}
for i = 0, n - 1 do
  local base = 7 + 4 * i
  local bucket = tonumber(ARGV[base])
  local increment = tonumber(ARGV[base + 1])
  local firstMs = tonumber(ARGV[base + 2])
  local lastMs = tonumber(ARGV[base + 3])
  if not bucket or not increment or not firstMs then return -1 end
  if bucket <= keepAfter then
    result[#result + 1] = bucket
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
if #writes > 0 then redis.call('HSET', bucketsKey, unpack(writes)) end

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

result[1] = windowSum(currentBucket)

if ref and threshold > 0 then
  local value, first, last = windowSum(ref)
  if value >= threshold then
    local marker = tonumber(redis.call('GET', alertKey))
    if not marker or ref >= marker + windowMs then
      redis.call('SET', alertKey, int(ref), 'PX', int(windowMs + latenessMs + bucketMs))
      result[2] = 1
      result[3] = value
      result[4] = first
      result[5] = last
      result[6] = ref + bucketMs - windowMs
      result[7] = ref + bucketMs
    end
  end
end

if ref then redis.call('PEXPIRE', bucketsKey, int(windowMs + latenessMs + bucketMs)) end
return result
