/**
 * The Lua scripts of the Redis store. Each one is a single atomic step, so what one step does
 * (append a push to every session it reaches and tell their instances; attach a session and
 * tell its previous instance) is seen by every instance all at once or not at all, and the
 * pub/sub messages a step publishes leave in the order the steps ran: per session, in seq order.
 *
 * Keys, under the prefix P (one Redis primary; the `{sid}` hash tags keep a session's keys in
 * one slot for the day the store is sharded):
 *   P s:{sid}      hash: id (identity), next (seq of its next push), gen, owner (instance),
 *                  seen (last use, ms), acked, topics (JSON), bytes (log bytes), ep (epoch)
 *   P l:{sid}      stream: its push log, entry id `<seq>-1`, fields t (topic) and d (data JSON)
 *   P sessions     zset: every session by last use;  P u:<identity> the same per identity
 *   P t:<topic>    set: the sessions subscribed to it
 *   P a:<n>:<identity>:<id>   the remembered `res` of a request (or "\0" + claim while it runs)
 *   P ai:/as:/ab:<n>:<identity>   its answers by age, their sizes, their total bytes
 *   P r:<n>:<collection>:<id>   a record of the app's data: doc, rank, n, k (its index entry), s (its sums)
 *   P rz:/rt:<n>:<collection>   the collection's index (newest last) and totals ("\0count" and each sum); P rn the counter
 *   P meta         hash: epoch, clock (commits so far), seeded
 *   P i:<instance> the pub/sub channel of one instance: "D<header>\n<data>" deliveries, "R<sid> <gen>" takeovers
 * Sessions and their logs expire by TTL (refreshed by the instance they are attached to);
 * index entries of an expired session are dropped when next met.
 */

const PRELUDE = `
local P = ARGV[1]
local SESSIONS = P .. 'sessions'
local META = P .. 'meta'
local function skey(s) return P .. 's:{' .. s .. '}' end
local function lkey(s) return P .. 'l:{' .. s .. '}' end
local function ukey(identity) return P .. 'u:' .. identity end
local function tkey(topic) return P .. 't:' .. topic end
local function idkey(identity) return #identity .. ':' .. identity end
local function akey(identity, id) return P .. 'a:' .. idkey(identity) .. ':' .. id end
local function rkey(c, id) return P .. 'r:' .. idkey(c) .. ':' .. id end
local function remove_session(s)
  local h = skey(s)
  local f = redis.call('HMGET', h, 'id', 'topics')
  if f[2] then
    for _, t in ipairs(cjson.decode(f[2])) do redis.call('SREM', tkey(t), s) end
  end
  if f[1] then redis.call('ZREM', ukey(f[1]), s) end
  redis.call('ZREM', SESSIONS, s)
  redis.call('DEL', h, lkey(s))
end
local function touch(s, identity, now, ttl)
  local h = skey(s)
  redis.call('HSET', h, 'seen', now)
  redis.call('PEXPIRE', h, ttl)
  redis.call('PEXPIRE', lkey(s), ttl)
  redis.call('ZADD', SESSIONS, now, s)
  redis.call('ZADD', ukey(identity), now, s)
end
`

/**
 * ARGV: P, identity, sid ('' for none), ack, now, ttl, maxPerIdentity, maxSessions, newSid,
 * instance, liveWindowMs, newEpoch.
 * Returns {'resumed'|'new', sid, gen, lastSeq, topicsJson} or {'limit', message}.
 */
export const ATTACH = `${PRELUDE}
local identity, sid, ack, now, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local maxPer, maxAll, newSid, inst, liveWindow = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], ARGV[10], tonumber(ARGV[11])
local epoch = redis.call('HGET', META, 'epoch')
if not epoch then
  epoch = ARGV[12]
  redis.call('HSET', META, 'epoch', epoch)
end

if sid ~= '' then
  local h = skey(sid)
  local f = redis.call('HMGET', h, 'id', 'next', 'ep', 'gen', 'owner', 'topics', 'acked')
  if f[1] == identity then
    local lastSeq = tonumber(f[2]) - 1
    local gen = tonumber(f[4]) + 1
    local resumable = f[3] == epoch and ack <= lastSeq
    if resumable and ack < lastSeq then
      -- Every push after ack must still be in the log, and the log must end where the session says.
      local first = redis.call('XRANGE', lkey(sid), '-', '+', 'COUNT', 1)[1]
      local last = redis.call('XREVRANGE', lkey(sid), '+', '-', 'COUNT', 1)[1]
      resumable = first ~= nil and last ~= nil
        and tonumber(string.match(first[1], '^(%d+)')) <= ack + 1
        and tonumber(string.match(last[1], '^(%d+)')) == lastSeq
    end
    -- Its connection goes, wherever it is, whether or not the session can be resumed.
    if f[5] and f[5] ~= '' then redis.call('PUBLISH', P .. 'i:' .. f[5], 'R' .. sid .. ' ' .. gen) end
    if resumable then
      redis.call('HSET', h, 'gen', gen, 'owner', inst, 'acked', math.max(ack, tonumber(f[7]) or 0))
      touch(sid, identity, now, ttl)
      return {'resumed', sid, gen, lastSeq, f[6]}
    end
    remove_session(sid)
  end
end

-- Room for a new session: an idle one seen longest ago goes, or the hello is refused.
local function is_live(owner, seen)
  return owner and owner ~= '' and now - tonumber(seen) < liveWindow
end
local function evict_idle(zkey, scan)
  for _, s in ipairs(redis.call('ZRANGE', zkey, 0, scan - 1)) do
    local f = redis.call('HMGET', skey(s), 'owner', 'seen')
    if not f[2] then
      remove_session(s)
      redis.call('ZREM', zkey, s)
      return true
    end
    if not is_live(f[1], f[2]) then
      remove_session(s)
      return true
    end
  end
  return false
end
local uk = ukey(identity)
redis.call('ZREMRANGEBYSCORE', uk, '-inf', now - ttl)
local own = redis.call('ZCARD', uk)
if own >= maxPer and not evict_idle(uk, own) then
  return {'limit', 'identity ' .. identity .. ' already has ' .. own .. ' connected sessions'}
end
redis.call('ZREMRANGEBYSCORE', SESSIONS, '-inf', now - ttl)
local all = redis.call('ZCARD', SESSIONS)
if all >= maxAll and not evict_idle(SESSIONS, 1000) then
  return {'limit', 'the server holds ' .. all .. ' connected sessions'}
end
redis.call('HSET', skey(newSid), 'id', identity, 'next', 1, 'gen', 1, 'owner', inst, 'acked', 0, 'topics', '[]', 'bytes', 0, 'ep', epoch)
touch(newSid, identity, now, ttl)
return {'new', newSid, 1, 0, '[]'}
`

/**
 * ARGV: P, spec (JSON): { now, ttl, logLimit, logBytes, answerTtl, answeredLimit, answeredBytes,
 * answer?: { identity, id, claim, res }, writes: [{ c (collection), id, doc, rank, s: [name, value, …],
 * ifDoc? (text, or null: none) }], pushes: [{ k: 'all'|'user'|'topic', to?, topic, data? }] }.
 * Returns {'ok', clock, reached...}, {'conflict'}, {'answered', res} or {'claimed'}.
 */
export const COMMIT = `${PRELUDE}
local spec = cjson.decode(ARGV[2])
local now = spec.now
local a = spec.answer
if a then
  local v = redis.call('GET', akey(a.identity, a.id))
  if v then
    if string.byte(v, 1) ~= 0 then return {'answered', v} end
    if v ~= '\\0' .. a.claim then return {'claimed'} end
  end
end
for _, w in ipairs(spec.writes) do
  if w.ifDoc ~= nil then
    local cur = redis.call('HGET', rkey(w.c, w.id), 'doc')
    if w.ifDoc == cjson.null then
      if cur then return {'conflict'} end
    elseif cur ~= w.ifDoc then
      return {'conflict'}
    end
  end
end

for _, w in ipairs(spec.writes) do
  local key, totals = rkey(w.c, w.id), P .. 'rt:' .. idkey(w.c)
  local old = redis.call('HMGET', key, 'k', 'n', 's')
  local n
  if old[1] then
    redis.call('ZREM', P .. 'rz:' .. idkey(w.c), old[1])
    n = tonumber(old[2])
    local was = cjson.decode(old[3])
    for i = 1, #was, 2 do redis.call('HINCRBY', totals, was[i], -was[i + 1]) end
  else
    n = redis.call('INCR', P .. 'rn')
    redis.call('HINCRBY', totals, '\\0count', 1) -- COUNT_TOTAL of data-writes.ts
  end
  -- Newest last in byte order: rank, then insertion.
  local k = string.format('%016d:%012d:', w.rank, n) .. w.id
  redis.call('HSET', key, 'doc', w.doc, 'rank', w.rank, 'n', n, 'k', k, 's', cjson.encode(w.s))
  for i = 1, #w.s, 2 do redis.call('HINCRBY', totals, w.s[i], w.s[i + 1]) end
  redis.call('ZADD', P .. 'rz:' .. idkey(w.c), 0, k)
end

if a then
  local idk = idkey(a.identity)
  local zk, sk, total = P .. 'ai:' .. idk, P .. 'as:' .. idk, P .. 'ab:' .. idk
  -- Answers past their lifetime leave the budget (their keys expired by themselves).
  -- Scored by age in µs-sized steps, strictly rising per identity: the trim below drops the
  -- oldest first even for answers of the same millisecond. '%.0f' keeps all digits of the score.
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', zk, '-inf', string.format('%.0f', (now - spec.answerTtl) * 1000))) do
    local size = redis.call('HGET', sk, id)
    if size then redis.call('DECRBY', total, size) end
    redis.call('HDEL', sk, id)
    redis.call('ZREM', zk, id)
  end
  local previous = redis.call('HGET', sk, a.id)
  if previous then redis.call('DECRBY', total, previous) end
  local size = #a.res + #a.id
  redis.call('SET', akey(a.identity, a.id), a.res, 'PX', spec.answerTtl)
  local score = math.max(now * 1000, tonumber(redis.call('HGET', sk, '\\0last') or '0') + 1)
  redis.call('HSET', sk, '\\0last', string.format('%.0f', score))
  redis.call('ZADD', zk, string.format('%.0f', score), a.id)
  redis.call('HSET', sk, a.id, size)
  local bytes = redis.call('INCRBY', total, size)
  local count = redis.call('ZCARD', zk)
  while count > 1 and (count > spec.answeredLimit or bytes > spec.answeredBytes) do
    local oldest = redis.call('ZRANGE', zk, 0, 0)[1]
    local dropped = tonumber(redis.call('HGET', sk, oldest) or '0')
    redis.call('DEL', akey(a.identity, oldest))
    redis.call('ZREM', zk, oldest)
    redis.call('HDEL', sk, oldest)
    redis.call('DECRBY', total, dropped)
    count = count - 1
    bytes = bytes - dropped
  end
  redis.call('PEXPIRE', zk, spec.answerTtl)
  redis.call('PEXPIRE', sk, spec.answerTtl)
  redis.call('PEXPIRE', total, spec.answerTtl)
end

local result = {'ok', redis.call('HINCRBY', META, 'clock', 1)}
for _, p in ipairs(spec.pushes) do
  local members, index
  if p.k == 'all' then
    members = redis.call('ZRANGE', SESSIONS, 0, -1)
  elseif p.k == 'user' then
    index = ukey(p.to)
    members = redis.call('ZRANGE', index, 0, -1)
  else
    index = tkey(p.to)
    members = redis.call('SMEMBERS', index)
  end
  local size = #p.topic + (p.data and #p.data or 0)
  local owners, reached = {}, 0
  for _, s in ipairs(members) do
    local h, lk = skey(s), lkey(s)
    local f = redis.call('HMGET', h, 'next', 'owner', 'gen', 'bytes')
    if not f[1] then
      -- Expired: its index entries go.
      redis.call('ZREM', SESSIONS, s)
      if p.k == 'user' then redis.call('ZREM', index, s) elseif p.k == 'topic' then redis.call('SREM', index, s) end
    else
      local seq = tonumber(f[1])
      if p.data then
        redis.call('XADD', lk, seq .. '-1', 't', p.topic, 'd', p.data)
      else
        redis.call('XADD', lk, seq .. '-1', 't', p.topic)
      end
      local bytes = tonumber(f[4]) + size
      local length = redis.call('XLEN', lk)
      -- The oldest entries go past the count or the bytes; the newest always stays.
      while length > 1 and (length > spec.logLimit or bytes > spec.logBytes) do
        local oldest = redis.call('XRANGE', lk, '-', '+', 'COUNT', 1)[1]
        local fields = oldest[2]
        for i = 2, #fields, 2 do bytes = bytes - #fields[i] end
        redis.call('XDEL', lk, oldest[1])
        length = length - 1
      end
      redis.call('HSET', h, 'next', seq + 1, 'bytes', bytes)
      local ttl = redis.call('PTTL', h)
      if ttl > 0 then redis.call('PEXPIRE', lk, ttl) end
      reached = reached + 1
      if f[2] and f[2] ~= '' then
        local list = owners[f[2]]
        if not list then
          list = {}
          owners[f[2]] = list
        end
        list[#list + 1] = s
        list[#list + 1] = tonumber(f[3])
        list[#list + 1] = seq
      end
    end
  end
  for owner, list in pairs(owners) do
    local header = cjson.encode({ t = p.topic, d = p.data and 1 or 0, s = list })
    redis.call('PUBLISH', P .. 'i:' .. owner, 'D' .. header .. '\\n' .. (p.data or ''))
  end
  result[#result + 1] = reached
end
return result
`

/** ARGV: P, identity, id, claim, leaseMs. Returns {'answered', res}, {'busy'} or {'claimed'}. */
export const CLAIM = `${PRELUDE}
local key = akey(ARGV[2], ARGV[3])
local v = redis.call('GET', key)
if v then
  if string.byte(v, 1) ~= 0 then return {'answered', v} end
  return {'busy'}
end
redis.call('SET', key, '\\0' .. ARGV[4], 'PX', tonumber(ARGV[5]))
return {'claimed'}
`

/** ARGV: P, identity, id, claim. Removes the claim if it is still this one. */
export const RELEASE = `${PRELUDE}
local key = akey(ARGV[2], ARGV[3])
if redis.call('GET', key) == '\\0' .. ARGV[4] then redis.call('DEL', key) end
return 1
`

/** ARGV: P, identity, id. The remembered answer, or nil (none, or still running). */
export const FIND_ANSWER = `${PRELUDE}
local v = redis.call('GET', akey(ARGV[2], ARGV[3]))
if v and string.byte(v, 1) ~= 0 then return v end
return false
`

/** ARGV: P, sid, gen, subscribe ('1'|'0'), topics (JSON array). The topics after (JSON), or nil when gen no longer holds it. */
export const SET_TOPICS = `${PRELUDE}
local sid = ARGV[2]
local h = skey(sid)
local f = redis.call('HMGET', h, 'gen', 'topics')
if not f[1] or tonumber(f[1]) ~= tonumber(ARGV[3]) then return false end
local current = cjson.decode(f[2])
local held = {}
for _, t in ipairs(current) do held[t] = true end
for _, t in ipairs(cjson.decode(ARGV[5])) do
  if ARGV[4] == '1' then
    if not held[t] then
      held[t] = true
      current[#current + 1] = t
      redis.call('SADD', tkey(t), sid)
    end
  elseif held[t] then
    held[t] = nil
    redis.call('SREM', tkey(t), sid)
  end
end
local out = {}
for _, t in ipairs(current) do
  if held[t] then
    out[#out + 1] = t
    held[t] = nil
  end
end
local json = '[]'
if #out > 0 then json = cjson.encode(out) end
redis.call('HSET', h, 'topics', json)
return json
`

/**
 * ARGV: P, now, ttl, then (sid, gen, ack) triples (ack -1: none). Each session still held with
 * that gen is marked used now and its ack recorded.
 */
export const TOUCH = `${PRELUDE}
local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, #ARGV, 3 do
  local s, gen, ack = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local f = redis.call('HMGET', skey(s), 'gen', 'acked', 'id')
  if f[1] and tonumber(f[1]) == gen then
    if ack > tonumber(f[2]) then redis.call('HSET', skey(s), 'acked', ack) end
    touch(s, f[3], now, ttl)
  end
end
return 1
`

/** ARGV: P, sid, gen, now, ttl, ack (-1: none). The connection of gen left: the session is idle from now. */
export const DETACH = `${PRELUDE}
local s, gen, now, ttl, ack = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local f = redis.call('HMGET', skey(s), 'gen', 'acked', 'id')
if f[1] and tonumber(f[1]) == gen then
  redis.call('HSET', skey(s), 'owner', '')
  if ack > tonumber(f[2]) then redis.call('HSET', skey(s), 'acked', ack) end
  touch(s, f[3], now, ttl)
end
return 1
`

/**
 * ARGV: P, collection, limit, before ('' for the newest). Returns false when `before` names no
 * record, else {totals (name, value, …), {id, doc, rank, …}} for limit + 1 records.
 */
export const PAGE_RECORDS = `${PRELUDE}
local c = ARGV[2]
local newest = '+'
if ARGV[4] ~= '' then
  local k = redis.call('HGET', rkey(c, ARGV[4]), 'k')
  if not k then return false end
  newest = '(' .. k
end
local out = {}
for _, k in ipairs(redis.call('ZREVRANGEBYLEX', P .. 'rz:' .. idkey(c), newest, '-', 'LIMIT', 0, tonumber(ARGV[3]) + 1)) do
  local id = string.match(k, '^%d+:%d+:(.*)$')
  local f = redis.call('HMGET', rkey(c, id), 'doc', 'rank')
  out[#out + 1] = id
  out[#out + 1] = f[1]
  out[#out + 1] = f[2]
end
return {redis.call('HGETALL', P .. 'rt:' .. idkey(c)), out}
`

export const SCRIPTS = {
  rsAttach: ATTACH,
  rsCommit: COMMIT,
  rsClaim: CLAIM,
  rsRelease: RELEASE,
  rsFindAnswer: FIND_ANSWER,
  rsSetTopics: SET_TOPICS,
  rsTouch: TOUCH,
  rsDetach: DETACH,
  rsPageRecords: PAGE_RECORDS,
} as const

export type ScriptName = keyof typeof SCRIPTS
