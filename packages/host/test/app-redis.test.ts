import { afterEach, describe, expect, it } from 'vitest';
import { type AppRedis, connectAppRedis } from '../src/app-redis.js';
import { captureLogger } from './capture-logger.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const opened: AppRedis[] = [];
afterEach(() => {
  for (const redis of opened.splice(0)) redis.disconnect();
});

async function until(condition: () => boolean, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the app's Redis", () => {
  it('says when it connected, and closes without an outage line', async () => {
    const { logger, lines } = captureLogger();
    const fatal: string[] = [];
    const redis = connectAppRedis({
      role: 'test',
      connectionRole: 'producer',
      env: { REDIS_URL, REDIS_CLUSTER: false },
      logger,
      onFatal: (message) => fatal.push(message),
    });
    opened.push(redis);
    await until(() => lines.some((l) => l.msg === 'redis connected'));
    expect(await redis.connection.ping()).toBe('PONG');
    await redis.close();
    await until(() => redis.connection.status === 'end');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines.some((l) => l.msg.startsWith('redis unavailable'))).toBe(false);
    expect(fatal).toEqual([]);
  });

  it('reports Redis unavailable, with the URL redacted, while nobody listens', async () => {
    const { logger, lines } = captureLogger();
    const redis = connectAppRedis({
      role: 'test',
      connectionRole: 'producer',
      env: { REDIS_URL: 'redis://:secret@127.0.0.1:1', REDIS_CLUSTER: false },
      logger,
      onFatal: () => {},
    });
    opened.push(redis);
    await until(() => lines.some((l) => l.msg.startsWith('redis unavailable')));
    const line = lines.find((l) => l.msg.startsWith('redis unavailable'));
    expect(JSON.stringify(line)).not.toContain('secret');
    // Nothing to quit while Redis is away: the close does not wait for it.
    await redis.close();
  });
});
