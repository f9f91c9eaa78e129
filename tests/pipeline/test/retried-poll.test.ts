import type { CertificateSet } from '@qsm/dev-certs';
import { openQueue, type PollJobData, pollJobOptions, QUEUE, resultJobId } from '@qsm/queues';
import { createDeliveryMarkers } from '@qsm/redis';
import {
  cleanupRedisPrefix,
  metricValue,
  type RunningApp,
  type Simulator,
  services,
  startApp,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * A poll whose result went out in a group (one job for the records of many polls) and whose job then failed
 * to finish is not delivered a second time when BullMQ runs it again: the poller finds the delivery marker.
 */

const prefix = uniqueName('retried_poll');
let certs: CertificateSet;
let sim: Simulator;
let poller: RunningApp;
let redis: Redis;

beforeAll(async () => {
  certs = await testCertificates('retried-poll');
  sim = await startSimulator(certs, ['--servers', '1', '--prefixes', '/delivered,/fresh', '--churn', '0']);
  const configFile = writeButlerConfig(tempDir('retried-poll'), {
    certs,
    pollingInterval: 60_000,
    servers: [
      { serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/delivered', '/fresh'] },
    ],
    influx: { db: 'unused' },
  });
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  poller = await startApp('poller', { configFile, prefix });
});

afterAll(async () => {
  redis?.disconnect();
  await stopAll();
  await cleanupRedisPrefix(prefix);
});

/** Adds the poll of one proxy due at `dueAt`, failing its first attempt (QPS answers 503). */
async function addFailingPoll(virtualProxy: string, dueAt: number) {
  await sim.setFault('sense1', virtualProxy, { mode: 'status', status: 503 });
  const target = { serverName: 'sense1', virtualProxy };
  const queue = openQueue<PollJobData>({ connection: redis, prefix }, QUEUE.poll);
  const data: PollJobData = { v: 1, ...target, intervalMs: 60_000, kind: 'first', dueAt };
  const job = await queue.add('poll', data, pollJobOptions);
  await waitUntil(
    async () => (await sim.proxyState('sense1', virtualProxy)).requests === 1,
    'the first attempt',
  );
  await sim.setFault('sense1', virtualProxy, undefined);
  await waitUntil(async () => ['completed', 'failed'].includes(await job.getState()), 'the second attempt', {
    timeoutMs: 10_000,
  });
  const finished = (await queue.getJob(job.id!))!;
  await queue.close();
  return { job: finished, requests: (await sim.proxyState('sense1', virtualProxy)).requests };
}

describe('a retried poll', () => {
  it('is not polled nor delivered again when its result already went out in a group', async () => {
    const dueAt = Date.now();
    await createDeliveryMarkers(redis, prefix).mark([
      resultJobId({ serverName: 'sense1', virtualProxy: '/delivered' }, dueAt),
    ]);
    const { job, requests } = await addFailingPoll('/delivered', dueAt);
    expect(job.returnvalue).toEqual({ outcome: 'skipped_delivered' });
    expect(requests).toBe(1);
    expect(metricValue(await poller.metrics(), 'qsm_polls_total', { outcome: 'skipped_delivered' })).toBe(1);
  });

  it('is polled again when its result was not delivered', async () => {
    const dueAt = Date.now();
    const { job, requests } = await addFailingPoll('/fresh', dueAt);
    expect(job.returnvalue).toMatchObject({ outcome: 'ok' });
    expect(requests).toBe(2);
    const influx = openQueue({ connection: redis, prefix }, QUEUE.influx);
    expect((await influx.getWaiting()).map((j) => j.id)).toContain(
      resultJobId({ serverName: 'sense1', virtualProxy: '/fresh' }, dueAt),
    );
    await influx.close();
  });
});
