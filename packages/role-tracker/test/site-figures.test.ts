import type { Settings } from '@qsm/config';
import type { ServerIdentity, SiteFiguresRecord, TrackResultJob } from '@qsm/model';
import { createResultDelivery, openQueue, QUEUE, type QueueContext } from '@qsm/queues';
import { createSiteIntervals } from '@qsm/redis';
import { cleanupRedisPrefix, services, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSiteFiguresGauges } from '../src/site-figures-metrics.js';
import { createSiteIntervalHandler, type SiteIntervalHandlerDeps } from '../src/site-interval-handler.js';
import { siteIntervalDelay, siteIntervalJobId } from '../src/site-interval-jobs.js';
import { createSiteIntervalScheduler } from '../src/site-interval-scheduler.js';
import { createSiteSummaryRecorder } from '../src/site-summary-recorder.js';

/*
 * The site figures' Redis and queue side against the real Redis and real BullMQ queues: what the
 * results record, and the interval job that computes and delivers the figures exactly once.
 */

const prefix = uniqueName('site-figures');
const MS = 30_000;
let connection: Redis;
let context: QueueContext;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(() => {
  connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  context = { connection, prefix };
});

afterAll(async () => {
  for (const close of closers) await close();
  connection.disconnect();
  await cleanupRedisPrefix(prefix);
});

const settingsWith = (enabled: { influx: boolean; mqtt: boolean }) =>
  ({
    userSessions: { pollingInterval: MS, excludeUser: [{ directory: 'LAB', userId: 'bot' }] },
    influxdbConfig: { enable: enabled.influx },
    mqttConfig: { enable: enabled.mqtt },
  }) as Settings;

const identity = (serverName: string, virtualProxy: string): ServerIdentity => ({
  serverName,
  serverDescription: `${serverName} description`,
  hostName: `${serverName}.corp`,
  serverTags: { env: 'prod' },
  qpsHost: `${serverName}.corp:4243`,
  virtualProxy,
});

function result(intervalStart: number, who: ServerIdentity, users: string[], late = 0): TrackResultJob {
  return {
    v: 1,
    kind: 'track_result',
    ...who,
    polledAt: intervalStart + 100 + late,
    durationMs: 5,
    intervalStart,
    intervalMs: MS,
    sessions: users.map((u, i) => {
      const [userDirectory, userId] = u.split('\\') as [string, string];
      return { sessionId: `${who.serverName}${who.virtualProxy}${i}`, userDirectory, userId };
    }),
  };
}

const s1 = identity('sense1', '/');
const s1hdr = identity('sense1', '/hdr');
const s2 = identity('sense2', '/');
const EXPECTED = ['poll|sense1|%2F', 'poll|sense1|%2Fhdr', 'poll|sense2|%2F'];

/** A tracker's side of the site figures, on its own connection, as each tracker process has. */
function tracker(
  now: () => number,
  overrides: Partial<SiteIntervalHandlerDeps> = {},
  enabled = { influx: true, mqtt: true },
) {
  const own = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  const ownContext = { connection: own, prefix };
  const intervals = createSiteIntervals(own, prefix);
  const delivery = createResultDelivery(ownContext);
  const scheduler = createSiteIntervalScheduler(ownContext, now);
  closers.push(delivery.close, scheduler.close, async () => own.disconnect());
  const recorder = createSiteSummaryRecorder({
    intervals,
    scheduleInterval: scheduler.scheduleInterval,
    expectedTargets: async () => EXPECTED,
    computeNow: scheduler.computeNow,
    logger: { debug: () => {} },
  });
  const handle = createSiteIntervalHandler({
    intervals,
    expectedTargets: async () => EXPECTED,
    settings: () => settingsWith(enabled),
    sessionLimitWarn: 3,
    deliver: async (jobs) => {
      await delivery.deliver(jobs);
    },
    scheduleInterval: scheduler.scheduleInterval,
    now,
    logger: { warn: () => {}, debug: () => {} },
    ...overrides,
  });
  return { recorder, handle, intervals };
}

async function sinkJob(queue: typeof QUEUE.influx | typeof QUEUE.mqtt, id: string) {
  const q = openQueue(context, queue);
  try {
    const job = await q.getJob(id);
    return job ? { name: job.name, data: job.data as SiteFiguresRecord } : undefined;
  } finally {
    await q.close();
  }
}

async function sinkJobCount(queue: typeof QUEUE.influx | typeof QUEUE.mqtt) {
  const q = openQueue(context, queue);
  try {
    return (await q.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).filter((j) =>
      j.id?.startsWith('site|'),
    ).length;
  } finally {
    await q.close();
  }
}

describe('site figures of an interval', () => {
  const start = 1_800_000_000_000 - (1_800_000_000_000 % MS);

  it('are computed once from every proxy summary, a failed one contributing its previous interval, with two trackers at once', async () => {
    const now = () => start + MS + 1000;
    const a = tracker(now);
    const b = tracker(now);
    // The previous interval: every proxy reported.
    await a.recorder.record(result(start - MS, s1, ['LAB\\anna']));
    await b.recorder.record(result(start - MS, s1hdr, ['LAB\\anna', 'LAB\\carl']));
    await a.recorder.record(result(start - MS, s2, ['lab\\ANNA']));
    // This interval: sense1 /hdr failed; a retried result of sense2 is recorded twice, the same.
    await a.recorder.record(result(start, s1, ['LAB\\anna', 'LAB\\bot', 'LAB\\bot', 'LAB\\bot']));
    await b.recorder.record(result(start, s2, ['lab\\ANNA', 'LAB\\dave']));
    await a.recorder.record(result(start, s2, ['lab\\ANNA', 'LAB\\dave']));

    const outcomes = await Promise.all([a.handle({ start, ms: MS }), b.handle({ start, ms: MS })]);
    // One claims and delivers; the other finds the records delivered, or still in the outbox and delivers
    // them again under the same job ids.
    expect(outcomes.filter((o) => o === 'written')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'written')[0]).toMatch(/^(already_written|written_on_retry)$/);

    const mqtt = await sinkJob(QUEUE.mqtt, `site|${start}`);
    const influx = await sinkJob(QUEUE.influx, `site|${start}`);
    expect(mqtt?.name).toBe('site-figures');
    expect(mqtt?.data.site).toEqual({
      uniqueUsers: 4,
      sessionCount: 8,
      maxSessionsPerUser: 3,
      usersAtLimit: 2,
      proxiesPolled: 2,
      proxiesFailed: 1,
    });
    expect(mqtt?.data.usersAtLimit.map((u) => [u.userId, u.sessions])).toEqual([
      ['anna', 3],
      ['bot', 3],
    ]);
    // The InfluxDB copy has no blacklisted LAB\bot.
    expect(influx?.data.site).toEqual({
      uniqueUsers: 3,
      sessionCount: 5,
      maxSessionsPerUser: 3,
      usersAtLimit: 1,
      proxiesPolled: 2,
      proxiesFailed: 1,
    });
    expect(await sinkJobCount(QUEUE.mqtt)).toBe(1);
    expect(await sinkJobCount(QUEUE.influx)).toBe(1);
    // Computing again (a late result re-added the job) writes nothing new.
    expect(await b.handle({ start, ms: MS })).toBe('already_written');
    expect(await sinkJobCount(QUEUE.mqtt)).toBe(1);
  });

  it('added by the first result of an interval, delayed to its end, and by each interval for the next', async () => {
    const next = start + 10 * MS;
    const now = () => next + 1000;
    const a = tracker(now);
    await a.recorder.record(result(next, s1, ['LAB\\anna']));
    await a.recorder.record(result(next, s2, ['LAB\\anna']));
    const track = openQueue(context, QUEUE.track);
    closers.push(() => track.close());
    const job = await track.getJob(siteIntervalJobId(next));
    expect(job?.data).toEqual({ v: 1, kind: 'site_interval', intervalStart: next, intervalMs: MS });
    expect(job?.opts.delay).toBe(siteIntervalDelay({ start: next, ms: MS }, now()));
    expect(job?.opts.delay).toBe(MS - 1000 + 5000);
    expect(await track.getJob(siteIntervalJobId(next + MS))).toBeUndefined();
    await a.handle({ start: next, ms: MS });
    expect((await track.getJob(siteIntervalJobId(next + MS)))?.data).toMatchObject({
      intervalStart: next + MS,
    });
  });

  it('are computed at once when every expected proxy has reported', async () => {
    const early = start + 15 * MS;
    const a = tracker(() => early + 500);
    const b = tracker(() => early + 500);
    const track = openQueue(context, QUEUE.track);
    closers.push(() => track.close());
    const state = async () => (await track.getJob(siteIntervalJobId(early)))?.getState();
    await a.recorder.record(result(early, s1, ['LAB\\anna']));
    await b.recorder.record(result(early, s2, ['LAB\\anna']));
    // A proxy that is not expected does not make up for one that is.
    await b.recorder.record(result(early, identity('sense9', '/'), ['LAB\\anna']));
    expect(await state()).toBe('delayed');
    await a.recorder.record(result(early, s1hdr, ['LAB\\anna']));
    expect(await state()).toBe('waiting');
  });

  it('are delivered again from the claimed outbox when the first attempt died before delivering', async () => {
    const later = start + 20 * MS;
    const now = () => later + MS + 1000;
    let failDelivery = true;
    const a = tracker(now, {
      deliver: async () => {
        if (failDelivery) throw new Error('Redis went away');
      },
    });
    await a.recorder.record(result(later, s1, ['LAB\\anna']));
    await expect(a.handle({ start: later, ms: MS })).rejects.toThrow('Redis went away');
    failDelivery = false;
    // A result recorded after the claim does not change the claimed records.
    const b = tracker(now);
    await b.recorder.record(result(later, s2, ['LAB\\bob']));
    expect(await b.handle({ start: later, ms: MS })).toBe('written_on_retry');
    const mqtt = await sinkJob(QUEUE.mqtt, `site|${later}`);
    expect(mqtt?.data.site).toMatchObject({ uniqueUsers: 1, proxiesPolled: 1, proxiesFailed: 2 });
    expect(await b.handle({ start: later, ms: MS })).toBe('already_written');
  });

  it('go only to the enabled sinks, and feed the gauges of every tracker with the MQTT copy', async () => {
    const last = start + 30 * MS;
    const a = tracker(() => last + MS + 1000, {}, { influx: false, mqtt: false });
    await a.recorder.record(result(last, s1, ['LAB\\anna', 'LAB\\bot']));
    expect(await a.handle({ start: last, ms: MS })).toBe('written');
    expect(await sinkJob(QUEUE.influx, `site|${last}`)).toBeUndefined();
    expect(await sinkJob(QUEUE.mqtt, `site|${last}`)).toBeUndefined();

    const registry = new Registry();
    registerSiteFiguresGauges(registry, createSiteIntervals(connection, prefix), { debug: () => {} });
    const text = await registry.metrics();
    expect(text).toContain('qsm_site_unique_users 2');
    expect(text).toContain('qsm_site_sessions 2');
    expect(text).toContain('qsm_site_proxies_polled 1');
    expect(text).toContain('qsm_site_proxies_failed 2');
    expect(text).toContain('qsm_site_users_at_limit 0');
    expect(text).toContain('qsm_site_max_sessions_per_user 1');
  });
});
