--[[
  Appends a batch of entries to one stream in one call, capping the stream approximately.

  KEYS[1]  string   the stream key
  ARGV[1]  integer  max_len: approximate cap, applied to every XADD as `MAXLEN ~ max_len`
  ARGV[2]  integer  n_events: number of entries that follow
  ARGV[3…] per entry: n_strings (integer, names + values, so twice the field count),
           then name1, value1, name2, value2, …

  Returns: integer, the number of entries added.
  Errors:  `ERR fortistream bad batch …` when ARGV does not add up (a bug in the caller);
           entries before the bad one are already added.
  The entry IDs are `*` (server time). No clock is read by the script itself.
]]
local key = KEYS[1]
local maxLen = ARGV[1]
local count = tonumber(ARGV[2])
local argc = #ARGV
-- One argument table reused for every XADD: avoids a table per entry.
local args = { key, 'MAXLEN', '~', maxLen, '*' }
local pos = 3
for _ = 1, count do
  local n = tonumber(ARGV[pos])
  if n == nil or n < 2 or n % 2 ~= 0 or pos + n > argc then
    return redis.error_reply('ERR fortistream bad batch at argument ' .. pos)
  end
  for j = 1, n do
    args[5 + j] = ARGV[pos + j]
  end
  redis.call('XADD', unpack(args, 1, 5 + n))
  pos = pos + n + 1
end
if pos ~= argc + 1 then
  return redis.error_reply('ERR fortistream bad batch: ' .. (argc + 1 - pos) .. ' arguments left over')
end
return count
