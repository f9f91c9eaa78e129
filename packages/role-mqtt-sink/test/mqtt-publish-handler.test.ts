import type { MqttSinkJob } from '@qsm/model';
import { createMqttPublisher, type MqttPublisher } from '@qsm/mqtt';
import { type Job, PermanentJobError, RetryableJobError } from '@qsm/queues';
import { createPublishedSnapshots } from '@qsm/redis';
import { createGiveUpLog } from '@qsm/sink';
import {
  captureLogs,
  cleanupRedisPrefix,
  collectMqtt,
  freePort,
  type MqttCollector,
  samplePollResult,
  services,
  uniqueName,
  waitUntil,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMqttPublishHandler } from '../src/mqtt-publish-handler.js';

const prefix = uniqueName('mqtt_publish');
const base = `qsm-test/${uniqueName('publish')}/`;
let redis: Redis;
let publisher: MqttPublisher;
let collector: MqttCollector;

beforeAll(async () => {
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  publisher = createMqttPublisher({ url: services.mqttUrl }, 2000);
  collector = await collectMqtt(`${base}#`);
});

afterAll(async () => {
  await collector.close();
  await publisher.close();
  redis.disconnect();
  await cleanupRedisPrefix(prefix);
});

function setup(options: { publisher?: MqttPublisher; maxAgeMs?: number; baseTopic?: () => string } = {}) {
  const logs = captureLogs('mqtt-sink');
  const registry = new Registry();
  const counter = new Counter({
    name: 'given_up',
    help: 'results given up',
    labelNames: ['sink'],
    registers: [registry],
  });
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const givenUp = createGiveUpLog(logs.logger, { sink: 'mqtt', maxAgeMs, counter });
  const handle = createMqttPublishHandler({
    publisher: options.publisher ?? publisher,
    snapshots: createPublishedSnapshots(redis, prefix),
    baseTopic: options.baseTopic ?? (() => base),
    qos: 1,
    retain: false,
    maxAgeMs,
    givenUp,
    registry,
  });
  return { logs, registry, handle };
}

async function metricValue(registry: Registry, name: string) {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

const jobOf = (id: string, data: unknown) => ({ id, data }) as Job<MqttSinkJob>;
const sessions = [{ UserDirectory: 'LAB', UserId: 'alice', SessionId: 's1', Attributes: [] }];
const received = (topic: string) => collector.messages.filter((m) => m.topic === topic);

describe('the MQTT sink publishing a result', () => {
  it("publishes every session to Butler SOS's topic, and returns the topic and the result's age", async () => {
    const { registry, handle } = setup();
    const polledAt = Date.now() - 1000;
    const result = samplePollResult(sessions, { polledAt, virtualProxy: '/hdr' });
    const outcome = await handle(jobOf('r1', result));
    const topic = `${base}sense1.lab/usersession/hdr`;
    expect(outcome).toMatchObject({ topic, sessions: 1 });
    expect((outcome as { ageMs: number }).ageMs).toBeGreaterThanOrEqual(1000);
    await waitUntil(() => received(topic).length === 1, 'the snapshot at the subscriber');
    expect(received(topic)[0]).toMatchObject({ qos: 1, retain: false });
    expect(JSON.parse(received(topic)[0]!.payload)).toEqual(sessions);
    expect(await metricValue(registry, 'qsm_mqtt_messages_published_total')).toBe(1);
    expect(await metricValue(registry, 'qsm_result_delivery_seconds')).toBeGreaterThan(0);
  });

  it('takes the base topic of the config as it is when the job comes', async () => {
    let current = `${base}one/`;
    const { handle } = setup({ baseTopic: () => current });
    await handle(jobOf('r1', samplePollResult([], { polledAt: Date.now(), virtualProxy: '/bt' })));
    current = `${base}two/`;
    await handle(jobOf('r2', samplePollResult([], { polledAt: Date.now(), virtualProxy: '/bt' })));
    await waitUntil(
      () => received(`${base}two/sense1.lab/usersession/bt`).length === 1,
      'the second snapshot',
    );
    expect(received(`${base}one/sense1.lab/usersession/bt`)).toHaveLength(1);
  });

  it('does not publish a snapshot older than the one its topic carries', async () => {
    const { registry, handle } = setup();
    const now = Date.now();
    await handle(jobOf('new', samplePollResult(sessions, { polledAt: now, virtualProxy: '/old' })));
    const outcome = await handle(
      jobOf('old', samplePollResult([], { polledAt: now - 5000, virtualProxy: '/old' })),
    );
    expect(outcome).toEqual({ topic: `${base}sense1.lab/usersession/old`, skipped: 'superseded' });
    expect(await metricValue(registry, 'qsm_mqtt_snapshots_superseded_total')).toBe(1);
    expect(await metricValue(registry, 'qsm_mqtt_messages_published_total')).toBe(1);
  });

  it("publishes a topic's snapshots taken together oldest first", async () => {
    const { handle } = setup();
    const now = Date.now();
    const times = [now - 100, now - 300, now - 200];
    await Promise.all(
      times.map((polledAt, i) =>
        handle(
          jobOf(
            `r${i}`,
            samplePollResult([{ ...sessions[0], UserId: `u${polledAt}` }], {
              polledAt,
              virtualProxy: '/seq',
            }),
          ),
        ),
      ),
    );
    const topic = `${base}sense1.lab/usersession/seq`;
    await waitUntil(() => received(topic).length === 3, 'three snapshots');
    const users = received(topic).map((m) => (JSON.parse(m.payload) as Array<{ UserId: string }>)[0]!.UserId);
    expect(users).toEqual([now - 300, now - 200, now - 100].map((t) => `u${t}`));
  });

  it('gives up a result older than SINK_MAX_AGE_MS without publishing it', async () => {
    const { logs, registry, handle } = setup({ maxAgeMs: 10_000 });
    const error = await handle(
      jobOf('stale', samplePollResult([], { polledAt: Date.now() - 20_000, virtualProxy: '/stale' })),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as Error).message).toMatch(
      /^result_too_old: polled 20 s ago, longer than SINK_MAX_AGE_MS \(10000 ms\) before the broker could take it: not published$/,
    );
    expect(await metricValue(registry, 'given_up')).toBe(1);
    expect(logs.lines).toMatchObject([{ jobId: 'stale', sink: 'mqtt', level: 50 }]);
    expect(received(`${base}sense1.lab/usersession/stale`)).toEqual([]);
  });

  it('fails a malformed result for good, naming the field', async () => {
    const { handle } = setup();
    const bad = { ...samplePollResult([]), virtualProxy: 42 };
    const error = await handle(jobOf('bad', bad)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as Error).message).toMatch(/^invalid_job: virtualProxy: /);
  });

  it('tries again later while the broker is away, and may then publish the same snapshot', async () => {
    const away = createMqttPublisher({ url: `mqtt://127.0.0.1:${await freePort()}` }, 300);
    try {
      const { handle } = setup({ publisher: away });
      const result = samplePollResult(sessions, { polledAt: Date.now(), virtualProxy: '/away' });
      const error = await handle(jobOf('r1', result)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryableJobError);
      expect((error as RetryableJobError).category).toBe('mqtt_unavailable');
      // The failed try claimed the topic for this snapshot; the retry, through a connected broker, publishes.
      expect(await setup().handle(jobOf('r1', result))).toMatchObject({ sessions: 1 });
    } finally {
      await away.close();
    }
  });
});

describe("the MQTT sink publishing the tracker's records", () => {
  const eventsRecord = (time: number, virtualProxy: string, userIds: string[]) => ({
    v: 1,
    kind: 'session_events',
    serverName: 'sense1',
    serverDescription: 'Central',
    hostName: 'sense1.lab',
    serverTags: {},
    qpsHost: 'sense1.lab:4243',
    virtualProxy,
    time,
    pollIntervalMs: 30_000,
    events: userIds.map((userId, i) => ({
      event: i % 2 === 0 ? 'start' : 'end',
      sessionId: `s-${userId}`,
      userDirectory: 'LAB',
      userId,
      firstSeen: time - 60_000,
      lastSeen: i % 2 === 0 ? time - 60_000 : time - 30_000,
      startKnown: true,
      ...(i % 2 === 0 ? {} : { reason: 'gone' }),
    })),
  });
  const figures = (intervalStart: number, uniqueUsers: number) => ({
    v: 1,
    kind: 'site_figures',
    intervalStart,
    intervalMs: 30_000,
    sessionLimitWarn: 4,
    site: {
      uniqueUsers,
      sessionCount: uniqueUsers,
      maxSessionsPerUser: 1,
      usersAtLimit: 0,
      proxiesPolled: 1,
      proxiesFailed: 0,
    },
    servers: [],
    usersAtLimit: [],
  });

  it("publishes one message per event, in order, to the proxy's event topic, never retained", async () => {
    const { registry, handle } = setup();
    const time = Date.now() - 500;
    const outcome = await handle(jobOf('e1', eventsRecord(time, '/ev', ['a,b=c', 'new\nline', 'ünï'])));
    const topic = `${base}sense1.lab/usersessionevent/ev`;
    expect(outcome).toMatchObject({ topic, events: 3 });
    await waitUntil(() => received(topic).length === 3, 'three event messages');
    const messages = received(topic).map((m) => ({ ...m, body: JSON.parse(m.payload) }));
    expect(messages.map((m) => m.body.userId)).toEqual(['a,b=c', 'new\nline', 'ünï']);
    expect(messages.map((m) => m.body.event)).toEqual(['start', 'end', 'start']);
    expect(messages.every((m) => m.qos === 1 && m.retain === false)).toBe(true);
    expect(await metricValue(registry, 'qsm_mqtt_messages_published_total')).toBe(0);
    expect(messages[1]!.body).toMatchObject({
      durationMs: 30_000,
      reason: 'gone',
      time: new Date(time).toISOString(),
    });
    expect(await metricValue(registry, 'qsm_mqtt_tracking_messages_published_total')).toBe(3);
  });

  it('publishes every events record, an older one after a newer one too (events are not snapshots)', async () => {
    const { handle } = setup();
    const now = Date.now();
    await handle(jobOf('n', eventsRecord(now, '/evs', ['new'])));
    expect(await handle(jobOf('o', eventsRecord(now - 5000, '/evs', ['old'])))).toMatchObject({ events: 1 });
    const topic = `${base}sense1.lab/usersessionevent/evs`;
    await waitUntil(() => received(topic).length === 2, 'both records');
  });

  it('publishes the site figures to usersessionsite, and skips an interval older than the one published', async () => {
    const siteBase = `${base}site1/`;
    const { handle } = setup({ baseTopic: () => siteBase });
    const start = Math.floor(Date.now() / 30_000) * 30_000;
    const topic = `${siteBase}usersessionsite`;
    expect(await handle(jobOf('f2', figures(start, 7)))).toMatchObject({ topic, site: true });
    expect(await handle(jobOf('f1', figures(start - 30_000, 3)))).toEqual({ topic, skipped: 'superseded' });
    await waitUntil(() => received(topic).length === 1, 'the site figures');
    expect(JSON.parse(received(topic)[0]!.payload)).toMatchObject({
      intervalStart: new Date(start).toISOString(),
      site: { uniqueUsers: 7 },
      usersAtLimit: [],
    });
  });

  it('gives up site figures whose interval ended longer ago than SINK_MAX_AGE_MS', async () => {
    const { handle } = setup({ maxAgeMs: 10_000 });
    const error = await handle(jobOf('old-f', figures(Date.now() - 60_000, 1))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as PermanentJobError).category).toBe('result_too_old');
  });
});
