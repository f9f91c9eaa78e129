import { openQueue, QUEUE, type Queue, startWorker, type Worker } from '@qsm/queues';
import { captureLogs, cleanupRedisPrefix, services, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrackerPresenceCheck } from '../src/tracker-presence.js';

const prefix = uniqueName('tracker_presence');
let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  queue = openQueue({ connection: redis, prefix }, QUEUE.track);
});

afterAll(async () => {
  await queue.close();
  redis.disconnect();
  await cleanupRedisPrefix(prefix);
});

describe('the tracker presence check', () => {
  it('warns once while track jobs wait and no tracker runs, and again after one came and went', async () => {
    const logs = captureLogs('poller');
    const check = createTrackerPresenceCheck({ queue, logger: logs.logger });
    expect(await check()).toBe('unknown');
    await queue.add('track-result', { v: 1 }, { jobId: 'waiting-1' });
    expect(await check()).toBe('no_tracker');
    expect(await check()).toBe('no_tracker');
    expect(logs.messages('warn')).toEqual([
      'SESSION_TRACKING is on but no tracker takes the session-track jobs, which wait in Redis: start a tracker (apps/tracker) or set SESSION_TRACKING=false',
    ]);
    // A tracker (any worker of the queue) that holds its job: counted.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const connection = redis.duplicate();
    const worker: Worker = startWorker({
      queue: QUEUE.track,
      context: { connection, prefix },
      concurrency: 1,
      processor: () => held,
      onError: () => {},
    });
    await worker.waitUntilReady();
    expect(await check()).toBe('tracker');
    release();
    await worker.close();
    connection.disconnect();
    await queue.add('track-result', { v: 1 }, { jobId: 'waiting-2' });
    expect(await check()).toBe('no_tracker');
    expect(logs.messages('warn')).toHaveLength(2);
  });
});
