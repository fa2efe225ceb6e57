--[[
  The writer lease of one stream: which worker may write it (one writer per stream, see
  runtime/writer-lease.ts). The lease is a string key holding the writer's token, with a TTL.

  KEYS[1]  string  the lease: `<stream>:writer`
  ARGV[1]  string  mode: 'take' (take or renew), 'steal' (take it from ARGV[4]), 'release'
  ARGV[2]  string  token: this writer's (host, pid, start time, random id)
  ARGV[3]  integer ttl_ms (take, steal)
  ARGV[4]  string  steal only: the token the lease must still hold to be taken over

  Returns: { 1, '' } when this writer holds the lease now (or, for release, no longer does);
           { 0, holder, pttl_ms } when another writer holds it.
  Errors (integer reply): -1 bad argument.
]]
local mode, token = ARGV[1], ARGV[2]
if token == nil or token == '' then return -1 end
local holder = redis.call('GET', KEYS[1])
if mode == 'release' then
  if holder == token then redis.call('DEL', KEYS[1]) end
  return { 1, '' }
end
local ttl = tonumber(ARGV[3])
if not ttl or ttl < 1 then return -1 end
if mode == 'take' then
  if holder and holder ~= token then return { 0, holder, redis.call('PTTL', KEYS[1]) } end
elseif mode == 'steal' then
  if holder and holder ~= token and holder ~= ARGV[4] then return { 0, holder, redis.call('PTTL', KEYS[1]) } end
else
  return -1
end
redis.call('SET', KEYS[1], token, 'PX', ttl)
return { 1, '' }
