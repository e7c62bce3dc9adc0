-- Queues a message a node hands over, once per origin: a hand-over repeated after a crash
-- finds the entry it made before.
-- ARGV: prefix, origin, record, body, created, next due ('' when nothing is pending),
--       how long the origin is remembered (seconds)
local p = ARGV[1]
local origin = p .. ':origin:' .. ARGV[2]
local known = redis.call('GET', origin)
if known then
  return tonumber(known)
end
local n = redis.call('INCR', p .. ':next-id')
redis.call('SET', p .. ':msg:' .. n, ARGV[3])
redis.call('SET', p .. ':body:' .. n, ARGV[4])
redis.call('ZADD', p .. ':all', ARGV[5], n)
if ARGV[6] ~= '' then
  redis.call('ZADD', p .. ':due', ARGV[6], n)
end
redis.call('SET', origin, n, 'EX', ARGV[7])
return n
