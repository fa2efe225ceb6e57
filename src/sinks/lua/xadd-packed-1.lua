--[[
  Same as xadd-batch-1.lua, but the batch arrives as one MessagePack blob instead of many arguments.

  KEYS[1]  string   the stream key
  ARGV[1]  integer  max_len: approximate cap, applied to every XADD as `MAXLEN ~ max_len`
  ARGV[2]  binary   MessagePack array with one array of strings per entry: [[name1, value1, …], …]

  Returns: integer, the number of entries added.
]]
local key = KEYS[1]
local maxLen = ARGV[1]
local entries = cmsgpack.unpack(ARGV[2])
local count = #entries
for i = 1, count do
  redis.call('XADD', key, 'MAXLEN', '~', maxLen, '*', unpack(entries[i]))
end
return count
