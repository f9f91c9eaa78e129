import { PAYLOAD_VERSION, sessionEventsRecordSchema, type TrackJob, type TrackResultJob } from '@qsm/model';
import { createResultDelivery, openQueue, PermanentJobError, QUEUE, type ResultDelivery } from '@qsm/queues';
import { createTrackingStore } from '@qsm/redis';
import { captureLogs, cleanupRedisPrefix, metricValue, services, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrackHandler, sessionEventsJobId, trackOutboxId } from '../src/track-handler.js';
import { trackerMetrics } from '../src/tracker-metrics.js';

const prefix = uniqueName('track_handler');
let redis: Redis;
let delivery: ResultDelivery;
const logs = captureLogs('tracker');

beforeAll(() => {
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  delivery = createResultDelivery({ connection: redis, prefix });
});

afterAll(async () => {
  await delivery.close();
  redis.disconnect();
  await cleanupRedisPrefix(prefix);
});

const T0 = 1_733_000_000_000;
const INTERVAL = 30_000;

function result(virtualProxy: string, polledAt: number, ids: string[]): TrackResultJob {
  return {
    v: PAYLOAD_VERSION,
    kind: 'track_result',
    serverName: 'sense1',
    serverDescription: 'Sense 1',
    hostName: 'sense1.lab',
    serverTags: { site: 'lab' },
    qpsHost: 'sense1.lab:4243',
    virtualProxy,
    polledAt,
    durationMs: 3,
    intervalStart: polledAt - (polledAt % INTERVAL),
    intervalMs: INTERVAL,
    sessions: ids.map((sessionId) => ({ sessionId, userDirectory: 'LAB', userId: `u-${sessionId}` })),
  };
}

function handler(
  options: {
    queues?: Array<typeof QUEUE.influx | typeof QUEUE.mqtt>;
    beforeDelivery?: () => Promise<void>;
  } = {},
) {
  const registry = new Registry();
  const handle = createTrackHandler({
    store: createTrackingStore(redis, prefix),
    delivery,
    sinkQueues: () => options.queues ?? [QUEUE.influx, QUEUE.mqtt],
    metrics: trackerMetrics(registry),
    logger: logs.logger,
    ...(options.beforeDelivery ? { beforeDelivery: options.beforeDelivery } : {}),
    now: () => T0 + 10 * INTERVAL,
  });
  return {
    handle: (data: TrackJob) => handle({ data }),
    metric: async (name: string, labels: Record<string, string> = {}) =>
      metricValue(await registry.metrics(), name, labels),
  };
}

async function job(queue: typeof QUEUE.influx | typeof QUEUE.mqtt, id: string) {
  const q = openQueue({ connection: redis, prefix }, queue);
  try {
    return await q.getJob(id);
  } finally {
    await q.close();
  }
}

const outboxes = async () => redis.keys(`${prefix}:qsm:track:outbox:*`);

describe('the track handler', () => {
  it('delivers one SessionEventsRecord per enabled sink queue under an id derived from the poll, then clears the outbox', async () => {
    const { handle, metric } = handler();
    const first = result('/', T0, ['a', 'b']);
    expect(await handle(first)).toEqual({
      outcome: 'applied',
      starts: 2,
      ends: 0,
      delivered: [QUEUE.influx, QUEUE.mqtt],
    });
    const id = sessionEventsJobId(trackOutboxId(first));
    expect(id).toBe(`poll|sense1|%2F|${T0}|events`);
    const influx = await job(QUEUE.influx, id);
    const mqtt = await job(QUEUE.mqtt, id);
    expect(influx?.name).toBe('session-events');
    expect(mqtt?.data).toEqual(influx?.data);
    const record = sessionEventsRecordSchema.parse(influx?.data);
    expect(record).toMatchObject({
      kind: 'session_events',
      serverName: 'sense1',
      serverDescription: 'Sense 1',
      hostName: 'sense1.lab',
      serverTags: { site: 'lab' },
      qpsHost: 'sense1.lab:4243',
      virtualProxy: '/',
      time: T0,
      pollIntervalMs: INTERVAL,
    });
    expect(record.events).toEqual([
      {
        event: 'start',
        sessionId: 'a',
        userDirectory: 'LAB',
        userId: 'u-a',
        firstSeen: T0,
        lastSeen: T0,
        startKnown: false,
      },
      {
        event: 'start',
        sessionId: 'b',
        userDirectory: 'LAB',
        userId: 'u-b',
        firstSeen: T0,
        lastSeen: T0,
        startKnown: false,
      },
    ]);
    expect(await outboxes()).toEqual([]);

    // Nothing changed: nothing delivered. Then b ends after 2 intervals.
    expect((await handle(result('/', T0 + INTERVAL, ['a', 'b']))).delivered).toEqual([]);
    const third = result('/', T0 + 2 * INTERVAL, ['a']);
    expect(await handle(third)).toMatchObject({ outcome: 'applied', starts: 0, ends: 1 });
    const ended = sessionEventsRecordSchema.parse(
      (await job(QUEUE.influx, sessionEventsJobId(trackOutboxId(third))))?.data,
    );
    expect(ended.events).toEqual([
      {
        event: 'end',
        sessionId: 'b',
        userDirectory: 'LAB',
        userId: 'u-b',
        firstSeen: T0,
        lastSeen: T0 + INTERVAL,
        startKnown: false,
        reason: 'gone',
      },
    ]);
    expect(await metric('qsm_session_starts_total')).toBe(2);
    expect(await metric('qsm_session_ends_total', { reason: 'gone' })).toBe(1);
    expect(await metric('qsm_session_duration_seconds_sum')).toBe(INTERVAL / 1000);
    expect(await metric('qsm_track_results_total', { outcome: 'applied' })).toBe(3);
    // Lag is observed per delivered change: two of them.
    expect(await metric('qsm_session_event_lag_seconds_count')).toBe(2);
  });

  it('delivers only to the enabled sinks', async () => {
    const { handle } = handler({ queues: [QUEUE.mqtt] });
    const data = result('/mqtt-only', T0, ['a']);
    expect((await handle(data)).delivered).toEqual([QUEUE.mqtt]);
    const id = sessionEventsJobId(trackOutboxId(data));
    expect(await job(QUEUE.influx, id)).toBeUndefined();
    expect(await job(QUEUE.mqtt, id)).toBeDefined();
  });

  it('delivers the outbox of a change whose first attempt died before delivering, once', async () => {
    let crash = true;
    const { handle, metric } = handler({
      async beforeDelivery() {
        if (crash) throw new Error('killed');
      },
    });
    const data = result('/crash', T0, ['a', 'b', 'c']);
    await expect(handle(data)).rejects.toThrow('killed');
    expect(await outboxes()).toHaveLength(1);
    // A newer result applied meanwhile does not hide it.
    crash = false;
    await handle(result('/crash', T0 + INTERVAL, ['a', 'b', 'c']));
    expect(await handle(data)).toMatchObject({ outcome: 'retry', starts: 3 });
    expect(await outboxes()).toEqual([]);
    const id = sessionEventsJobId(trackOutboxId(data));
    expect(sessionEventsRecordSchema.parse((await job(QUEUE.influx, id))?.data).events).toHaveLength(3);
    // Once delivered, the same job again changes nothing.
    expect(await handle(data)).toMatchObject({ outcome: 'older', delivered: [] });
    expect(await metric('qsm_track_results_total', { outcome: 'retry' })).toBe(1);
  });

  it('ignores and counts an older result', async () => {
    const { handle, metric } = handler();
    await handle(result('/late', T0 + INTERVAL, ['a']));
    expect(await handle(result('/late', T0, []))).toEqual({
      outcome: 'older',
      starts: 0,
      ends: 0,
      delivered: [],
    });
    expect(await metric('qsm_track_results_total', { outcome: 'older' })).toBe(1);
  });

  it('ends a retired proxy’s sessions with not_monitored, with its identity from the state', async () => {
    const { handle, metric } = handler();
    await handle(result('/gone', T0, ['a', 'b']));
    const retire: TrackJob = {
      v: PAYLOAD_VERSION,
      kind: 'track_retire',
      serverName: 'sense1',
      virtualProxy: '/gone',
      retiredAt: T0 + 5000,
    };
    expect(await handle(retire)).toMatchObject({ outcome: 'applied', ends: 2 });
    const id = sessionEventsJobId(trackOutboxId(retire));
    expect(id).toBe(`poll|sense1|%2Fgone|retired|${T0 + 5000}|events`);
    const record = sessionEventsRecordSchema.parse((await job(QUEUE.mqtt, id))?.data);
    expect(record).toMatchObject({
      qpsHost: 'sense1.lab:4243',
      serverTags: { site: 'lab' },
      time: T0 + 5000,
    });
    expect(record.events.map((e) => [e.sessionId, e.reason, e.lastSeen])).toEqual([
      ['a', 'not_monitored', T0],
      ['b', 'not_monitored', T0],
    ]);
    expect(await metric('qsm_session_ends_total', { reason: 'not_monitored' })).toBe(2);
    // A result polled before the retirement comes late: kept out.
    expect((await handle(result('/gone', T0 + 1000, ['a']))).outcome).toBe('older');
  });

  it('fails a job it cannot read for good, naming the field', async () => {
    const { handle } = handler();
    const error = await handle({ ...result('/', T0, []), polledAt: 'soon' } as unknown as TrackJob).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(PermanentJobError);
    expect(String(error.message)).toMatch(/^invalid_job: .*polledAt/);
  });
});
