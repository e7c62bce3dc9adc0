-- Leases the soonest due message nobody holds to the caller.
-- ARGV: prefix, now, holder, lease (milliseconds), how many due messages to look at
-- Returns {n, record}, or nil when every due message is held or none is due.
local p = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', p .. ':due', '-inf', ARGV[2], 'LIMIT', 0, ARGV[5])
for _, n in ipairs(due) do
  if redis.call('SET', p .. ':lease:' .. n, ARGV[3], 'NX', 'PX', ARGV[4]) then
    return {tonumber(n), redis.call('GET', p .. ':msg:' .. n)}
  end
end
return false
