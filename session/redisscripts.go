package session

import "github.com/redis/go-redis/v9"

// The Lua scripts of the Redis store. Each runs atomically in Redis, names every key it
// touches in KEYS, and touches only the keys of one session, which share a hash tag: they
// run unchanged on Redis Cluster. KEYS are keyspace.all's order: session, refresh state,
// lock, tokens. A session's refresh state is a hash: g (generation, bumped by every stored
// refresh), o (lock token of the replica whose refresh is in flight, "" when none), t (when
// that refresh began, Unix ms).

// scriptBounded is the Lua helper that reads a string key without returning more than max
// bytes: a foreign type or an oversize value becomes a marker, never the value (a 50 MB value
// planted under our key must not be read whole). Sealed values are base64url, so no marker
// can be mistaken for one.
const scriptBounded = `
local function bounded(k, max)
  local t = redis.call('TYPE', k).ok
  if t == 'none' then return '' end
  if t ~= 'string' then return '!foreign' end
  if redis.call('STRLEN', k) > max then return '!oversize' end
  return redis.call('GET', k)
end
`

// readSessionScript returns the sealed session, bounded. KEYS: session. ARGV: max bytes.
var readSessionScript = redis.NewScript(scriptBounded + `return bounded(KEYS[1], tonumber(ARGV[1]))`)

// readScript returns, in one consistent snapshot, {sealed session, sealed token of the
// scope, generation, owner, began}. KEYS: session, refresh, lock, tokens. ARGV: token field,
// max bytes.
var readScript = redis.NewScript(scriptBounded + `
local max = tonumber(ARGV[2])
local sess = bounded(KEYS[1], max)
local tok = ''
local tt = redis.call('TYPE', KEYS[4]).ok
if tt == 'hash' then
  if redis.call('HSTRLEN', KEYS[4], ARGV[1]) > max then tok = '!oversize'
  else tok = redis.call('HGET', KEYS[4], ARGV[1]) or '' end
elseif tt ~= 'none' then tok = '!foreign' end
local rt = redis.call('TYPE', KEYS[2]).ok
if rt == 'none' then return {sess, tok, '0', '', '0'} end
if rt ~= 'hash' then return {sess, tok, '!foreign', '', '0'} end
local st = redis.call('HMGET', KEYS[2], 'g', 'o', 't')
return {sess, tok, st[1] or '0', st[2] or '', st[3] or '0'}
`)

// lockScript takes the refresh lock and records the flight, only if the generation is still
// the one the caller read and no other refresh is in flight. A flight whose owner let its
// lock lapse (it died, or stalled) longer than abandonMs ago may have spent the refresh
// token: with reuse detection nobody may spend it again, so the session ends; without, this
// flight takes over. KEYS: all. ARGV: lock token, generation, now (ms), lock TTL (ms),
// abandonMs, "end" or "takeover". Returns ok, busy, moved, pending, ended.
var lockScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'ended' end
local st = redis.call('HMGET', KEYS[2], 'g', 'o', 't')
if (st[1] or '0') ~= ARGV[2] then return 'moved' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'busy' end
if st[2] and st[2] ~= '' then
  if tonumber(ARGV[3]) - tonumber(st[3] or '0') < tonumber(ARGV[5]) then return 'pending' end
  if ARGV[6] == 'end' then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
    return 'ended'
  end
end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[4])
redis.call('HSET', KEYS[2], 'g', ARGV[2], 'o', ARGV[1], 't', ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 'ok'
`)

// commitScript stores a refresh result: the session (with the new refresh token) and the
// access token together, fenced on the flight (owner and generation), whether or not the
// lock is still held, and bumps the generation. KEYS: all. ARGV: lock token, generation,
// sealed session, token field, sealed token. Returns ok, fenced, ended.
var commitScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'ended' end
local st = redis.call('HMGET', KEYS[2], 'g', 'o')
if (st[1] or '0') ~= ARGV[2] or st[2] ~= ARGV[1] then return 'fenced' end
redis.call('SET', KEYS[1], ARGV[3], 'XX', 'KEEPTTL')
redis.call('HSET', KEYS[2], 'g', tostring(tonumber(ARGV[2]) + 1), 'o', '', 't', '0')
redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[4], ttl)
end
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 'ok'
`)

// abortScript ends a flight whose refresh token was certainly not spent (the provider
// answered an error, or the request never left): the next flight may present it. KEYS:
// all. ARGV: lock token, generation.
var abortScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[2], 'g', 'o')
if (st[1] or '0') == ARGV[2] and st[2] == ARGV[1] then redis.call('HSET', KEYS[2], 'o', '', 't', '0') end
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 'ok'
`)

// endScript ends the session of a flight whose refresh token the provider refused
// (invalid_grant): every replica's next read finds it gone, and none presents the dead
// token again. KEYS: all. ARGV: lock token, generation.
var endScript = redis.NewScript(`
local st = redis.call('HMGET', KEYS[2], 'g', 'o')
if (st[1] or '0') ~= ARGV[2] or st[2] ~= ARGV[1] then return 'fenced' end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 'ok'
`)

// releaseScript only releases the lock: the flight stays recorded (its refresh token may
// have been spent). KEYS: lock. ARGV: lock token.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// renewScript extends the lock while its refresh is in flight. KEYS: lock. ARGV: lock token,
// lock TTL (ms). Returns 1 while the lock is still ours.
var renewScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)
