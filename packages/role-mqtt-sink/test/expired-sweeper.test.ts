import { openQueue, QUEUE } from '@qsm/queues';
import { createGiveUpLog } from '@qsm/sink';
import { captureLogs, cleanupRedisPrefix, services, sleep, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpiredSweeper } from '../src/expired-sweeper.js';

let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  redis.disconnect();
  for (const prefix of prefixes) await cleanupRedisPrefix(prefix);
});

function setup() {
  const prefix = uniqueName('mqtt_sweep');
  prefixes.push(prefix);
  const logs = captureLogs('mqtt-sink');
  let counted = 0;
  const givenUp = createGiveUpLog(logs.logger, {
    sink: 'mqtt',
    maxAgeMs: 10_000,
    counter: {
      inc: (_labels, value) => {
        counted += value;
      },
    },
  });
  const queue = openQueue({ connection: redis, prefix }, QUEUE.mqtt);
  return { logs, queue, givenUp, counted: () => counted };
}

describe('the sweep of expired MQTT results', () => {
  it('removes waiting and delayed results past SINK_MAX_AGE_MS and gives them up, keeping the younger', async () => {
    const { logs, queue, givenUp, counted } = setup();
    const now = Date.now();
    await queue.add('r', {}, { jobId: 'old-waiting', timestamp: now - 20_000 });
    await queue.add('r', {}, { jobId: 'old-delayed', timestamp: now - 20_000, delay: 60_000 });
    await queue.add('r', {}, { jobId: 'young', timestamp: now - 1000 });
    const sweeper = createExpiredSweeper({ queue, maxAgeMs: 10_000, givenUp, logger: logs.logger });
    await sweeper.sweep();
    expect(await queue.getJob('old-waiting')).toBeUndefined();
    expect(await queue.getJob('old-delayed')).toBeUndefined();
    expect(await queue.getJobState('young')).toBe('waiting');
    expect(counted()).toBe(2);
    expect(logs.messages('error')).toEqual([
      'gave up on a result not delivered within SINK_MAX_AGE_MS (10000 ms)',
    ]);
    await queue.close();
  });

  it('sweeps every interval while started, and not after it stopped', async () => {
    const { logs, queue, givenUp, counted } = setup();
    const sweeper = createExpiredSweeper({
      queue,
      maxAgeMs: 10_000,
      givenUp,
      logger: logs.logger,
      everyMs: 100,
    });
    sweeper.start();
    sweeper.start();
    await queue.add('r', {}, { jobId: 'a', timestamp: Date.now() - 20_000 });
    await sleep(400);
    expect(counted()).toBe(1);
    sweeper.stop();
    await queue.add('r', {}, { jobId: 'b', timestamp: Date.now() - 20_000 });
    await sleep(300);
    expect(counted()).toBe(1);
    expect(await queue.getJobState('b')).toBe('waiting');
    await queue.close();
  });

  it('leaves a debug line when a sweep fails, and tries again at the next one', async () => {
    const { logs, givenUp } = setup();
    // Redis gone: a connection that was closed for good.
    const gone = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
    await gone.quit();
    const queue = openQueue({ connection: gone, prefix: uniqueName('mqtt_sweep_gone') }, QUEUE.mqtt);
    const sweeper = createExpiredSweeper({ queue, maxAgeMs: 10_000, givenUp, logger: logs.logger });
    await sweeper.sweep();
    expect(logs.lines).toMatchObject([
      { level: 20, msg: 'removing expired MQTT results failed; trying again later' },
    ]);
  });
});
