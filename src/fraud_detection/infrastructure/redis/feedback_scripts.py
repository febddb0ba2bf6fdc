"""Lua run inside Redis, so each step on a transaction's record is atomic across every replica.

A transaction's record is a hash `<prefix>:tx:<id>`: v (model version), p (probability), d (decision
1/0), s (scored at, Unix seconds) and, once labelled, f (is fraud 1/0) and l (labelled at). Two sorted sets
index the labelled ids by labelling time and by scoring time; their members past the retention are trimmed
as labels arrive (the hashes themselves expire by TTL).
"""

# KEYS[1]: the scored-time index (untouched: a kept first scoring never moves in it);
# KEYS[2..]: records. ARGV[1]: TTL seconds; then per record: id, version,
# probability, decision, scored_at. The first scoring is kept (a re-score never replaces it); the TTL is
# refreshed either way.
RECORD_SCORED = """
local ttl = ARGV[1]
for i = 2, #KEYS do
  local base = (i - 2) * 5 + 1
  if redis.call('HEXISTS', KEYS[i], 's') == 0 then
    redis.call('HSET', KEYS[i], 'v', ARGV[base + 2], 'p', ARGV[base + 3], 'd', ARGV[base + 4],
      's', ARGV[base + 5])
  end
  redis.call('EXPIRE', KEYS[i], ttl)
end
return #KEYS - 1
"""

# KEYS: record, labelled-time index, scored-time index. ARGV: id, is_fraud (1/0), labelled_at, TTL seconds,
# retention cutoff (Unix seconds). Returns the outcome's name.
ADD_LABEL = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'unknown'
end
local current = redis.call('HGET', KEYS[1], 'f')
if current then
  if current == ARGV[2] then
    return 'duplicate'
  end
  return 'conflict'
end
redis.call('HSET', KEYS[1], 'f', ARGV[2], 'l', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 's'), ARGV[1])
for i = 2, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[5])
  redis.call('EXPIRE', KEYS[i], ARGV[4])
end
return 'new'
"""
