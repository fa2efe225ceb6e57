--[[
  counter-add for several counter keys in one call: the same work as counter-add-2, once per key,
  to save the per-call cost of a script when a batch touches hundreds of keys. Only for a single
  Redis (on a Cluster the keys live in different slots, so the store calls counter-add-2 per key).
  The number of keys varies, so it is given at call time (EVALSHA sha numkeys …).

  KEYS[2i-1]  hash    buckets of key i (see counter-add-2)
  KEYS[2i]    string  alert marker of key i
  ARGV[1]     integer m: number of counter keys (= #KEYS / 2)
  ARGV[2…]    per key i, in order: its 8 + 4n values laid out as counter-add-2's ARGV with the
              replay pair (now_ms, window_ms, bucket_ms, threshold, lateness_ms, n, 4 values per
              update, seq_field, batch_seq)

  Returns: an array of m replies, each exactly what counter-add-2 returns for that key
           (an integer error code in place of a reply whose arguments were bad).
]]

--@include counter-add-core

local m = tonumber(ARGV[1])
if not m or #KEYS ~= 2 * m then return -1 end
local replies = {}
local offset = 1
for i = 1, m do
  local n = tonumber(ARGV[offset + 6])
  if not n then return -1 end
  local size = 8 + 4 * n
  local args = {}
  for j = 1, size do args[j] = ARGV[offset + j] end
  replies[i] = counterAdd(KEYS[2 * i - 1], KEYS[2 * i], args)
  offset = offset + size
end
if offset ~= #ARGV then return -1 end
return replies
