import type { RedisConnection } from './redis-connection.js';

/*
 * Small pieces of shared state that BullMQ does not provide, each one atomic in Redis. Keys live under
 * the queue prefix, so a hash-tag prefix keeps them in the queues' slot on Redis Cluster.
 */

const sessionCountsKey = (prefix: string) => `${prefix}:qsm:session-counts`;

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
const RELEASE_LOCK_AND_COUNT = `if ARGV[2] ~= '' then redis.call('hset', KEYS[2], ARGV[3], ARGV[2]) end
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
const CLAIM_IF_NOT_OLDER = `local current = redis.call('hget', KEYS[1], ARGV[1])
if current and tonumber(current) > tonumber(ARGV[2]) then return 0 end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2]) return 1`;

export interface PollLock {
  /** True when this caller now holds the lock of `schedulerId` for `ttlMs`. */
  acquire(schedulerId: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock; with `sessionCount`, records it for the session gauge in the same round trip. */
  release(schedulerId: string, token: string, sessionCount?: number): Promise<void>;
}

/** One poll of a (server, virtual proxy) at a time, across every poller process. */
export function createPollLock(connection: RedisConnection, prefix: string): PollLock {
  const key = (id: string) => `${prefix}:qsm:poll-lock:${id}`;
  return {
    async acquire(schedulerId, token, ttlMs) {
      return (await connection.set(key(schedulerId), token, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async release(schedulerId, token, sessionCount) {
      if (sessionCount === undefined) await connection.eval(RELEASE_LOCK, 1, key(schedulerId), token);
      else {
        await connection.eval(
          RELEASE_LOCK_AND_COUNT,
          2,
          key(schedulerId),
          sessionCountsKey(prefix),
          token,
          String(sessionCount),
          schedulerId,
        );
      }
    },
  };
}

export interface PublishedSnapshots {
  /**
   * Claims `topic` for the snapshot of `polledAt`: false when a newer snapshot was claimed already (do not
   * publish), true otherwise, recording `polledAt` in the same step. A snapshot whose publish failed may
   * claim again (same poll time), unless a newer one came in between.
   */
  claim(topic: string, polledAt: number): Promise<boolean>;
}

/** Which snapshot each MQTT topic carries, shared by every MQTT sink process. */
export function createPublishedSnapshots(connection: RedisConnection, prefix: string): PublishedSnapshots {
  const key = `${prefix}:qsm:mqtt-published`;
  return {
    async claim(topic, polledAt) {
      return (await connection.eval(CLAIM_IF_NOT_OLDER, 1, key, topic, String(polledAt))) === 1;
    },
  };
}

export interface SessionCounts {
  /** The session count of the last successful poll of a (server, virtual proxy). */
  record(schedulerId: string, count: number): Promise<void>;
  all(): Promise<Map<string, number>>;
}

/** The latest session count of every polled proxy, shared by all pollers (for the Prometheus gauge). */
export function createSessionCounts(connection: RedisConnection, prefix: string): SessionCounts {
  const key = sessionCountsKey(prefix);
  return {
    async record(schedulerId, count) {
      await connection.hset(key, schedulerId, String(count));
    },
    async all() {
      const values = await connection.hgetall(key);
      return new Map(Object.entries(values).map(([id, count]) => [id, Number(count)]));
    },
  };
}
