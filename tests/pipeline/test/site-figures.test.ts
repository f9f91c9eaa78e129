import type { CertificateSet } from '@qsm/dev-certs';
import {
  cleanupRedisPrefix,
  collectMqtt,
  dropInfluxDatabase,
  influxQuery,
  type MqttCollector,
  metricValue,
  type RunningApp,
  rows,
  type SimSessionInput,
  type Simulator,
  services,
  sleep,
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
 * The site-wide figures per polling interval through the real apps: scheduler, poller, two tracker
 * processes and both sinks, against the QPS simulator (two servers, two virtual proxies each), Redis,
 * InfluxDB 1.x and Mosquitto. One user has sessions on three proxies of two servers, in two spellings;
 * a blacklisted user is at the limit; then one proxy fails.
 */

const INTERVAL = 2000;
const prefix = uniqueName('site_figures');
const killPrefix = uniqueName('site_figures_kill');
const killDb = uniqueName('qsm_site_figures_kill');
const db = uniqueName('qsm_site_figures');
const baseTopic = `qsm-test/${prefix}/`;
const session = (UserDirectory: string, UserId: string, SessionId: string): SimSessionInput => ({
  UserDirectory,
  UserId,
  SessionId,
});
const SESSIONS: Record<string, SimSessionInput[]> = {
  'sense1 /': [session('LAB', 'anna', 'a-1'), session('LAB', 'anna', 'a-2'), session('LAB', 'bob', 'b-1')],
  'sense1 /hdr': [session('lab', 'ANNA', 'a-3'), session('LAB', 'carl', 'c-1')],
  'sense2 /': [
    session('LAB', 'anna', 'a-4'),
    session('LAB', 'svc-bot', 'x-1'),
    session('LAB', 'svc-bot', 'x-2'),
    session('LAB', 'svc-bot', 'x-3'),
  ],
  'sense2 /hdr': [session('LAB', 'dave', 'd-1'), session('LAB', 'dave', 'd-2')],
};

interface SiteMessage {
  intervalStart: string;
  intervalMs: number;
  sessionLimitWarn: number;
  site: Record<string, number>;
  servers: Array<{ serverName: string; uniqueUsers: number; sessionCount: number }>;
  usersAtLimit: Array<{
    userDirectory: string;
    userId: string;
    sessions: number;
    proxyCount: number;
    proxies: Array<{ serverName: string; qpsHost: string; virtualProxy: string; sessions: number }>;
  }>;
}

let certs: CertificateSet;
let sim: Simulator;
let mqtt: MqttCollector;
const apps: Record<string, RunningApp> = {};
const trackerMetrics: string[] = [];
let faultAt = 0;

const siteMessages = () =>
  mqtt.messages
    .filter((m) => m.topic === `${baseTopic}usersessionsite`)
    .map((m) => JSON.parse(m.payload) as SiteMessage);
const startOf = (m: SiteMessage) => Date.parse(m.intervalStart);
const byStart = () => [...siteMessages()].sort((a, b) => startOf(a) - startOf(b));
const hasDave = (m: SiteMessage) => m.servers.find((s) => s.serverName === 'sense2')?.sessionCount === 6;

/** The intervals from the last one every proxy reported in before the fault to the second failed one. */
function faultSequence(): SiteMessage[] | undefined {
  const ordered = byStart().filter((m) => startOf(m) + INTERVAL >= faultAt - INTERVAL);
  const lastFull = ordered.findLastIndex(
    (m) => m.site.proxiesFailed === 0 && startOf(m) < faultAt + INTERVAL,
  );
  if (lastFull < 0) return undefined;
  const sequence = ordered.slice(lastFull, lastFull + 3);
  return sequence.length === 3 ? sequence : undefined;
}

beforeAll(async () => {
  certs = await testCertificates('site-figures');
  sim = await startSimulator(certs, [
    '--servers',
    '2',
    '--prefixes',
    '/,/hdr',
    '--spread-addresses',
    '--churn',
    '0',
  ]);
  for (const [key, sessions] of Object.entries(SESSIONS)) {
    const [server, proxy] = key.split(' ') as [string, string];
    await sim.setSessions(server, proxy, sessions);
  }
  const configFile = writeButlerConfig(tempDir('site-figures'), {
    certs,
    pollingInterval: INTERVAL,
    excludeUser: [{ directory: 'LAB', userId: 'svc-bot' }],
    serverTagsDefinition: ['server_group'],
    servers: [
      {
        serverName: 'sense1',
        qpsHost: sim.qpsHost('sense1'),
        virtualProxies: ['/', '/hdr'],
        serverTags: { server_group: 'PROD' },
      },
      {
        serverName: 'sense2',
        qpsHost: sim.qpsHost('sense2'),
        virtualProxies: ['/', '/hdr'],
        serverTags: { server_group: 'DEV' },
      },
    ],
    influx: { db },
    mqtt: { baseTopic },
  });
  mqtt = await collectMqtt(`${baseTopic}usersessionsite`);
  const start = (app: Parameters<typeof startApp>[0], name: string) =>
    startApp(app, { configFile, prefix, name, env: { SESSION_LIMIT_WARN: '3' } });
  apps.influx = await start('influx-sink', 'influx-sink');
  apps.mqtt = await start('mqtt-sink', 'mqtt-sink');
  apps.tracker1 = await start('tracker', 'tracker-1');
  apps.tracker2 = await start('tracker', 'tracker-2');
  apps.poller = await start('poller', 'poller');
  apps.scheduler = await start('scheduler', 'scheduler');

  // Two intervals in which every proxy reported, then one proxy fails for good.
  await waitUntil(
    async () => siteMessages().filter((m) => m.site.proxiesPolled === 4).length >= 2,
    'two site figures with every proxy polled',
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  faultAt = Date.now();
  await sim.setFault('sense2', '/hdr', { mode: 'status', status: 500 });
  await waitUntil(async () => faultSequence() !== undefined, 'two intervals with the failed proxy', {
    timeoutMs: 30_000,
    intervalMs: 100,
  });

  await apps.scheduler.stop('SIGTERM');
  await apps.poller.stop('SIGTERM');
  for (const name of ['tracker1', 'tracker2']) trackerMetrics.push(await apps[name]!.metrics());
  await apps.tracker1.stop('SIGTERM');
  await apps.tracker2.stop('SIGTERM');
  // Everything the trackers delivered reaches both destinations.
  await waitUntil(
    async () => {
      const points = rows(
        await influxQuery(db, `SELECT count(unique_users) FROM user_session_site WHERE scope = 'site'`),
      );
      return Number(points[0]?.count ?? 0) === new Set(siteMessages().map(startOf)).size;
    },
    'every interval in InfluxDB',
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  await sleep(500);
}, 120_000);

afterAll(async () => {
  await mqtt?.close();
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await cleanupRedisPrefix(killPrefix);
  await dropInfluxDatabase(db);
  await dropInfluxDatabase(killDb);
});

describe('site figures per interval', () => {
  it('are written exactly once per interval with two tracker processes, to MQTT and InfluxDB alike', async () => {
    const starts = siteMessages().map(startOf);
    expect(starts.length).toBeGreaterThanOrEqual(4);
    expect(new Set(starts).size).toBe(starts.length);
    // One point for every interval from the first result on, none left out, each at its start.
    const sorted = [...starts].sort((a, b) => a - b);
    expect(sorted).toEqual(sorted.map((_, i) => sorted[0]! + i * INTERVAL));
    expect(sorted[0]! % INTERVAL).toBe(0);
    const influxTimes = rows(
      await influxQuery(db, `SELECT unique_users FROM user_session_site WHERE scope = 'site'`),
    )
      .map((r) => Number(r.time))
      .sort((a, b) => a - b);
    expect(influxTimes).toEqual([...starts].sort((a, b) => a - b));
    // Both trackers took part: each applied results, and between them they wrote every interval.
    for (const text of trackerMetrics)
      expect(metricValue(text, 'qsm_track_results_total', { outcome: 'applied' })).toBeGreaterThan(0);
    // Every tracker's gauges show the latest interval written, everyone counted (the MQTT copy).
    const gauges = (text: string) => ({
      uniqueUsers: metricValue(text, 'qsm_site_unique_users'),
      sessionCount: metricValue(text, 'qsm_site_sessions'),
      maxSessionsPerUser: metricValue(text, 'qsm_site_max_sessions_per_user'),
      usersAtLimit: metricValue(text, 'qsm_site_users_at_limit'),
      proxiesPolled: metricValue(text, 'qsm_site_proxies_polled'),
      proxiesFailed: metricValue(text, 'qsm_site_proxies_failed'),
    });
    for (const text of trackerMetrics) {
      // No user label: the role is the only one.
      const lines = text.split('\n').filter((l) => /^qsm_site_(?!intervals)\w+[{ ]/.test(l));
      expect(lines).toHaveLength(6);
      for (const line of lines) expect(line).toMatch(/^qsm_site_\w+\{role="tracker"\} \d+$/);
      expect(siteMessages().map((m) => m.site)).toContainEqual(gauges(text));
      expect(gauges(text).proxiesFailed).toBe(1);
    }
    const written = trackerMetrics.map((t) =>
      metricValue(t, 'qsm_site_intervals_total', { outcome: 'written' }),
    );
    expect(written.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(starts.length - 2);
  });

  it('count one user on several proxies and servers once, and the users at the limit with where they are', async () => {
    const [full] = faultSequence()!;
    expect(full!.sessionLimitWarn).toBe(3);
    expect(full!.intervalMs).toBe(INTERVAL);
    expect(full!.site).toEqual({
      uniqueUsers: 5,
      sessionCount: 11,
      maxSessionsPerUser: 4,
      usersAtLimit: 2,
      proxiesPolled: 4,
      proxiesFailed: 0,
    });
    expect(full!.servers.map((s) => [s.serverName, s.uniqueUsers, s.sessionCount])).toEqual([
      ['sense1', 3, 5],
      ['sense2', 3, 6],
    ]);
    const place = (server: string, virtualProxy: string, sessions: number) => ({
      serverName: server,
      qpsHost: sim.qpsHost(server),
      virtualProxy,
      sessions,
    });
    expect(full!.usersAtLimit).toEqual([
      {
        userDirectory: 'LAB',
        userId: 'anna',
        sessions: 4,
        proxyCount: 3,
        proxies: [place('sense1', '/', 2), place('sense1', '/hdr', 1), place('sense2', '/', 1)],
      },
      {
        userDirectory: 'LAB',
        userId: 'svc-bot',
        sessions: 3,
        proxyCount: 1,
        proxies: [place('sense2', '/', 3)],
      },
    ]);
  });

  it('leave the blacklisted user out of InfluxDB only, with the server tags on the per-server points', async () => {
    const [full] = faultSequence()!;
    const time = startOf(full!);
    const site = rows(
      await influxQuery(db, `SELECT * FROM user_session_site WHERE scope = 'site' AND time = ${time}ms`),
    );
    expect(site).toHaveLength(1);
    expect(site[0]).toMatchObject({
      unique_users: 4,
      session_count: 8,
      max_sessions_per_user: 4,
      users_at_limit: 1,
      proxies_polled: 4,
      proxies_failed: 0,
    });
    const servers = rows(
      await influxQuery(db, `SELECT * FROM user_session_site WHERE scope = 'server' AND time = ${time}ms`),
    ).sort((a, b) => String(a.server_name).localeCompare(String(b.server_name)));
    expect(servers).toMatchObject([
      {
        server_name: 'sense1',
        server_group: 'PROD',
        host: sim.qpsHost('sense1').split(':')[0],
        unique_users: 3,
        session_count: 5,
      },
      { server_name: 'sense2', server_group: 'DEV', unique_users: 2, session_count: 3 },
    ]);
  });

  it('count a failed proxy, which contributes its previous interval once and then nothing', async () => {
    const [, firstFailed, secondFailed] = faultSequence()!;
    expect(firstFailed!.site).toEqual({
      uniqueUsers: 5,
      sessionCount: 11,
      maxSessionsPerUser: 4,
      usersAtLimit: 2,
      proxiesPolled: 3,
      proxiesFailed: 1,
    });
    expect(hasDave(firstFailed!)).toBe(true);
    expect(secondFailed!.site).toEqual({
      uniqueUsers: 4,
      sessionCount: 9,
      maxSessionsPerUser: 4,
      usersAtLimit: 2,
      proxiesPolled: 3,
      proxiesFailed: 1,
    });
    expect(secondFailed!.servers.map((s) => [s.serverName, s.uniqueUsers, s.sessionCount])).toEqual([
      ['sense1', 3, 5],
      ['sense2', 2, 4],
    ]);
    expect(startOf(secondFailed!) - startOf(firstFailed!)).toBe(INTERVAL);
    const influx = rows(
      await influxQuery(
        db,
        `SELECT * FROM user_session_site WHERE scope = 'site' AND time = ${startOf(secondFailed!)}ms`,
      ),
    );
    // Without LAB\svc-bot and without dave: anna, bob and carl.
    expect(influx[0]).toMatchObject({
      unique_users: 3,
      session_count: 6,
      proxies_polled: 3,
      proxies_failed: 1,
    });
  });
});

describe('a tracker killed between claiming an interval and delivering its figures', () => {
  it('leaves the figures to another tracker: delivered once, from the claimed outbox', async () => {
    const killTopic = `qsm-test/${killPrefix}/`;
    const configFile = writeButlerConfig(tempDir('site-figures-kill'), {
      certs,
      pollingInterval: INTERVAL,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/hdr'] }],
      influx: { db: killDb },
      mqtt: { baseTopic: killTopic },
    });
    const collector = await collectMqtt(`${killTopic}usersessionsite`);
    const redis = new Redis(services.redisUrl);
    try {
      const env = { WORKER_LOCK_DURATION_MS: '2000' };
      const start = (app: Parameters<typeof startApp>[0], name: string, extra: Record<string, string> = {}) =>
        startApp(app, { configFile, prefix: killPrefix, name, env: { ...env, ...extra } });
      await start('influx-sink', 'influx-sink-kill');
      await start('mqtt-sink', 'mqtt-sink-kill');
      const doomed = await start('tracker', 'tracker-doomed', {
        TRACKER_TEST_PAUSE_BEFORE_DELIVERY_MS: '600000',
      });
      await start('poller', 'poller-kill');
      await start('scheduler', 'scheduler-kill');
      const line = await doomed.waitForLine(
        (l) => l.includes("pausing between the site figures' claim"),
        15_000,
      );
      const claimed = (JSON.parse(line) as { intervalStart: number }).intervalStart;
      // Claimed, with its records in the outbox, and not on the sink queue.
      expect(await redis.exists(`${killPrefix}:qsm:site:${claimed}:outbox`)).toBe(1);
      expect(await redis.exists(`${killPrefix}:qsm:site:${claimed}:done`)).toBe(1);
      doomed.child.kill('SIGKILL');
      await new Promise((resolve) => doomed.child.once('exit', resolve));
      const survivor = await start('tracker', 'tracker-survivor');

      const sitePoints = async () =>
        rows(await influxQuery(killDb, `SELECT * FROM user_session_site WHERE scope = 'site'`));
      await waitUntil(
        async () => {
          const times = (await sitePoints()).map((p) => Number(p.time));
          return times.includes(claimed) && times.filter((t) => t > claimed).length >= 2;
        },
        // Once its lock expired, BullMQ gives the job (stalled) to the survivor.
        'the claimed interval and two more in InfluxDB',
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const ofClaimed = (await sitePoints()).filter((p) => Number(p.time) === claimed);
      expect(ofClaimed).toHaveLength(1);
      expect(ofClaimed[0]).toMatchObject({
        unique_users: 2,
        session_count: 2,
        max_sessions_per_user: 1,
        users_at_limit: 0,
        proxies_polled: 1,
        proxies_failed: 0,
      });
      // MQTT: never twice. (The MQTT sink does not publish an interval older than one it published: a
      // retained site message is the latest; the claimed interval may come after later ones.)
      const starts = collector.messages.map((m) => startOf(JSON.parse(m.payload) as SiteMessage));
      expect(new Set(starts).size).toBe(starts.length);
      expect(await redis.keys(`${killPrefix}:qsm:site:*:outbox`)).toEqual([]);
      expect(
        metricValue(await survivor.metrics(), 'qsm_site_intervals_total', { outcome: 'written_on_retry' }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await collector.close();
      redis.disconnect();
    }
  });
});
