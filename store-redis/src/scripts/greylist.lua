-- Greylisting one message of a triplet. KEYS[1]: the triplet's key. ARGV: now, min_delay
-- and max_age in seconds. Returns 0 to let it through, else the seconds left to wait.
-- A triplet is forgotten max_age after its latest message that got through (or after it
-- was first seen, if none did).
local now, delay, age = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local seen = redis.call('HMGET', KEYS[1], 'first', 'passed')
local first = tonumber(seen[1])
if not first then
  redis.call('HSET', KEYS[1], 'first', now, 'passed', 0)
  redis.call('EXPIRE', KEYS[1], age)
  if delay > 0 then
    return delay
  end
  first = now
end
if seen[2] == '1' or now - first >= delay then
  redis.call('HSET', KEYS[1], 'passed', 1)
  redis.call('EXPIRE', KEYS[1], age)
  return 0
end
return delay - (now - first)
