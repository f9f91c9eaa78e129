import { Redis } from 'ioredis';
import { services } from './services.js';

/** Deletes every key under `prefix:` (queues, schedulers, locks): what a test's unique prefix created. */
export async function cleanupRedisPrefix(prefix: string, url = services.redisUrl): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
