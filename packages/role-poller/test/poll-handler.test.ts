import path from 'node:path';
import { type Settings, validateConfig } from '@qsm/config';
import type { CertificateSet } from '@qsm/dev-certs';
import { createQpsClient, type QpsClient } from '@qsm/qps';
import {
  createResultDelivery,
  failureJobId,
  intervalStartOf,
  openQueue,
  PermanentJobError,
  type PollJobData,
  parseJobData,
  QUEUE,
  type ResultDelivery,
  RetryableJobError,
  resultJobId,
  schedulerIdFor,
} from '@qsm/queues';
import { createDeliveryMarkers, createPollLock, createSessionCounts } from '@qsm/redis';
import {
  butlerConfig,
  type CapturedLogs,
  captureLogs,
  cleanupRedisPrefix,
  metricValue,
  type Simulator,
  services,
  startSimulator,
  testCertificates,
  uniqueName,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPollHandler, type PollHandlerDeps, type PollJob } from '../src/poll-handler.js';
import { pollerMetrics } from '../src/poller-metrics.js';

/*
 * The poll handler's decisions, one by one, against a real Redis (a prefix of its own) and the QPS
 * simulator, without a poller process: jobs are handed to the handler as BullMQ would hand them.
 */

const INTERVAL = 60_000;
const prefix = uniqueName('poll_handler');
let certs: CertificateSet;
let sim: Simulator;
let redis: Redis;
let settings: Settings;
let qps: QpsClient;
let delivery: ResultDelivery;
let registry: Registry;
let logs: CapturedLogs;

beforeAll(async () => {
  certs = await testCertificates('poll-handler');
  sim = await startSimulator(certs, [
    '--servers',
    '1',
    '--prefixes',
    '/,/hdr,/broken',
    '--sessions',
    '3',
    '--churn',
    '0',
  ]);
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  settings = settingsWith({});
  qps = createQpsClient({
    cert: settings.cert!,
    rejectUnauthorized: true,
    timeoutMs: 2000,
    maxResponseBytes: 1024 * 1024,
  });
  delivery = createResultDelivery({ connection: redis, prefix });
});

afterAll(async () => {
  qps?.close();
  await delivery?.close();
  redis?.disconnect();
  await sim?.stop();
  await cleanupRedisPrefix(prefix);
});

beforeEach(async () => {
  registry = new Registry();
  logs = captureLogs('poller');
  for (const vp of ['/', '/hdr', '/broken']) await sim.setFault('sense1', vp, undefined);
});

function settingsWith(options: { influx?: false; errorTracking?: boolean }): Settings {
  const config = butlerConfig({
    certs,
    pollingInterval: INTERVAL,
    servers: [
      { serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/', '/hdr', '/broken'] },
    ],
    influx: options.influx ?? { db: 'unused' },
    mqtt: { baseTopic: 'qsm' },
    errorTracking: options.errorTracking ?? true,
  });
  return validateConfig(config, path.join(certs.dir, 'config.yaml')).settings;
}

function handler(overrides: Partial<PollHandlerDeps> = {}) {
  return createPollHandler({
    settings: () => settings,
    qps: () => qps,
    env: { QPS_TIMEOUT_MS: 2000, SESSION_TRACKING: false },
    lock: createPollLock(redis, prefix),
    delivery,
    metrics: pollerMetrics(registry),
    logger: logs.logger,
    ...overrides,
  });
}

/** A scheduled poll of `virtualProxy` as BullMQ hands it over: added `delay` ms before its slot `dueAt`. */
function scheduledJob(virtualProxy: string, dueAt: number, extra: Partial<PollJob> = {}): PollJob {
  const offsetMs = ((dueAt % INTERVAL) + INTERVAL) % INTERVAL;
  const data: PollJobData = {
    v: 1,
    serverName: 'sense1',
    virtualProxy,
    intervalMs: INTERVAL,
    kind: 'scheduled',
    offsetMs,
  };
  return {
    data,
    timestamp: dueAt - 5_000,
    opts: { delay: 5_000 },
    repeatJobKey: schedulerIdFor({ serverName: 'sense1', virtualProxy }),
    attemptsMade: 0,
    stalledCounter: 0,
    ...extra,
  };
}

function firstJob(virtualProxy: string, dueAt: number): PollJob {
  return {
    data: { v: 1, serverName: 'sense1', virtualProxy, intervalMs: INTERVAL, kind: 'first', dueAt },
    timestamp: dueAt,
    opts: {},
    attemptsMade: 0,
    stalledCounter: 0,
  };
}

const requests = async (vp: string) => (await sim.proxyState('sense1', vp)).requests;
const metric = async (name: string, labels: Record<string, string> = {}) =>
  metricValue(await registry.metrics(), name, labels);

async function jobIds(
  queue: typeof QUEUE.influx | typeof QUEUE.mqtt | typeof QUEUE.track,
): Promise<Array<string | undefined>> {
  const q = openQueue({ connection: redis, prefix }, queue);
  const ids = (await q.getWaiting(0, -1)).map((j) => j.id);
  await q.close();
  return ids;
}

/** Rejections of the handler, for their class and category. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the poll to fail');
    },
    (error: unknown) => error,
  );
}

describe('the poll handler', () => {
  it('polls a job that is due and delivers its result to both sinks under the poll’s id', async () => {
    const dueAt = Date.now();
    const outcome = await handler()(scheduledJob('/', dueAt));
    expect(outcome).toMatchObject({ outcome: 'ok', sessions: 3 });
    const id = resultJobId({ serverName: 'sense1', virtualProxy: '/' }, dueAt);
    expect(await jobIds(QUEUE.influx)).toContain(id);
    expect(await jobIds(QUEUE.mqtt)).toContain(id);
    expect(await metric('qsm_polls_total', { outcome: 'ok' })).toBe(1);
    expect(await metric('qsm_sessions_polled_total')).toBe(3);
  });

  it('polls a discovered target that no servers[] entry lists, tagged as its job says', async () => {
    const dueAt = Date.now();
    const identity = {
      serverDescription: '',
      hostName: 'localhost',
      serverTags: { env: 'prod' },
      qpsHost: sim.qpsHost('sense1'),
      node: 'rim1',
      sessionInactivityTimeoutMinutes: 45,
    };
    const job = scheduledJob('/hdr', dueAt);
    const discovered = { ...job, data: { ...job.data, serverName: 'rim1', discovered: identity } };
    expect(await handler()(discovered)).toMatchObject({ outcome: 'ok', sessions: 3 });
    const id = resultJobId({ serverName: 'rim1', virtualProxy: '/hdr' }, dueAt);
    const q = openQueue({ connection: redis, prefix }, QUEUE.influx);
    const result = (await q.getJob(id))?.data;
    await q.close();
    expect(result).toMatchObject({
      kind: 'sessions',
      serverName: 'rim1',
      serverDescription: '',
      hostName: 'localhost',
      serverTags: { env: 'prod' },
      qpsHost: sim.qpsHost('sense1'),
      virtualProxy: '/hdr',
      sessionInactivityTimeoutMinutes: 45,
    });
  });

  it('releases the lock after a poll and records the session count for the gauge', async () => {
    const lock = createPollLock(redis, prefix);
    await handler({ lock })(scheduledJob('/hdr', Date.now() - 1));
    const scheduler = schedulerIdFor({ serverName: 'sense1', virtualProxy: '/hdr' });
    expect(await lock.acquire(scheduler, 'after', 1000)).toBe(true);
    await lock.release(scheduler, 'after');
    expect((await createSessionCounts(redis, prefix).all()).get(scheduler)).toBe(3);
  });

  it('polls a scheduled job that is late by less than an interval', async () => {
    const before = await requests('/');
    const outcome = await handler()(scheduledJob('/', Date.now() - INTERVAL + 5_000));
    expect(outcome.outcome).toBe('ok');
    expect(await requests('/')).toBe(before + 1);
  });

  it('skips a scheduled job more than an interval late, without asking QPS', async () => {
    const before = await requests('/');
    const outcome = await handler()(scheduledJob('/', Date.now() - INTERVAL - 1_000));
    expect(outcome).toMatchObject({ outcome: 'skipped_stale' });
    expect(await requests('/')).toBe(before);
    expect(await metric('qsm_polls_stale_skipped_total')).toBe(1);
    expect(await metric('qsm_polls_total', { outcome: 'skipped_stale' })).toBe(1);
  });

  it('skips an extra first poll a quarter of an interval late, from the due time in its data', async () => {
    const outcome = await handler()(firstJob('/', Date.now() - INTERVAL / 4 - 1_000));
    expect(outcome).toMatchObject({ outcome: 'skipped_stale' });
    const fresh = await handler()(firstJob('/', Date.now() - INTERVAL / 4 + 5_000));
    expect(fresh.outcome).toBe('ok');
  });

  it('reads a job of the previous release from BullMQ’s public fields', async () => {
    const late = Date.now() - INTERVAL / 2;
    const legacy = (repeatJobKey: string | undefined): PollJob => ({
      data: { v: 1, serverName: 'sense1', virtualProxy: '/', intervalMs: INTERVAL },
      timestamp: late - 1_000,
      opts: { delay: 1_000 },
      repeatJobKey,
      attemptsMade: 0,
      stalledCounter: 0,
    });
    // An iteration of a scheduler may be an interval late; the old first poll only a quarter of one.
    expect(
      (await handler()(legacy(schedulerIdFor({ serverName: 'sense1', virtualProxy: '/' })))).outcome,
    ).toBe('ok');
    expect((await handler()(legacy(undefined))).outcome).toBe('skipped_stale');
  });

  it('skips a proxy that left the config', async () => {
    const outcome = await handler()(scheduledJob('/gone', Date.now()));
    expect(outcome).toEqual({ outcome: 'skipped_not_in_config' });
    expect(await metric('qsm_polls_total', { outcome: 'skipped_not_in_config' })).toBe(1);
  });

  it('fails a job it cannot read for good, naming the field', async () => {
    const job = scheduledJob('/', Date.now());
    const error = await rejection(
      handler()({ ...job, data: { ...job.data, v: 2 } as unknown as PollJobData }),
    );
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as PermanentJobError).category).toBe('invalid_job');
    expect((error as Error).message).toContain('v: unsupported payload version 2');
  });

  it('skips a poll whose lock another poller holds, without asking QPS', async () => {
    const lock = createPollLock(redis, prefix);
    const scheduler = schedulerIdFor({ serverName: 'sense1', virtualProxy: '/hdr' });
    expect(await lock.acquire(scheduler, 'someone-else', 10_000)).toBe(true);
    const before = await requests('/hdr');
    try {
      expect(await handler({ lock })(scheduledJob('/hdr', Date.now()))).toEqual({
        outcome: 'skipped_overlap',
      });
    } finally {
      await lock.release(scheduler, 'someone-else');
    }
    expect(await requests('/hdr')).toBe(before);
  });

  // The due times of polls of /hdr are seconds apart: a result's id is its due time in ms, and a test that
  // happened to take exactly the difference would find the previous test's delivery marker.
  it('skips a retried attempt whose result went out in a group, and polls a first attempt anyway', async () => {
    const dueAt = Date.now() - 10_000;
    await createDeliveryMarkers(redis, prefix).mark([
      resultJobId({ serverName: 'sense1', virtualProxy: '/hdr' }, dueAt),
    ]);
    const before = await requests('/hdr');
    const retried = await handler()(scheduledJob('/hdr', dueAt, { attemptsMade: 1 }));
    expect(retried).toEqual({ outcome: 'skipped_delivered' });
    expect(await requests('/hdr')).toBe(before);
    const stalled = await handler()(scheduledJob('/hdr', dueAt, { stalledCounter: 1 }));
    expect(stalled).toEqual({ outcome: 'skipped_delivered' });
    expect((await handler()(scheduledJob('/hdr', dueAt))).outcome).toBe('ok');
  });

  it('polls a retried attempt again when its result was not delivered', async () => {
    const outcome = await handler()(scheduledJob('/hdr', Date.now() - 25_000, { attemptsMade: 1 }));
    expect(outcome.outcome).toBe('ok');
  });

  it('records a failed poll for InfluxDB and fails the job as retryable', async () => {
    await sim.setFault('sense1', '/broken', { mode: 'status', status: 503 });
    const dueAt = Date.now() - 30;
    const error = await rejection(handler()(scheduledJob('/broken', dueAt, { attemptsMade: 1 })));
    expect(error).toBeInstanceOf(RetryableJobError);
    const category = (error as RetryableJobError).category;
    expect(await jobIds(QUEUE.influx)).toContain(
      failureJobId({ serverName: 'sense1', virtualProxy: '/broken' }, dueAt, 2),
    );
    expect(await metric('qsm_polls_total', { outcome: 'failed', category })).toBe(1);
    expect(logs.messages('warn').some((m) => m.startsWith('poll failed:'))).toBe(true);
  });

  it('fails a poll that retrying cannot fix for good, without an error record when error tracking is off', async () => {
    await sim.setFault('sense1', '/broken', { mode: 'status', status: 401 });
    const quiet = settingsWith({ errorTracking: false });
    const dueAt = Date.now() - 40;
    const error = await rejection(handler({ settings: () => quiet })(scheduledJob('/broken', dueAt)));
    expect(error).toBeInstanceOf(PermanentJobError);
    expect(await jobIds(QUEUE.influx)).not.toContain(
      failureJobId({ serverName: 'sense1', virtualProxy: '/broken' }, dueAt, 1),
    );
  });

  it('hands the sessions’ identities to the tracker under the poll’s id, with SESSION_TRACKING', async () => {
    const dueAt = Date.now() - 20;
    const env = { QPS_TIMEOUT_MS: 2000, SESSION_TRACKING: true };
    expect((await handler({ env })(scheduledJob('/hdr', dueAt))).outcome).toBe('ok');
    const id = resultJobId({ serverName: 'sense1', virtualProxy: '/hdr' }, dueAt);
    expect(await jobIds(QUEUE.influx)).toContain(id);
    const q = openQueue({ connection: redis, prefix }, QUEUE.track);
    const job = await q.getJob(id);
    await q.close();
    const data = parseJobData(QUEUE.track, job?.data);
    expect(data).toMatchObject({
      kind: 'track_result',
      serverName: 'sense1',
      virtualProxy: '/hdr',
      intervalMs: INTERVAL,
      intervalStart: intervalStartOf(dueAt, INTERVAL),
    });
    if (data.kind !== 'track_result') throw new Error('not a result');
    expect(data.sessions).toHaveLength(3);
    expect(Object.keys(data.sessions[0]!).sort()).toEqual(['sessionId', 'userDirectory', 'userId']);
    // Without it, the tracker gets nothing.
    const later = dueAt + 1;
    await handler()(scheduledJob('/hdr', later));
    expect(await jobIds(QUEUE.track)).not.toContain(
      resultJobId({ serverName: 'sense1', virtualProxy: '/hdr' }, later),
    );
  });

  it('delivers only to the sinks that are enabled', async () => {
    const mqttOnly = settingsWith({ influx: false });
    const dueAt = Date.now() - 50;
    expect((await handler({ settings: () => mqttOnly })(scheduledJob('/', dueAt))).outcome).toBe('ok');
    const id = resultJobId({ serverName: 'sense1', virtualProxy: '/' }, dueAt);
    expect(await jobIds(QUEUE.mqtt)).toContain(id);
    expect(await jobIds(QUEUE.influx)).not.toContain(id);
  });

  it('counts and reports delivery markers that could not be written', async () => {
    // The markers' own failure is the delivery's (result-delivery tests); here it reports one.
    const lossy: PollHandlerDeps['delivery'] = {
      deliver: async (jobs) => {
        await delivery.deliver(jobs);
        return {
          markers: 'not_written',
          error: new Error('READONLY You can’t write against a read only replica.'),
        };
      },
      deliveredInGroup: (id) => delivery.deliveredInGroup(id),
    };
    const outcome = await handler({ delivery: lossy })(scheduledJob('/', Date.now() - 60));
    expect(outcome.outcome).toBe('ok');
    expect(await metric('qsm_delivery_markers_lost_total')).toBe(1);
    expect(logs.messages('warn')).toEqual([
      'delivery markers not written: a retried poll may deliver this result a second time',
    ]);
  });
});
