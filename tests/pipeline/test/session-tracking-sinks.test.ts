import type { CertificateSet } from '@qsm/dev-certs';
import type { SessionEvent, SessionEventsRecord, SiteFiguresRecord } from '@qsm/model';
import { createResultDelivery, QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  collectMqtt,
  dropInfluxDatabase,
  influxQuery,
  type MqttCollector,
  rows,
  services,
  startApp,
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
 * Both sinks with the tracker's records, on the real InfluxDB 1.x and the real broker: the test adds
 * SessionEventsRecord and SiteFiguresRecord jobs to the sink queues as the tracker does, so the sinks are
 * tested on their own (the tracker's own tests cover how the records are made).
 */

const prefix = uniqueName('tracking_sinks');
const db = uniqueName('qsm_tracking_sinks');
const baseTopic = `qsm-test/${prefix}/`;
const t0 = Date.now() - 60_000;
const HOSTILE = ['a b,c=d"e\\f', 'new\nline\ttab', '😀 ünï', 'trailing\\', 'x=y'];
let certs: CertificateSet;
let redis: Redis;
let delivery: ReturnType<typeof createResultDelivery>;
let subscriber: MqttCollector;

const event = (
  kind: 'start' | 'end',
  userDirectory: string,
  userId: string,
  sessionId: string,
): SessionEvent => ({
  event: kind,
  sessionId,
  userDirectory,
  userId,
  firstSeen: t0 - 120_000,
  lastSeen: kind === 'start' ? t0 - 120_000 : t0 - 30_000,
  startKnown: kind === 'end',
  ...(kind === 'end' ? { reason: 'gone' as const } : {}),
});

const eventsRecord = (virtualProxy: string, time: number, events: SessionEvent[]): SessionEventsRecord => ({
  v: 1,
  kind: 'session_events',
  serverName: 'sense1',
  serverDescription: 'Central node',
  hostName: 'sense1.lab',
  serverTags: { site: 'HQ' },
  qpsHost: 'sense1.lab:4243',
  virtualProxy,
  time,
  pollIntervalMs: 30_000,
  events,
});

const figures: SiteFiguresRecord = {
  v: 1,
  kind: 'site_figures',
  intervalStart: t0 - 30_000,
  intervalMs: 30_000,
  sessionLimitWarn: 4,
  site: {
    uniqueUsers: 3,
    sessionCount: 9,
    maxSessionsPerUser: 5,
    usersAtLimit: 1,
    proxiesPolled: 3,
    proxiesFailed: 1,
  },
  servers: [
    {
      serverName: 'sense1',
      serverDescription: 'Central node',
      hostName: 'sense1.lab',
      serverTags: { site: 'HQ' },
      uniqueUsers: 2,
      sessionCount: 6,
    },
    {
      serverName: 'sense2',
      serverDescription: 'Rim',
      hostName: 'sense2.lab',
      serverTags: { site: 'DC' },
      uniqueUsers: 2,
      sessionCount: 3,
    },
  ],
  usersAtLimit: [
    {
      userDirectory: 'LAB',
      userId: 'svc',
      sessions: 5,
      proxyCount: 2,
      proxies: [
        { serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxy: '/', sessions: 4 },
        { serverName: 'sense2', qpsHost: 'sense2.lab:4243', virtualProxy: '/', sessions: 1 },
      ],
    },
  ],
};

const records = {
  /** Two sessions of one user starting in one poll, and an excluded user. */
  twoStarts: eventsRecord('/', t0, [
    event('start', 'LAB', 'anna', 'a1'),
    event('start', 'LAB', 'anna', 'a2'),
    event('start', 'LAB', 'sa_scheduler', 'x1'),
  ]),
  hostile: eventsRecord('/hdr', t0 + 1000, [
    ...HOSTILE.map((userId, i) => event('end', 'dir with space', userId, `h${i}`)),
  ]),
};

const send = (id: string, data: SessionEventsRecord | SiteFiguresRecord) =>
  delivery.deliver([
    { queue: QUEUE.influx, id, data },
    { queue: QUEUE.mqtt, id, data },
  ]);

beforeAll(async () => {
  certs = await testCertificates('tracking-sinks');
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  delivery = createResultDelivery({ connection: redis, prefix });
  subscriber = await collectMqtt(`${baseTopic}#`);
  const configFile = writeButlerConfig(tempDir('tracking-sinks'), {
    certs,
    servers: [{ serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxies: ['/'] }],
    influx: { db },
    mqtt: { baseTopic },
    excludeUser: [{ directory: 'LAB', userId: 'sa_scheduler' }],
  });
  await startApp('influx-sink', { configFile, prefix, env: { SESSION_EVENTS_AS_USER_EVENTS: 'true' } });
  await startApp('mqtt-sink', { configFile, prefix });
  await send('events-two-starts', records.twoStarts);
  await send('events-hostile', records.hostile);
  await send('site-figures', figures);
});

afterAll(async () => {
  await subscriber?.close();
  await delivery?.close();
  redis?.disconnect();
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
});

const eventRows = async (where = '') =>
  rows(await influxQuery(db, `SELECT * FROM "user_session_events" ${where} GROUP BY *`));

describe('the InfluxDB sink with session events', () => {
  it("keeps a user's two sessions that started in one poll apart, and leaves the excluded user out", async () => {
    await waitUntil(
      async () => (await eventRows(`WHERE "user_session_virtual_proxy" = '/'`)).length >= 2,
      'the starts',
    );
    const starts = await eventRows(`WHERE "user_session_virtual_proxy" = '/'`);
    expect(starts.map((r) => r.session_id).sort()).toEqual(['a1', 'a2']);
    for (const row of starts) {
      expect(row).toMatchObject({
        event: 'start',
        host: 'sense1.lab',
        server_name: 'sense1',
        server_description: 'Central node',
        site: 'HQ',
        user_session_host: 'sense1.lab:4243',
        user_session_user_directory: 'LAB',
        user_session_user_id: 'anna',
        first_seen_ms: t0 - 120_000,
        last_seen_ms: t0 - 120_000,
        start_known: false,
        time: t0,
      });
      expect(row.duration_ms).toBeNull();
      expect(row.reason).toBeNull();
    }
  });

  it('reads hostile identities back exactly, in tags and fields, with durations and reasons of ends', async () => {
    await waitUntil(
      async () => (await eventRows(`WHERE "event" = 'end'`)).length >= HOSTILE.length,
      'the ends',
    );
    const ends = await eventRows(`WHERE "event" = 'end'`);
    expect(ends.map((r) => r.user_id).sort()).toEqual([...HOSTILE].sort());
    for (const row of ends) {
      expect(row.user_directory).toBe('dir with space');
      expect(row.user_session_user_directory).toBe('dir with space');
      expect(row).toMatchObject({ duration_ms: 90_000, reason: 'gone', start_known: true, time: t0 + 1000 });
    }
    // A tag cannot carry a newline (written as \n) nor end in a backslash (a space is appended).
    const tagOf = (userId: string) => ends.find((r) => r.user_id === userId)?.user_session_user_id;
    expect(tagOf('a b,c=d"e\\f')).toBe('a b,c=d"e\\f');
    expect(tagOf('😀 ünï')).toBe('😀 ünï');
    expect(tagOf('new\nline\ttab')).toBe('new\\nline\ttab');
    expect(tagOf('trailing\\')).toBe('trailing\\ ');
    // Integer fields: InfluxDB reports their type.
    const types = rows(await influxQuery(db, 'SHOW FIELD KEYS FROM "user_session_events"'));
    expect(Object.fromEntries(types.map((r) => [r.fieldKey, r.fieldType]))).toEqual({
      duration_ms: 'integer',
      first_seen_ms: 'integer',
      last_seen_ms: 'integer',
      reason: 'string',
      session_id: 'string',
      start_known: 'boolean',
      user_directory: 'string',
      user_id: 'string',
    });
  });

  it("writes Butler SOS's user_events with SESSION_EVENTS_AS_USER_EVENTS, the excluded user left out", async () => {
    const query = 'SELECT * FROM "user_events" GROUP BY *';
    await waitUntil(async () => rows(await influxQuery(db, query)).length >= 7, 'the user events');
    const userEvents = rows(await influxQuery(db, query));
    expect(userEvents).toHaveLength(2 + HOSTILE.length);
    expect(userEvents.filter((r) => r.event_action === 'Start session')).toHaveLength(2);
    expect(userEvents.filter((r) => r.event_action === 'Stop session')).toHaveLength(HOSTILE.length);
    expect(userEvents.find((r) => r.userId === 'anna')).toMatchObject({
      host: 'sense1.lab',
      origin: 'session-poll',
      site: 'HQ',
      userDirectory: 'LAB',
      userFull: 'LAB\\anna',
    });
    expect(userEvents.some((r) => r.userId === 'sa_scheduler')).toBe(false);
  });

  it('writes the site figures at the interval start: the site, and each server with its tags', async () => {
    const query = 'SELECT * FROM "user_session_site" GROUP BY *';
    await waitUntil(async () => rows(await influxQuery(db, query)).length === 3, 'three site points');
    const points = rows(await influxQuery(db, query));
    expect(points.find((p) => p.scope === 'site')).toMatchObject({
      time: figures.intervalStart,
      unique_users: 3,
      session_count: 9,
      max_sessions_per_user: 5,
      users_at_limit: 1,
      proxies_polled: 3,
      proxies_failed: 1,
    });
    expect(points.find((p) => p.server_name === 'sense2')).toMatchObject({
      scope: 'server',
      host: 'sense2.lab',
      site: 'DC',
      server_description: 'Rim',
      unique_users: 2,
      session_count: 3,
      time: figures.intervalStart,
    });
  });
});

describe('the MQTT sink with session events', () => {
  it('publishes one message per event, the excluded user included, hostile identities exact', async () => {
    const startsTopic = `${baseTopic}sense1.lab/usersessionevent/`;
    const endsTopic = `${baseTopic}sense1.lab/usersessionevent/hdr`;
    const on = (topic: string) => subscriber.messages.filter((m) => m.topic === topic);
    await waitUntil(
      () => on(startsTopic).length === 3 && on(endsTopic).length === HOSTILE.length,
      'the events',
    );
    expect(on(startsTopic).map((m) => JSON.parse(m.payload).userId)).toEqual([
      'anna',
      'anna',
      'sa_scheduler',
    ]);
    expect(on(endsTopic).map((m) => JSON.parse(m.payload).userId)).toEqual(HOSTILE);
    expect(JSON.parse(on(endsTopic)[0]!.payload)).toEqual({
      event: 'end',
      serverName: 'sense1',
      qpsHost: 'sense1.lab:4243',
      virtualProxy: '/hdr',
      userDirectory: 'dir with space',
      userId: HOSTILE[0],
      sessionId: 'h0',
      firstSeen: new Date(t0 - 120_000).toISOString(),
      lastSeen: new Date(t0 - 30_000).toISOString(),
      time: new Date(t0 + 1000).toISOString(),
      durationMs: 90_000,
      startKnown: true,
      reason: 'gone',
      pollIntervalMs: 30_000,
    });
    expect(on(endsTopic).every((m) => m.qos === 1 && m.retain === false)).toBe(true);
  });

  it('publishes the site figures with the users at the limit and where their sessions are', async () => {
    const topic = `${baseTopic}usersessionsite`;
    await waitUntil(() => subscriber.messages.some((m) => m.topic === topic), 'the site figures');
    const message = JSON.parse(subscriber.messages.find((m) => m.topic === topic)!.payload);
    expect(message).toMatchObject({
      intervalStart: new Date(figures.intervalStart).toISOString(),
      intervalMs: 30_000,
      sessionLimitWarn: 4,
      site: figures.site,
      usersAtLimit: figures.usersAtLimit,
    });
    expect(message.servers).toHaveLength(2);
  });
});
