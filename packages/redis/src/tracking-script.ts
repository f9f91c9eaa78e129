/*
 * The tracker's one Lua script: compares a proxy's successful poll with the last one applied and writes
 * the new state and the events it derives (the outbox) in one atomic step, so a tracker killed between the
 * comparison and the delivery of the events loses nothing: the retried job finds the outbox.
 *
 * KEYS: state (hash sessionId -> entry), meta (hash: at, id, iv), outbox, retired (tombstone).
 * ARGV[1] 'apply': ARGV[2] polledAt, [3] outbox TTL ms, [4] state TTL ms, [5] identity JSON, [6] interval
 *   ms, then sessionId, userDirectory, userId per session.
 * ARGV[1] 'retire': ARGV[2] retiredAt, [3] outbox TTL ms, [4] tombstone TTL ms. The tombstone keeps out
 *   results polled up to an interval after the retirement (polls under way when the proxy was removed).
 * Returns {'applied'|'retry', outbox JSON or nothing} or {'older'}.
 *
 * An entry is `firstSeen|startKnown(0/1)|#userDirectory|userDirectory userId` (no separator between the
 * two: the length says where the directory ends): about 60 bytes plus the session id, so that an open
 * session costs Redis little more than its id. The meta hash holds the last applied poll time (`at`), the
 * proxy's identity as JSON (`id`, for events that no result carries: not_monitored ends) and its polling
 * interval (`iv`). lastSeen of an end is `at`: every open session was in the last applied poll.
 */
export const TRACK_SCRIPT = `
local state, meta, outbox, retired = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op, atText = ARGV[1], ARGV[2]
local at = tonumber(atText)

local function entry(v)
  local a = string.find(v, '|', 1, true)
  local b = string.find(v, '|', a + 1, true)
  local c = string.find(v, '|', b + 1, true)
  local dlen = tonumber(string.sub(v, b + 1, c - 1))
  return tonumber(string.sub(v, 1, a - 1)), string.sub(v, a + 1, b - 1) == '1',
    string.sub(v, c + 1, c + dlen), string.sub(v, c + dlen + 1)
end

local function ending(sid, v, last, reason)
  local first, known, dir, user = entry(v)
  return cjson.encode({event = 'end', sessionId = sid, userDirectory = dir, userId = user,
    firstSeen = first, lastSeen = last, startKnown = known, reason = reason})
end

local function hdelAll(key, fields)
  for i = 1, #fields, 1000 do
    redis.call('hdel', key, unpack(fields, i, math.min(i + 999, #fields)))
  end
end

local function writeOutbox(identity, time, interval, events, ttl)
  if #events == 0 then return {'applied'} end
  local box = '{"identity":' .. identity .. ',"time":' .. time .. ',"intervalMs":' .. interval ..
    ',"events":[' .. table.concat(events, ',') .. ']}'
  redis.call('set', outbox, box, 'PX', ttl)
  return {'applied', box}
end

if op == 'apply' then
  -- Applied before and not delivered yet (its tracker died), even if newer results were applied since.
  local box = redis.call('get', outbox)
  if box then return {'retry', box} end
  local retiredAt = redis.call('get', retired)
  if retiredAt and at <= tonumber(retiredAt) then return {'older'} end
  local last = redis.call('hget', meta, 'at')
  if last then
    last = tonumber(last)
    if at < last then return {'older'} end
    if at == last then return {'retry'} end
  end
  local identity, interval = ARGV[5], ARGV[6]
  local known = last and '1' or '0'
  local old = redis.call('hgetall', state)
  local open = {}
  for i = 1, #old, 2 do open[old[i]] = true end
  local seen, events, kept = {}, {}, 0
  for i = 7, #ARGV, 3 do
    local sid = ARGV[i]
    if not seen[sid] then
      seen[sid] = true
      if open[sid] then
        kept = kept + 1
      else
        local dir, user = ARGV[i + 1], ARGV[i + 2]
        redis.call('hset', state, sid, atText .. '|' .. known .. '|' .. #dir .. '|' .. dir .. user)
        events[#events + 1] = cjson.encode({event = 'start', sessionId = sid, userDirectory = dir,
          userId = user, firstSeen = at, lastSeen = at, startKnown = known == '1'})
      end
    end
  end
  local reason = 'gone'
  if #old >= 6 and kept == 0 then reason = 'proxy_restart' end
  local gone = {}
  for i = 1, #old, 2 do
    if not seen[old[i]] then
      gone[#gone + 1] = old[i]
      events[#events + 1] = ending(old[i], old[i + 1], last, reason)
    end
  end
  hdelAll(state, gone)
  redis.call('hset', meta, 'at', atText, 'id', identity, 'iv', interval)
  redis.call('pexpire', state, ARGV[4])
  redis.call('pexpire', meta, ARGV[4])
  redis.call('del', retired)
  return writeOutbox(identity, atText, interval, events, ARGV[3])
end

if op == 'retire' then
  local box = redis.call('get', outbox)
  if box then return {'retry', box} end
  local m = redis.call('hmget', meta, 'at', 'id', 'iv')
  -- A poll already under way when the proxy was removed may still come in: keep out an interval more.
  local keepOut = at + (tonumber(m[3]) or 0)
  local previous = redis.call('get', retired)
  if not previous or tonumber(previous) < keepOut then
    redis.call('set', retired, string.format("%d", keepOut), 'PX', ARGV[4])
  end
  if not m[1] then
    redis.call('del', state)
    return {'applied'}
  end
  local last = tonumber(m[1])
  local old = redis.call('hgetall', state)
  local events = {}
  for i = 1, #old, 2 do events[#events + 1] = ending(old[i], old[i + 1], last, 'not_monitored') end
  redis.call('del', state, meta)
  return writeOutbox(m[2], string.format('%d', math.max(at, last)), m[3], events, ARGV[3])
end

return redis.error_reply('unknown operation ' .. tostring(op))
`;
