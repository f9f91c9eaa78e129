import { Cluster } from 'ioredis';
import type { RedisConnection } from './connection.js';

/** What Redis does when it runs out of memory, from `INFO memory`. */
export interface RedisMemoryPolicy {
  /** `maxmemory` in bytes; 0 means no limit (Redis then never evicts, whatever the policy). */
  maxmemoryBytes: number;
  /** `maxmemory_policy`: `noeviction`, `allkeys-lru`, `volatile-lru`, ... */
  policy: string;
}

/** The two fields of an `INFO memory` answer; undefined when Redis (or a Redis look-alike) leaves them out. */
export function parseMemoryPolicy(info: string): RedisMemoryPolicy | undefined {
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const policy = field('maxmemory_policy');
  const maxmemory = Number(field('maxmemory'));
  if (!policy || !Number.isFinite(maxmemory)) return undefined;
  return { maxmemoryBytes: maxmemory, policy };
}

/**
 * What an operator must hear when Redis may evict keys, or undefined when it never does. BullMQ keeps every
 * queued result and every job lock in plain keys: an evicted result is lost without a trace, an evicted
 * lock (a `volatile-*` policy evicts those first, since they expire) lets a second worker run the same job.
 */
export function evictionWarning(memory: RedisMemoryPolicy): string | undefined {
  if (memory.policy === 'noeviction') return undefined;
  const limit =
    memory.maxmemoryBytes > 0
      ? `and maxmemory is ${Math.round(memory.maxmemoryBytes / 1024 / 1024)} MB: once it is full, Redis deletes keys`
      : 'and maxmemory is not set yet: Redis deletes keys as soon as someone sets it';
  return (
    `Redis runs with maxmemory-policy ${memory.policy} ${limit}, and queued results and job locks with them. ` +
    'Set maxmemory-policy noeviction (BullMQ requires it): Redis then refuses new jobs when full, which the apps report and retry'
  );
}

/**
 * Reads the policy; undefined when INFO has no such line, and rejects when INFO itself is refused (some
 * hosted Redis disable it), which the caller logs at debug level. On a Redis Cluster every primary has its
 * own: the first one that may evict, else the first one.
 */
export async function readMemoryPolicy(connection: RedisConnection): Promise<RedisMemoryPolicy | undefined> {
  const nodes = connection instanceof Cluster ? connection.nodes('master') : [connection];
  const policies = await Promise.all(nodes.map(async (node) => parseMemoryPolicy(await node.info('memory'))));
  return policies.find((p) => p && evictionWarning(p)) ?? policies[0];
}
