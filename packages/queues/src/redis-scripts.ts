import type { Redis } from 'ioredis';

/*
 * Small pieces of shared state that BullMQ does not provide, each one atomic in Redis. Keys live under
 * the queue prefix, so a hash-tag prefix keeps them in the queues' slot on Redis Cluster.
 */

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
const RECORD_IF_NEWER = `local current = redis.call('hget', KEYS[1], ARGV[1])
if (not current) or tonumber(current) < tonumber(ARGV[2]) then redis.call('hset', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0`;

export interface PollLock {
  /** True when this caller now holds the lock of `schedulerId` for `ttlMs`. */
  acquire(schedulerId: string, token: string, ttlMs: number): Promise<boolean>;
  release(schedulerId: string, token: string): Promise<void>;
}

/** One poll of a (server, virtual proxy) at a time, across every poller process. */
export function createPollLock(connection: Redis, prefix: string): PollLock {
  const key = (id: string) => `${prefix}:qsm:poll-lock:${id}`;
  return {
    async acquire(schedulerId, token, ttlMs) {
      return (await connection.set(key(schedulerId), token, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async release(schedulerId, token) {
      await connection.eval(RELEASE_LOCK, 1, key(schedulerId), token);
    },
  };
}

export interface PublishedSnapshots {
  /** The poll time of the newest snapshot published on `topic`, or 0. */
  lastPublished(topic: string): Promise<number>;
  /** Records `polledAt` for `topic` unless a newer one is recorded already. */
  record(topic: string, polledAt: number): Promise<void>;
}

/** Which snapshot each MQTT topic carries, shared by every MQTT sink process. */
export function createPublishedSnapshots(connection: Redis, prefix: string): PublishedSnapshots {
  const key = `${prefix}:qsm:mqtt-published`;
  return {
    async lastPublished(topic) {
      return Number((await connection.hget(key, topic)) ?? 0);
    },
    async record(topic, polledAt) {
      await connection.eval(RECORD_IF_NEWER, 1, key, topic, String(polledAt));
    },
  };
}

export interface SessionCounts {
  /** The session count of the last successful poll of a (server, virtual proxy). */
  record(schedulerId: string, count: number): Promise<void>;
  all(): Promise<Map<string, number>>;
}

/** The latest session count of every polled proxy, shared by all pollers (for the Prometheus gauge). */
export function createSessionCounts(connection: Redis, prefix: string): SessionCounts {
  const key = `${prefix}:qsm:session-counts`;
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
