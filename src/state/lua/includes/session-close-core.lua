-- The body of session-close for one closing event, shared by session-close-2 and session-apply-2.
-- Arguments as session-close-2's ARGV[3…8]; see that script for the contract and the reply; an
-- integer reply is an error code (-1 bad argument, -3 unknown mode).
--@include session-common

local function closeSessions(ctx, mode, a4, a5, a6, eventTimeText, reason)
  local eventTimeMs = tonumber(eventTimeText)
  if not eventTimeMs then return -1 end
  local candidates = {}
  if mode == 'id' then
    local s = loadSession(ctx, a4)
    if s then candidates[1] = s end
  elseif mode == 'ip' then
    candidates = sessionsByIpWhere(ctx, a4, function(method, device)
      return (a5 == '' or method == a5) and (a6 == '' or device == a6)
    end)
  elseif mode == 'ext' then
    local id = redis.call('HGET', extKey(ctx, a4), extField(a5, a6))
    if id then
      local s = loadSession(ctx, id)
      if s then candidates[1] = s end
    end
  else
    return -3
  end

  local closed = {}
  for _, s in ipairs(candidates) do
    if tonumber(s.created_ms) <= eventTimeMs then
      deleteSession(ctx, s)
      audit(ctx, 'session.closed', reason, eventTimeMs, s)
      closed[#closed + 1] = s._flat
    end
  end
  return closed
end
