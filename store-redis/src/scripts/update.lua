-- Saves a message's states and gives back the caller's lease on it; a message with nothing
-- pending leaves the queue.
-- ARGV: prefix, n, record, next due ('' when nothing is pending), holder
-- Returns 0 when the message is no longer queued.
local p, n = ARGV[1], ARGV[2]
local msg = p .. ':msg:' .. n
if redis.call('EXISTS', msg) == 0 then
  return 0
end
local lease = p .. ':lease:' .. n
if redis.call('GET', lease) == ARGV[5] then
  redis.call('DEL', lease)
end
if ARGV[4] == '' then
  redis.call('DEL', msg, p .. ':body:' .. n)
  redis.call('ZREM', p .. ':due', n)
  redis.call('ZREM', p .. ':all', n)
else
  redis.call('SET', msg, ARGV[3])
  redis.call('ZADD', p .. ':due', ARGV[4], n)
end
return 1
