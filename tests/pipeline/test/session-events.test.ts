import type { CertificateSet } from '@qsm/dev-certs';
import { PAYLOAD_VERSION, type TrackResultJob } from '@qsm/model';
import { JOB_CATALOG, openQueue, QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  collectMqtt,
  dropInfluxDatabase,
  influxQuery,
  metricValue,
  type OwnService,
  type RunningApp,
  rows,
  type SimSessionInput,
  type Simulator,
  services,
  sleep,
  startApp,
  startOwnRedis,
  startSimulator,
  stopAll,
  type TestConfigOptions,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveredEvent, deliveredEvents, sessionEventJobs } from './support/session-events.js';

/*
 * Session start and end events, end to end: the simulator's sessions, the scheduler, a poller and the
 * tracker as processes, and the events as the tracker left them on the sink queues (no sink runs here:
 * the queues hold exactly what InfluxDB and MQTT would get).
 */

const INTERVAL = 1000;
/** A poll's time is within one interval of the change it shows, plus the time a poll takes here. */
const SLACK = 400;
let certs: CertificateSet;
let sim: Simulator;
let redis: Redis;
const ownRedis: OwnService[] = [];
const prefixes: string[] = [];

const session = (id: string, userId = `user-${id}`, directory = 'LAB'): SimSessionInput => ({
  UserDirectory: directory,
  UserId: userId,
  SessionId: id,
});

function setup(label: string, virtualProxies: string[], options: Partial<TestConfigOptions> = {}) {
  const prefix = uniqueName(label);
  prefixes.push(prefix);
  const dir = tempDir(label);
  const write = (proxies: string[], qpsHost = sim.qpsHost('sense1')) =>
    writeButlerConfig(dir, {
      certs,
      pollingInterval: INTERVAL,
      servers: [{ serverName: 'sense1', qpsHost, virtualProxies: proxies }],
      // Enabled so that the tracker delivers to both sink queues; unless a test runs the sinks, the jobs
      // wait there.
      influx: { db: `unused_${prefix}` },
      mqtt: { baseTopic: `qsm-test/${prefix}/` },
      ...options,
    });
  return { prefix, configFile: write(virtualProxies), rewrite: write };
}

const eventsOf = async (prefix: string, virtualProxy: string, connection = redis) =>
  (await deliveredEvents(connection, prefix)).filter((e) => e.virtualProxy === virtualProxy);

async function waitForEvents(
  prefix: string,
  virtualProxy: string,
  what: string,
  done: (events: DeliveredEvent[]) => boolean,
  timeoutMs = 15_000,
  connection = redis,
): Promise<DeliveredEvent[]> {
  let events: DeliveredEvent[] = [];
  await waitUntil(
    async () => {
      events = await eventsOf(prefix, virtualProxy, connection).catch(() => []);
      return done(events);
    },
    what,
    { timeoutMs, intervalMs: 100 },
  );
  return events;
}

const starts = (events: DeliveredEvent[]) => events.filter((e) => e.event === 'start');
const ends = (events: DeliveredEvent[]) => events.filter((e) => e.event === 'end');

beforeAll(async () => {
  certs = await testCertificates('session-events');
  sim = await startSimulator(certs, [
    '--servers',
    '1',
    '--prefixes',
    '/,/f,/r,/h,/x,/k,/a,/s,/t,/ä+b.c',
    '--sessions',
    '3',
    '--churn',
    '0',
    '--churn-interval',
    '0',
  ]);
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await stopAll();
  for (const service of ownRedis) await service.stop();
  redis?.disconnect();
  for (const prefix of prefixes) await cleanupRedisPrefix(prefix);
});

describe('session events', () => {
  const proxies = ['/', '/f', '/r', '/h', '/x', '/ä+b.c'];
  let main: ReturnType<typeof setup>;
  let tracker: RunningApp;
  let poller: RunningApp;
  let scheduler: RunningApp;

  beforeAll(async () => {
    for (const vp of proxies) {
      await sim.setSessions(
        'sense1',
        vp,
        [1, 2, 3].map((i) => session(`${vp}-s${i}`)),
      );
    }
    main = setup('session_events', proxies);
    tracker = await startApp('tracker', { configFile: main.configFile, prefix: main.prefix });
    poller = await startApp('poller', { configFile: main.configFile, prefix: main.prefix });
    scheduler = await startApp('scheduler', { configFile: main.configFile, prefix: main.prefix });
    for (const vp of proxies) {
      await waitForEvents(main.prefix, vp, `first starts of ${vp}`, (e) => starts(e).length === 3);
    }
  });

  it('starts the sessions of the first poll with start_known=false, on both sink queues', async () => {
    const events = await eventsOf(main.prefix, '/');
    expect(events.map((e) => [e.event, e.sessionId, e.startKnown])).toEqual([
      ['start', '/-s1', false],
      ['start', '/-s2', false],
      ['start', '/-s3', false],
    ]);
    const first = events[0]!;
    expect(first.firstSeen).toBe(first.time);
    expect(first.lastSeen).toBe(first.time);
    expect(first).toMatchObject({ userDirectory: 'LAB', userId: 'user-/-s1', serverName: 'sense1' });
    // MQTT's queue gets the same records, under the same ids.
    const influx = (await sessionEventJobs(redis, main.prefix, QUEUE.influx)).map((j) => j.id).sort();
    const mqtt = (await sessionEventJobs(redis, main.prefix, QUEUE.mqtt)).map((j) => j.id).sort();
    expect(mqtt).toEqual(influx);
  });

  it('times starts and ends within one interval of the truth, with their durations', async () => {
    const startedAt = Date.now();
    await sim.startSessions('sense1', '/', [session('/-new')]);
    const afterStart = await waitForEvents(main.prefix, '/', 'the new start', (e) => starts(e).length === 4);
    const start = starts(afterStart).find((e) => e.sessionId === '/-new')!;
    expect(start.startKnown).toBe(true);
    expect(start.time).toBeGreaterThanOrEqual(startedAt);
    expect(start.time).toBeLessThanOrEqual(startedAt + INTERVAL + SLACK);
    await sleep(3 * INTERVAL);
    const endedAt = Date.now();
    await sim.endSession('sense1', '/', '/-new');
    const afterEnd = await waitForEvents(main.prefix, '/', 'the end', (e) => ends(e).length === 1);
    const end = ends(afterEnd)[0]!;
    expect(end).toMatchObject({
      sessionId: '/-new',
      reason: 'gone',
      startKnown: true,
      firstSeen: start.time,
    });
    expect(end.time).toBeGreaterThanOrEqual(endedAt);
    expect(end.time).toBeLessThanOrEqual(endedAt + INTERVAL + SLACK);
    expect(end.lastSeen).toBeLessThan(endedAt + 50);
    expect(end.lastSeen).toBeGreaterThanOrEqual(endedAt - INTERVAL - SLACK);
    const truth = endedAt - startedAt;
    expect(Math.abs(end.lastSeen - end.firstSeen - truth)).toBeLessThanOrEqual(INTERVAL + SLACK);
    // Exactly: 3 first starts, 1 new start, 1 end.
    expect([starts(afterEnd).length, ends(afterEnd).length]).toEqual([4, 1]);
  });

  it('ends nothing while a proxy fails: timeouts, 4xx, 5xx, HTML pages, reset connections', async () => {
    const failed = async () => metricValue(await poller.metrics(), 'qsm_polls_total', { outcome: 'failed' });
    const failedBefore = await failed();
    for (const fault of [
      { mode: 'slow' as const, delayMs: 3000 },
      { mode: 'status' as const, status: 503 },
      { mode: 'status' as const, status: 403 },
      { mode: 'html' as const },
      { mode: 'reset' as const },
    ]) {
      await sim.setFault('sense1', '/f', fault);
      await sleep(2.5 * INTERVAL);
    }
    await sim.setFault('sense1', '/f', undefined);
    await sleep(2 * INTERVAL);
    const during = await eventsOf(main.prefix, '/f');
    expect([starts(during).length, ends(during).length]).toEqual([3, 0]);
    // The failures were real: polls of the proxy failed in each of the five ways.
    expect((await failed()) - failedBefore).toBeGreaterThanOrEqual(6);
    await sim.endSession('sense1', '/f', '/f-s2');
    const after = await waitForEvents(
      main.prefix,
      '/f',
      'the end after the faults',
      (e) => ends(e).length === 1,
    );
    expect(ends(after).map((e) => [e.sessionId, e.reason])).toEqual([['/f-s2', 'gone']]);
    expect(starts(after)).toHaveLength(3);
  });

  it('ends every session of a restarted proxy with proxy_restart, and starts the new ones', async () => {
    const fresh = await sim.restartProxy('sense1', '/r', { sessions: 4 });
    const events = await waitForEvents(main.prefix, '/r', 'the restart', (e) => ends(e).length === 3);
    expect(
      ends(events)
        .map((e) => [e.sessionId, e.reason])
        .sort(),
    ).toEqual([
      ['/r-s1', 'proxy_restart'],
      ['/r-s2', 'proxy_restart'],
      ['/r-s3', 'proxy_restart'],
    ]);
    const late = await waitForEvents(main.prefix, '/r', 'the new starts', (e) => starts(e).length === 7);
    expect(
      starts(late)
        .filter((e) => e.startKnown)
        .map((e) => e.sessionId)
        .sort(),
    ).toEqual(fresh.map((s) => s.SessionId).sort());
    // The ends and the new starts came from the same poll.
    expect(
      new Set([...ends(late), ...starts(late).filter((e) => e.startKnown)].map((e) => e.time)).size,
    ).toBe(1);
  });

  it('tracks a virtual proxy whose prefix needs encoding under its own key', async () => {
    const events = await eventsOf(main.prefix, '/ä+b.c');
    expect(events.map((e) => [e.event, e.sessionId])).toEqual([
      ['start', '/ä+b.c-s1'],
      ['start', '/ä+b.c-s2'],
      ['start', '/ä+b.c-s3'],
    ]);
    expect(await redis.hlen(`${main.prefix}:qsm:track:state:poll|sense1|%2F%C3%A4%2Bb.c`)).toBe(3);
  });

  it('carries hostile identities unchanged', async () => {
    const hostile = [
      session('a|b|3|c', 'user|with|bars', 'DIR\\back\\slash'),
      session('ünï "quoted" \n newline', 'o\'neil, "x" = y', ''),
      session('{"json":true}', 'x'.repeat(500), '12|'),
      session('tab\there', 'emoji 😀', 'zh 中文'),
    ];
    await sim.setSessions('sense1', '/h', hostile);
    const events = await waitForEvents(
      main.prefix,
      '/h',
      'the hostile starts',
      (e) => starts(e).length === 7,
    );
    const identity = (e: DeliveredEvent) => [e.sessionId, e.userDirectory, e.userId];
    const expected = hostile.map((s) => [s.SessionId, s.UserDirectory, s.UserId]).sort();
    expect(
      starts(events)
        .filter((e) => e.startKnown)
        .map(identity)
        .sort(),
    ).toEqual(expected);
    await sim.setSessions('sense1', '/h', []);
    const gone = await waitForEvents(main.prefix, '/h', 'the hostile ends', (e) => ends(e).length === 7);
    expect(
      ends(gone)
        .filter((e) => e.startKnown)
        .map(identity)
        .sort(),
    ).toEqual(expected);
  });

  it('ignores a retried or an older result of a proxy, and counts it', async () => {
    const trackQueue = openQueue<TrackResultJob>({ connection: redis, prefix: main.prefix }, QUEUE.track);
    try {
      const done = await trackQueue.getJobs(['completed']);
      const latest = done
        .map((j) => j.data)
        .filter((d) => d.kind === 'track_result' && d.virtualProxy === '/')
        .sort((a, b) => b.polledAt - a.polledAt)[0]!;
      const before = await eventsOf(main.prefix, '/');
      const jobsBefore = (await sessionEventJobs(redis, main.prefix)).length;
      const metrics = () => tracker.metrics();
      const older0 = metricValue(await metrics(), 'qsm_track_results_total', { outcome: 'older' });
      const retry0 = metricValue(await metrics(), 'qsm_track_results_total', { outcome: 'retry' });
      // The same poll again (as a retried delivery would bring it), and one from long ago without sessions.
      await trackQueue.add('track-result', latest, {
        ...JOB_CATALOG[QUEUE.track].options,
        jobId: 'test|retried',
      });
      const old: TrackResultJob = {
        ...latest,
        v: PAYLOAD_VERSION,
        polledAt: latest.polledAt - 20 * INTERVAL,
        intervalStart: latest.intervalStart - 20 * INTERVAL,
        sessions: [],
      };
      await trackQueue.add('track-result', old, { ...JOB_CATALOG[QUEUE.track].options, jobId: 'test|old' });
      // The retried one is a retry, or older if a newer poll was applied in between: both change nothing.
      const ignored = async () =>
        metricValue(await metrics(), 'qsm_track_results_total', { outcome: 'older' }) -
        older0 +
        metricValue(await metrics(), 'qsm_track_results_total', { outcome: 'retry' }) -
        retry0;
      await waitUntil(async () => (await ignored()) === 2, 'both counted');
      expect(metricValue(await metrics(), 'qsm_track_results_total', { outcome: 'older' })).toBeGreaterThan(
        older0,
      );
      await sleep(2 * INTERVAL);
      // Nothing ended, nothing doubled.
      expect(await eventsOf(main.prefix, '/')).toEqual(before);
      const jobsAfter = await sessionEventJobs(redis, main.prefix);
      expect(new Set(jobsAfter.map((j) => j.id)).size).toBe(jobsAfter.length);
      expect(jobsAfter.length).toBeGreaterThanOrEqual(jobsBefore);
    } finally {
      await trackQueue.close();
    }
  });

  it('ends the sessions of a proxy that leaves the config with not_monitored, and deletes its state', async () => {
    const stateKey = `${main.prefix}:qsm:track:state:poll|sense1|%2Fx`;
    expect(await redis.hlen(stateKey)).toBe(3);
    const removedAt = Date.now();
    main.rewrite(proxies.filter((vp) => vp !== '/x'));
    await scheduler.waitForLine((l) => l.includes('schedulers reconciled (config changed)'), 10_000);
    const events = await waitForEvents(
      main.prefix,
      '/x',
      'the not_monitored ends',
      (e) => ends(e).length === 3,
    );
    expect(ends(events).map((e) => e.reason)).toEqual(['not_monitored', 'not_monitored', 'not_monitored']);
    const end = ends(events)[0]!;
    expect(end.time).toBeGreaterThanOrEqual(removedAt);
    expect(end.time).toBeLessThanOrEqual(removedAt + 5000);
    expect(end.lastSeen).toBeLessThanOrEqual(end.time);
    expect(await redis.exists(stateKey, `${main.prefix}:qsm:track:meta:poll|sense1|%2Fx`)).toBe(0);
    await sleep(3 * INTERVAL);
    // Not polled any more: nothing more for it.
    expect(await eventsOf(main.prefix, '/x')).toHaveLength(6);
    // No outbox left behind anywhere.
    expect(await redis.keys(`${main.prefix}:qsm:track:outbox:*`)).toEqual([]);
  });
});

describe('a tracker killed with SIGKILL between the comparison and the delivery', () => {
  it('loses nothing and doubles nothing: another tracker delivers the outbox', async () => {
    await sim.setSessions(
      'sense1',
      '/k',
      [1, 2, 3, 4].map((i) => session(`k${i}`)),
    );
    const { prefix, configFile } = setup('session_kill', ['/k']);
    const env = { WORKER_LOCK_DURATION_MS: '2000' };
    const doomed = await startApp('tracker', {
      configFile,
      prefix,
      name: 'tracker-doomed',
      env: { ...env, TRACKER_TEST_PAUSE_BEFORE_DELIVERY_MS: '600000' },
    });
    await startApp('poller', { configFile, prefix, env });
    await startApp('scheduler', { configFile, prefix, env });
    await doomed.waitForLine((l) => l.includes('test fault hook: pausing'), 15_000);
    // The state and the outbox are written; nothing is on the sink queues yet.
    expect(await redis.keys(`${prefix}:qsm:track:outbox:*`)).toHaveLength(1);
    expect(await sessionEventJobs(redis, prefix)).toHaveLength(0);
    doomed.child.kill('SIGKILL');
    await new Promise((resolve) => doomed.child.once('exit', resolve));
    await startApp('tracker', { configFile, prefix, name: 'tracker-survivor', env });
    const events = await waitForEvents(
      prefix,
      '/k',
      'the first starts',
      (e) => starts(e).length >= 4,
      20_000,
    );
    await sim.endSession('sense1', '/k', 'k2');
    const after = await waitForEvents(prefix, '/k', 'the end', (e) => ends(e).length >= 1);
    await sleep(3 * INTERVAL);
    const all = await eventsOf(prefix, '/k');
    expect(all.map((e) => [e.event, e.sessionId, e.startKnown])).toEqual([
      ['start', 'k1', false],
      ['start', 'k2', false],
      ['start', 'k3', false],
      ['start', 'k4', false],
      ['end', 'k2', false],
    ]);
    expect(events[0]!.time).toBe(after[0]!.time);
    const jobs = await sessionEventJobs(redis, prefix);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(jobs.length);
    expect(await redis.keys(`${prefix}:qsm:track:outbox:*`)).toEqual([]);
  });
});

describe('Redis restarted with AOF under the tracker', () => {
  it('keeps the tracking state: no session started twice, ends known as before', async () => {
    const server = await startOwnRedis({ persistence: true });
    ownRedis.push(server);
    const own = new Redis(server.url, { maxRetriesPerRequest: null });
    own.on('error', () => {});
    try {
      await sim.setSessions(
        'sense1',
        '/a',
        [1, 2, 3].map((i) => session(`a${i}`)),
      );
      const { prefix, configFile } = setup('session_aof', ['/a']);
      const env = { REDIS_URL: server.url };
      const apps = [
        await startApp('tracker', { configFile, prefix, env }),
        await startApp('poller', { configFile, prefix, env }),
        await startApp('scheduler', { configFile, prefix, env }),
      ];
      const first = await waitForEvents(
        prefix,
        '/a',
        'the first starts',
        (e) => starts(e).length === 3,
        15_000,
        own,
      );
      // A crash: appendfsync always keeps every acknowledged write.
      await server.stop('SIGKILL');
      await sleep(3 * INTERVAL);
      await server.restart();
      for (const app of apps) {
        await waitUntil(async () => (await app.ready()).status === 200, `${app.name} ready`, {
          timeoutMs: 30_000,
        });
      }
      await sleep(3 * INTERVAL);
      await sim.endSession('sense1', '/a', 'a2');
      await sim.startSessions('sense1', '/a', [session('a4')]);
      await waitForEvents(
        prefix,
        '/a',
        'the end and the new start',
        (e) => ends(e).length === 1 && starts(e).length === 4,
        20_000,
        own,
      );
      await sleep(2 * INTERVAL);
      const all = await eventsOf(prefix, '/a', own);
      expect(all.map((e) => [e.event, e.sessionId, e.startKnown, e.reason ?? ''])).toEqual([
        ['start', 'a1', false, ''],
        ['start', 'a2', false, ''],
        ['start', 'a3', false, ''],
        ['end', 'a2', false, 'gone'],
        ['start', 'a4', true, ''],
      ]);
      expect(ends(all)[0]!.firstSeen).toBe(first[0]!.time);
    } finally {
      own.disconnect();
    }
  });
});

describe('Redis come back empty under the tracker', () => {
  it('starts the sessions it finds again with start_known=false: their start is unknown', async () => {
    const server = await startOwnRedis({ persistence: false });
    ownRedis.push(server);
    const own = new Redis(server.url, { maxRetriesPerRequest: null });
    own.on('error', () => {});
    try {
      await sim.setSessions(
        'sense1',
        '/a',
        [1, 2].map((i) => session(`e${i}`)),
      );
      const { prefix, configFile } = setup('session_empty', ['/a']);
      const env = { REDIS_URL: server.url, SCHEDULE_CHECK_INTERVAL_MS: '1000' };
      const apps = [
        await startApp('tracker', { configFile, prefix, env }),
        await startApp('poller', { configFile, prefix, env }),
        await startApp('scheduler', { configFile, prefix, env }),
      ];
      await waitForEvents(prefix, '/a', 'the first starts', (e) => starts(e).length === 2, 15_000, own);
      await server.stop('SIGKILL');
      await server.restart();
      for (const app of apps) {
        await waitUntil(async () => (await app.ready()).status === 200, `${app.name} ready`, {
          timeoutMs: 30_000,
        });
      }
      // The events delivered before went with the rest; the first poll after is a first poll again.
      const again = await waitForEvents(
        prefix,
        '/a',
        'the starts again',
        (e) => starts(e).length === 2,
        20_000,
        own,
      );
      expect(again.map((e) => [e.event, e.sessionId, e.startKnown])).toEqual([
        ['start', 'e1', false],
        ['start', 'e2', false],
      ]);
    } finally {
      own.disconnect();
    }
  });
});

describe('session events through the sinks', () => {
  const db = uniqueName('qsm_session_events');
  afterAll(async () => {
    await dropInfluxDatabase(db);
  });

  it('reach InfluxDB (without the excluded user) and MQTT (with everyone), exactly once each', async () => {
    await sim.setSessions('sense1', '/s', [session('s1', 'anna'), session('s2', 'bob')]);
    const baseTopic = `qsm-test/${uniqueName('session_events_topic')}/`;
    const { prefix, configFile } = setup('session_sinks', ['/s'], {
      influx: { db },
      mqtt: { baseTopic },
      excludeUser: [{ directory: 'LAB', userId: 'bob' }],
    });
    const subscriber = await collectMqtt(`${baseTopic}#`);
    try {
      await startApp('influx-sink', { configFile, prefix });
      await startApp('mqtt-sink', { configFile, prefix });
      await startApp('tracker', { configFile, prefix });
      await startApp('poller', { configFile, prefix });
      await startApp('scheduler', { configFile, prefix });
      const query = 'SELECT * FROM "user_session_events" GROUP BY *';
      const points = async () => rows(await influxQuery(db, query).catch(() => []));
      await waitUntil(async () => (await points()).length === 1, 'the first start in InfluxDB', {
        timeoutMs: 15_000,
      });
      await sim.startSessions('sense1', '/s', [session('s3', 'anna')]);
      await waitUntil(async () => (await points()).length === 2, 'the second start in InfluxDB');
      await sleep(2 * INTERVAL);
      await sim.endSession('sense1', '/s', 's1');
      await sim.endSession('sense1', '/s', 's2');
      await waitUntil(async () => (await points()).length === 3, 'the end in InfluxDB');
      const topic = `${baseTopic}127.0.0.1/usersessionevent/s`;
      const published = () => subscriber.messages.filter((m) => m.topic === topic);
      await waitUntil(() => published().length === 5, 'the five events on MQTT');
      await sleep(2 * INTERVAL);

      // The events as the tracker delivered them: what both sinks got.
      const delivered = await eventsOf(prefix, '/s');
      expect(delivered.map((e) => [e.event, e.sessionId, e.userId, e.startKnown])).toEqual([
        ['start', 's1', 'anna', false],
        ['start', 's2', 'bob', false],
        ['start', 's3', 'anna', true],
        ['end', 's1', 'anna', false],
        ['end', 's2', 'bob', false],
      ]);
      // InfluxDB: anna's three, exactly once each, at the events' times.
      const stored = (await points()).sort((a, b) => Number(a.time) - Number(b.time));
      const annas = delivered.filter((e) => e.userId === 'anna');
      expect(stored).toHaveLength(annas.length);
      expect(
        stored.map((p) => [p.event, p.session_id, p.user_session_user_id, p.start_known, p.reason ?? null]),
      ).toEqual(annas.map((e) => [e.event, e.sessionId, 'anna', e.startKnown, e.reason ?? null]));
      expect(stored.map((p) => Number(p.time))).toEqual(annas.map((e) => e.time));
      const end = stored.find((p) => p.event === 'end')!;
      expect(Number(end.duration_ms)).toBe(Number(end.last_seen_ms) - Number(end.first_seen_ms));
      // MQTT: everyone's, once each (bob too: no blacklist on MQTT).
      await sleep(INTERVAL);
      expect(
        published()
          .map((m) => JSON.parse(m.payload) as { event: string; sessionId: string; userId: string })
          .map((m) => [m.event, m.sessionId, m.userId]),
      ).toEqual([
        ['start', 's1', 'anna'],
        ['start', 's2', 'bob'],
        ['start', 's3', 'anna'],
        ['end', 's1', 'anna'],
        ['end', 's2', 'bob'],
      ]);
    } finally {
      await subscriber.close();
    }
  });
});

describe('a proxy whose certificate fails', () => {
  it('ends nothing while its polls fail, then compares with its last successful poll', async () => {
    // A QPS whose server certificate is not signed by the root.pem of the config.
    const foreign = await testCertificates('session-events-foreign');
    const badTls = await startSimulator(foreign, ['--servers', '1', '--prefixes', '/t', '--sessions', '2']);
    await sim.setSessions(
      'sense1',
      '/t',
      [1, 2, 3].map((i) => session(`t${i}`)),
    );
    const { prefix, configFile, rewrite } = setup('session_cert', ['/t']);
    await startApp('tracker', { configFile, prefix });
    const poller = await startApp('poller', { configFile, prefix });
    await startApp('scheduler', { configFile, prefix });
    await waitForEvents(prefix, '/t', 'the first starts', (e) => starts(e).length === 3);
    const failedAt = Date.now();
    rewrite(['/t'], badTls.qpsHost('sense1'));
    const certErrors = async () =>
      metricValue(await poller.metrics(), 'qsm_polls_total', {
        outcome: 'failed',
        category: 'certificate_error',
      });
    await waitUntil(async () => (await certErrors()) >= 2, 'polls failing on the certificate', {
      timeoutMs: 15_000,
    });
    // The session ends while the proxy cannot be read: nothing can tell yet.
    await sim.endSession('sense1', '/t', 't2');
    await waitUntil(async () => (await certErrors()) >= 4, 'more failed polls');
    expect(ends(await eventsOf(prefix, '/t'))).toEqual([]);
    const restoredAt = Date.now();
    rewrite(['/t']);
    const events = await waitForEvents(
      prefix,
      '/t',
      'the end after the failures',
      (e) => ends(e).length === 1,
    );
    await sleep(2 * INTERVAL);
    const all = await eventsOf(prefix, '/t');
    expect([starts(all).length, ends(all).length]).toEqual([3, 1]);
    const end = ends(events)[0]!;
    expect(end).toMatchObject({ sessionId: 't2', reason: 'gone' });
    // Compared with the last successful poll: before the failures, the end after them.
    expect(end.lastSeen).toBeLessThanOrEqual(failedAt + INTERVAL + SLACK);
    expect(end.time).toBeGreaterThanOrEqual(restoredAt);
    await badTls.stop();
  });
});
