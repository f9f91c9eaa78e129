import { cleanupRedisPrefix, services, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimQueueShard,
  createPollLock,
  createPublishedSnapshots,
  createSessionCounts,
  QueueShardConflict,
  queueShardKey,
} from '../src/index.js';

const prefix = uniqueName('redis-state');
let connection: Redis;

beforeAll(() => {
  connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  connection.disconnect();
  await cleanupRedisPrefix(prefix);
});

describe('the poll lock', () => {
  it('lets one holder at a time in, and only the holder release it', async () => {
    const lock = createPollLock(connection, prefix);
    expect(await lock.acquire('poll|a|%2F', 'one', 5000)).toBe(true);
    expect(await lock.acquire('poll|a|%2F', 'two', 5000)).toBe(false);
    await lock.release('poll|a|%2F', 'two');
    expect(await lock.acquire('poll|a|%2F', 'two', 5000)).toBe(false);
    await lock.release('poll|a|%2F', 'one');
    expect(await lock.acquire('poll|a|%2F', 'two', 5000)).toBe(true);
  });

  it('expires, so that a crashed poller does not block its proxy for long', async () => {
    const lock = createPollLock(connection, prefix);
    expect(await lock.acquire('poll|b|%2F', 'crashed', 100)).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    expect(await lock.acquire('poll|b|%2F', 'next', 100)).toBe(true);
  });
});

describe('published snapshots', () => {
  it('let a topic be claimed by newer snapshots only, and again by the same one after a failed publish', async () => {
    const snapshots = createPublishedSnapshots(connection, prefix);
    expect(await snapshots.claim('t/1', 2000)).toBe(true);
    expect(await snapshots.claim('t/1', 1000)).toBe(false);
    expect(await snapshots.claim('t/1', 2000)).toBe(true);
    expect(await snapshots.claim('t/1', 3000)).toBe(true);
    expect(await snapshots.claim('t/1', 2000)).toBe(false);
    expect(await snapshots.claim('t/2', 1000)).toBe(true);
  });
});

describe('session counts', () => {
  it('ride on the poll lock release', async () => {
    const lock = createPollLock(connection, prefix);
    const counts = createSessionCounts(connection, prefix);
    expect(await lock.acquire('poll|c|%2F', 'me', 5000)).toBe(true);
    await lock.release('poll|c|%2F', 'me', 42);
    expect((await counts.all()).get('poll|c|%2F')).toBe(42);
    expect(await lock.acquire('poll|c|%2F', 'next', 5000)).toBe(true);
  });
});

describe('the queue shard of a prefix', () => {
  it('is recorded by the first scheduler; another shard is then refused, the same one let in', async () => {
    await claimQueueShard(connection, prefix, '1/2');
    expect(await connection.get(queueShardKey(prefix))).toBe('1/2');
    await claimQueueShard(connection, prefix, '1/2');
    await expect(claimQueueShard(connection, prefix, '2/2')).rejects.toThrow(QueueShardConflict);
    await expect(claimQueueShard(connection, prefix, 'all')).rejects.toThrow(/belongs to shard 1\/2/);
    expect(await connection.get(queueShardKey(prefix))).toBe('1/2');
    // Re-sharding on purpose: the key is deleted, and the next scheduler records its own shard.
    await connection.del(queueShardKey(prefix));
    await claimQueueShard(connection, prefix, '2/2');
    expect(await connection.get(queueShardKey(prefix))).toBe('2/2');
  });
});
