import type { Result } from 'ioredis';
import type { RedisConnection } from './connection.js';
import { SITE_INTERVAL_SCRIPTS } from './site-interval-scripts.js';
import { TRACK_SCRIPT } from './tracking-script.js';

/*
 * The Lua scripts of the product, registered once per connection with ioredis's defineCommand: ioredis
 * then sends EVALSHA and loads a script only when Redis does not know it yet (after a restart, say),
 * instead of sending the script's text with every call.
 */

const SCRIPTS = {
  /** KEYS: lock. ARGV: token. Deletes the lock only while it is still this holder's. */
  qsmReleaseLock: {
    numberOfKeys: 1,
    lua: `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`,
  },
  /** KEYS: lock, counts hash. ARGV: token, count, field. Records the count, then releases as above. */
  qsmReleaseLockAndCount: {
    numberOfKeys: 2,
    lua: `redis.call('hset', KEYS[2], ARGV[3], ARGV[2])
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`,
  },
  /** KEYS: hash. ARGV: field, value. Sets the field unless it holds a larger number; 1 when set. */
  qsmClaimIfNotOlder: {
    numberOfKeys: 1,
    lua: `local current = redis.call('hget', KEYS[1], ARGV[1])
if current and tonumber(current) > tonumber(ARGV[2]) then return 0 end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2]) return 1`,
  },
  /** The tracker's state, events and outbox of one proxy: see tracking-script.ts. */
  qsmTrack: { numberOfKeys: 4, lua: TRACK_SCRIPT },
  ...SITE_INTERVAL_SCRIPTS,
} as const;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    qsmReleaseLock(lockKey: string, token: string): Result<number, Context>;
    qsmReleaseLockAndCount(
      lockKey: string,
      countsKey: string,
      token: string,
      count: string,
      field: string,
    ): Result<number, Context>;
    qsmClaimIfNotOlder(hashKey: string, field: string, value: string): Result<number, Context>;
    qsmTrack(
      stateKey: string,
      metaKey: string,
      outboxKey: string,
      retiredKey: string,
      ...args: string[]
    ): Result<[string, string?], Context>;
    qsmRecordSiteSummary(
      hashKey: string,
      targetKey: string,
      polledAt: string,
      summary: string,
      ttlMs: string,
    ): Result<[number, number], Context>;
    qsmClaimSiteInterval(
      doneKey: string,
      outboxKey: string,
      outbox: string,
      ttlMs: string,
    ): Result<[number, string?], Context>;
    qsmSetLatestSiteFigures(
      latestKey: string,
      intervalStart: string,
      figures: string,
    ): Result<number, Context>;
  }
}

const registered = new WeakSet<RedisConnection>();

/** Defines the product's commands on `connection`, once however often it is called. */
export function registerCommands(connection: RedisConnection): RedisConnection {
  if (registered.has(connection)) return connection;
  for (const [name, definition] of Object.entries(SCRIPTS)) connection.defineCommand(name, definition);
  registered.add(connection);
  return connection;
}
