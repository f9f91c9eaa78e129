import type { MqttSinkJob } from '@qsm/model';
import { createMqttPublisher } from '@qsm/mqtt';
import { openQueue, QUEUE, sinkJobOptions, startWorker } from '@qsm/queues';
import { createPublishedSnapshots } from '@qsm/redis';
import { createSinkRetries, createStateLog } from '@qsm/sink';
import {
  captureLogs,
  cleanupRedisPrefix,
  collectMqtt,
  type OwnService,
  samplePollResult,
  services,
  startOwnMosquitto,
  uniqueName,
  waitUntil,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followBroker } from '../src/broker-state.js';
import { createExpiredSweeper } from '../src/expired-sweeper.js';
import { createMqttPublishHandler } from '../src/mqtt-publish-handler.js';
import { jobBornAt } from '../src/mqtt-sink.js';

const prefix = uniqueName('mqtt_broker_state');
let redis: Redis;
let broker: OwnService;

beforeAll(async () => {
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  broker = await startOwnMosquitto();
});

afterAll(async () => {
  await broker.stop();
  redis.disconnect();
  await cleanupRedisPrefix(prefix);
});

async function givenUp(registry: Registry) {
  const metric = await registry.getSingleMetric('qsm_sink_results_given_up_total')?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

describe('the MQTT sink following its broker', () => {
  it('takes no jobs while the broker is away, sweeps what expires meanwhile, and resumes once it is back', async () => {
    const logs = captureLogs('mqtt-sink');
    const registry = new Registry();
    const context = { connection: redis, prefix };
    const maxAgeMs = 3000;
    const retries = createSinkRetries<MqttSinkJob>({
      sink: 'mqtt',
      maxAgeMs,
      maxBackoffMs: 500,
      logger: logs.logger,
      registry,
      bornAt: jobBornAt,
    });
    const publisher = createMqttPublisher({ url: broker.url }, 500);
    const handle = createMqttPublishHandler({
      publisher,
      snapshots: createPublishedSnapshots(redis, prefix),
      baseTopic: () => 'qsm-state/',
      qos: 1,
      retain: false,
      maxAgeMs,
      givenUp: retries.givenUp,
      registry,
    });
    const worker = startWorker<MqttSinkJob>({
      queue: QUEUE.mqtt,
      context,
      concurrency: 4,
      processor: handle,
      backoff: retries.backoff,
      onError: (error) => logs.logger.debug({ err: error }, 'worker error'),
    });
    const queue = openQueue<MqttSinkJob>(context, QUEUE.mqtt);
    const sweeper = createExpiredSweeper({
      queue,
      maxAgeMs,
      givenUp: retries.givenUp,
      logger: logs.logger,
      everyMs: 200,
    });
    const state = createStateLog(logs.logger, 'mqtt broker');
    followBroker({ publisher, worker, sweeper, state, logger: logs.logger });
    try {
      await waitUntil(() => publisher.connected, 'the broker connection');
      await broker.stop();
      await waitUntil(() => worker.isPaused(), 'the worker to pause');
      expect(state.current).toMatch(/^down: /);

      // Waiting: a fresh result stays in the queue; one past SINK_MAX_AGE_MS is swept and given up.
      const now = Date.now();
      const fresh = samplePollResult([], { polledAt: now, virtualProxy: '/fresh' });
      await queue.add('r', fresh, { ...sinkJobOptions, jobId: 'fresh' });
      await queue.add('r', samplePollResult([], { polledAt: now - 10_000 }), {
        ...sinkJobOptions,
        jobId: 'expired',
        timestamp: now - 10_000,
      });
      await waitUntil(async () => (await queue.getJob('expired')) === undefined, 'the expired result to go');
      // Not delivered: at most the one job a pausing worker had in hand was tried, and waits for a retry.
      expect(['waiting', 'active', 'delayed']).toContain(await queue.getJobState('fresh'));
      expect(await givenUp(registry)).toBe(1);

      const collector = await collectMqtt('qsm-state/#', broker.url).catch(() => undefined);
      expect(collector).toBeUndefined(); // the broker is really away
      await broker.restart();
      const subscriber = await collectMqtt('qsm-state/#', broker.url);
      await waitUntil(async () => (await queue.getJobState('fresh')) === 'completed', 'the fresh result', {
        timeoutMs: 10_000,
      });
      await waitUntil(() => subscriber.messages.length === 1, 'the fresh result at the subscriber');
      await subscriber.close();
      expect(worker.isPaused()).toBe(false);
      expect(logs.messages('info').filter((m) => m.startsWith('mqtt broker'))).toEqual([
        expect.stringMatching(/^mqtt broker unavailable: .*; work waits in the queue and is retried$/),
        'mqtt broker is back: connected',
      ]);
    } finally {
      sweeper.stop();
      await worker.close();
      await queue.close();
      await publisher.close();
    }
  });
});
