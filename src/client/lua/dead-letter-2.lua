--[[
  Moves one pending entry of a consumer group to a dead-letter stream and acknowledges it, in one
  step: nothing can claim, ack or dead-letter the entry between the checks and the move.

  KEYS[1]  string   the stream
  KEYS[2]  string   the dead-letter stream (must hash to the same Redis Cluster slot as KEYS[1]:
                    give both the same hash tag, e.g. `{events:ml}` and `{events:ml}:dead`)
  ARGV[1]  string   consumer group
  ARGV[2]  string   entry id
  ARGV[3]  string   consumer that must own the pending entry (the one that just claimed it)
  ARGV[4]  integer  max deliveries: the entry moves only if it was delivered at least this many
                    times before the current delivery (times_delivered - 1 >= ARGV[4])
  ARGV[5]  integer  approximate cap of the dead-letter stream (`MAXLEN ~`); 0 = no cap
  ARGV[6]  string   last handler error message ('' when unknown)

  The dead-letter entry holds the original fields (none when the entry was trimmed from the stream),
  then original_stream, original_id, deliveries (times_delivered - 1: deliveries before this one,
  which never reached a handler), consumer_group, error.

  Returns: the dead-letter entry id (string), or an integer when nothing moved:
    0  the entry is no longer pending for ARGV[3] (acked, or claimed by another consumer)
   -1  the entry has not reached the delivery limit
]]
local stream = KEYS[1]
local dead = KEYS[2]
local group = ARGV[1]
local id = ARGV[2]
local owner = ARGV[3]
local maxDeliveries = tonumber(ARGV[4])
local maxLen = tonumber(ARGV[5])

local pending = redis.call('XPENDING', stream, group, id, id, 1, owner)
local row = pending[1]
if row == nil then
  return 0
end
local deliveries = tonumber(row[4]) - 1
if deliveries < maxDeliveries then
  return -1
end

local args = { dead }
if maxLen > 0 then
  args[#args + 1] = 'MAXLEN'
  args[#args + 1] = '~'
  args[#args + 1] = maxLen
end
args[#args + 1] = '*'
local range = redis.call('XRANGE', stream, id, id)
local entry = range[1]
if entry ~= nil then
  local fields = entry[2]
  for i = 1, #fields do
    args[#args + 1] = fields[i]
  end
end
args[#args + 1] = 'original_stream'
args[#args + 1] = stream
args[#args + 1] = 'original_id'
args[#args + 1] = id
args[#args + 1] = 'deliveries'
args[#args + 1] = tostring(deliveries)
args[#args + 1] = 'consumer_group'
args[#args + 1] = group
args[#args + 1] = 'error'
args[#args + 1] = ARGV[6]

local deadId = redis.call('XADD', unpack(args))
redis.call('XACK', stream, group, id)
return deadId
