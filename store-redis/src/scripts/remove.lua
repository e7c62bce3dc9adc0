-- Takes a message out of the queue, lease and all.
-- ARGV: prefix, n
-- Returns 1 when it was queued.
local p, n = ARGV[1], ARGV[2]
local existed = redis.call('DEL', p .. ':msg:' .. n)
redis.call('DEL', p .. ':body:' .. n, p .. ':lease:' .. n)
redis.call('ZREM', p .. ':due', n)
redis.call('ZREM', p .. ':all', n)
return existed
