import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { uniqueName } from './paths.js';
import { cleanupRedisPrefix } from './redis-cleanup.js';
import { services } from './services.js';

export interface TestRedis {
  /** This file's (or describe block's) own queue prefix: tests share one Redis. */
  prefix: string;
  /** The connection, open from `beforeAll` to `afterAll`. */
  connection(): Redis;
}

/**
 * A queue prefix of its own and a connection for the tests of the file or describe block that calls it:
 * the connection opens before the tests, and after them it closes and every key under the prefix goes.
 */
export function useTestRedis(label: string): TestRedis {
  const prefix = uniqueName(label);
  let redis: Redis | undefined;
  beforeAll(() => {
    redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis?.disconnect();
    await cleanupRedisPrefix(prefix);
  });
  return {
    prefix,
    connection() {
      if (!redis) throw new Error('useTestRedis: the connection opens in beforeAll, use it inside a test');
      return redis;
    },
  };
}
