/*
 * The Lua scripts of the site figures (site-intervals.ts), registered with the product's other commands
 * (commands.ts).
 */

export const SITE_INTERVAL_SCRIPTS = {
  /**
   * KEYS: interval hash. ARGV: target key, polledAt, summary, ttl ms. Records the summary unless the
   * field holds one of a later poll (two results of one proxy in one interval, applied out of order);
   * the summary of the same poll again (a retry) rewrites the same value. Answers {1 when written, else
   * 0; the number of proxies recorded for the interval}.
   */
  qsmRecordSiteSummary: {
    numberOfKeys: 1,
    lua: `local current = redis.call('hget', KEYS[1], ARGV[1])
if current then
  local at = tonumber(string.match(current, '^(%d+)|'))
  if at and at > tonumber(ARGV[2]) then return {0, redis.call('hlen', KEYS[1])} end
end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
redis.call('pexpire', KEYS[1], ARGV[4])
return {1, redis.call('hlen', KEYS[1])}`,
  },
  /**
   * KEYS: done-marker, outbox. ARGV: outbox, ttl ms. The first caller sets the marker and the outbox in
   * one step and gets {1}; any later one gets {0, outbox} while the outbox is undelivered, {0} after.
   */
  qsmClaimSiteInterval: {
    numberOfKeys: 2,
    lua: `if redis.call('set', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then
  redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return {1}
end
local outbox = redis.call('get', KEYS[2])
if outbox then return {0, outbox} end
return {0}`,
  },
  /**
   * KEYS: latest hash. ARGV: interval start, figures. Keeps the figures of the latest interval written
   * (for the gauges every tracker exports); an older interval's, delivered late, does not replace them.
   */
  qsmSetLatestSiteFigures: {
    numberOfKeys: 1,
    lua: `local current = redis.call('hget', KEYS[1], 'intervalStart')
if current and tonumber(current) > tonumber(ARGV[1]) then return 0 end
redis.call('hset', KEYS[1], 'intervalStart', ARGV[1], 'figures', ARGV[2])
return 1`,
  },
} as const;
