import type { CertificateSet } from '@qsm/dev-certs';
import {
  cleanupRedisPrefix,
  collectMqtt,
  dropInfluxDatabase,
  influxQuery,
  type LookAlikeSession,
  type MqttCollector,
  metricValue,
  type RunningApp,
  rows,
  type SimSessionInput,
  type Simulator,
  startApp,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The whole product as an operator runs it: scheduler, two pollers, both sinks, each a process, against
 * the QPS simulator (two servers, three virtual proxies), Redis, InfluxDB 1.x and Mosquitto.
 */

const prefix = uniqueName('pipeline');
const db = uniqueName('qsm_pipeline');
const baseTopic = `qsm-test/${prefix}/`;
const blacklisted = { directory: 'LAB', userId: 'svc-monitor' };
const session = (UserDirectory: string, UserId: string, SessionId: string): SimSessionInput => ({
  UserDirectory,
  UserId,
  SessionId,
  Attributes: [{ Group: 'Sales' }],
});
const SESSIONS: Record<string, Array<SimSessionInput | LookAlikeSession>> = {
  'sense1 /': [
    session('LAB', 'anna', 'a-1'),
    session('LAB', 'svc-monitor', 'bot-1'),
    session('CORP', 'carl', 'c-1'),
  ],
  'sense1 /hdr': [
    session('LAB', 'anna', 'a-2'),
    session('LAB', 'svc-monitor', 'bot-2'),
    session('LAB', 'anna', 'a-3'),
  ],
  'sense2 /sales': [session('LAB', 'dave', 'd-1'), session('dir with space', 'user,with=comma', 'h-1')],
  // A look-alike that follows Qlik's OpenAPI rendering: camelCase names, nulls, attributes of any shape.
  'sense2 /openapi': [
    { userDirectory: 'LAB', userId: 'erik', sessionId: 'e-1', userName: 'Erik', attributes: null },
    { userDirectory: 'LAB', userId: 'svc-monitor', sessionId: 'bot-3', attributes: ['Group=Ops', null] },
  ],
};

let certs: CertificateSet;
let sim: Simulator;
let mqtt: MqttCollector;
let apps: Record<string, RunningApp> = {};
const exitCodes: Record<string, number | string> = {};
const pollerMetrics: string[] = [];

beforeAll(async () => {
  certs = await testCertificates('pipeline', 'pipeline-pass');
  sim = await startSimulator(certs, [
    '--servers',
    '2',
    '--prefixes',
    '/,/hdr,/sales,/openapi',
    '--spread-addresses',
    '--churn',
    '0',
  ]);
  for (const [key, sessions] of Object.entries(SESSIONS)) {
    const [server, prefixName] = key.split(' ') as [string, string];
    await sim.setSessions(server, prefixName, sessions);
  }
  const configFile = writeButlerConfig(tempDir('pipeline'), {
    certs,
    pollingInterval: 1000,
    excludeUser: [blacklisted],
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
        virtualProxies: ['/sales', '/openapi'],
        serverTags: { server_group: 'DEV' },
      },
    ],
    influx: { db },
    mqtt: { baseTopic },
  });
  mqtt = await collectMqtt(`${baseTopic}#`);
  const start = (app: Parameters<typeof startApp>[0], name: string) =>
    startApp(app, { configFile, prefix, name });
  apps = {
    influx: await start('influx-sink', 'influx-sink'),
    mqtt: await start('mqtt-sink', 'mqtt-sink'),
    poller1: await start('poller', 'poller-1'),
    poller2: await start('poller', 'poller-2'),
    scheduler: await start('scheduler', 'scheduler'),
  };

  // Let it run for a few intervals: at least four results of every proxy in InfluxDB.
  await waitUntil(
    async () => {
      const counts = rows(
        await influxQuery(
          db,
          'SELECT count(session_count) FROM user_session_summary GROUP BY server_name, user_session_virtual_proxy',
        ),
      );
      return counts.length === 4 && counts.every((c) => Number(c.count) >= 4);
    },
    'four poll results per virtual proxy in InfluxDB',
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  for (const name of ['poller1', 'poller2']) pollerMetrics.push(await apps[name]!.metrics());
  // Stop the pollers first so that everything polled gets delivered, then the rest.
  for (const name of ['scheduler', 'poller1', 'poller2']) exitCodes[name] = await apps[name]!.stop('SIGTERM');
  await waitUntil(async () => (await apps.influx!.metrics()).length > 0, 'sink idle');
  await new Promise((r) => setTimeout(r, 1500));
  for (const name of ['influx', 'mqtt']) exitCodes[name] = await apps[name]!.stop('SIGTERM');
});

afterAll(async () => {
  await mqtt?.close();
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
});

describe('the pipeline against real services', () => {
  it('writes exactly the served sessions, without the blacklisted user, to user_session_details', async () => {
    const details = rows(
      await influxQuery(
        db,
        'SELECT DISTINCT(session_id) FROM user_session_details GROUP BY server_name, user_session_virtual_proxy',
      ),
    );
    const byProxy = (server: string, vp: string) =>
      details
        .filter((r) => r.server_name === server && r.user_session_virtual_proxy === vp)
        .map((r) => r.distinct)
        .sort();
    expect(byProxy('sense1', '/')).toEqual(['a-1', 'c-1']);
    expect(byProxy('sense1', '/hdr')).toEqual(['a-2', 'a-3']);
    expect(byProxy('sense2', '/sales')).toEqual(['d-1', 'h-1']);
    expect(byProxy('sense2', '/openapi')).toEqual(['e-1']);
    const users = rows(
      await influxQuery(db, `SELECT * FROM user_session_details WHERE session_id = 'h-1' LIMIT 1`),
    )[0];
    expect(users).toMatchObject({
      user_directory: 'dir with space',
      user_id: 'user,with=comma',
      user_session_user_directory: 'dir with space',
      user_session_user_id: 'user,with=comma',
      user_session_id: 'h-1',
    });
    const camel = rows(
      await influxQuery(db, `SELECT * FROM user_session_details WHERE session_id = 'e-1' LIMIT 1`),
    )[0];
    expect(camel).toMatchObject({ user_directory: 'LAB', user_id: 'erik', user_session_user_id: 'erik' });
  });

  it('counts sessions and lists users without the blacklisted user', async () => {
    const latest = rows(
      await influxQuery(
        db,
        'SELECT LAST(session_count) AS session_count, session_user_id_list FROM user_session_summary GROUP BY server_name, user_session_virtual_proxy',
      ),
    );
    const of = (server: string, vp: string) =>
      latest.find((r) => r.server_name === server && r.user_session_virtual_proxy === vp);
    expect(of('sense1', '/')).toMatchObject({
      session_count: 2,
      session_user_id_list: 'LAB\\anna,CORP\\carl',
    });
    expect(of('sense1', '/hdr')).toMatchObject({ session_count: 2, session_user_id_list: 'LAB\\anna' });
    expect(of('sense2', '/sales')).toMatchObject({
      session_count: 2,
      session_user_id_list: 'LAB\\dave,dir with space\\user,with=comma',
    });
    expect(of('sense2', '/openapi')).toMatchObject({ session_count: 1, session_user_id_list: 'LAB\\erik' });
    const bot = rows(
      await influxQuery(
        db,
        `SELECT count(session_id) FROM user_session_details WHERE user_id = 'svc-monitor'`,
      ),
    );
    expect(bot).toEqual([]);
  });

  it("tags every point with Butler SOS's server and proxy tags", async () => {
    const point = rows(
      await influxQuery(
        db,
        `SELECT * FROM user_session_summary WHERE server_name = 'sense2' AND user_session_virtual_proxy = '/sales' LIMIT 1`,
      ),
    )[0];
    expect(point).toMatchObject({
      host: '127.0.0.2',
      server_name: 'sense2',
      server_description: 'sense2 description',
      server_group: 'DEV',
      user_session_virtual_proxy: '/sales',
      user_session_host: sim.qpsHost('sense2'),
    });
    const list = rows(
      await influxQuery(
        db,
        `SELECT * FROM user_session_list WHERE server_name = 'sense1' AND user_session_virtual_proxy = '/' LIMIT 1`,
      ),
    )[0];
    expect(list).toMatchObject({ host: '127.0.0.1', server_group: 'PROD', user_session_virtual_proxy: '/' });
  });

  it('uses the field types Butler SOS writes to InfluxDB 1.x', async () => {
    const types = (measurement: string) =>
      influxQuery(db, `SHOW FIELD KEYS FROM ${measurement}`).then((s) =>
        Object.fromEntries(rows(s).map((r) => [r.fieldKey, r.fieldType])),
      );
    expect(await types('user_session_summary')).toEqual({
      session_count: 'integer',
      session_user_id_list: 'string',
    });
    expect(await types('user_session_list')).toEqual({ session_user_id_list: 'string' });
    expect(await types('user_session_details')).toEqual({
      session_id: 'string',
      user_directory: 'string',
      user_id: 'string',
    });
  });

  it('publishes every session as served, the blacklisted user included, to the Butler SOS topics', () => {
    const topics = {
      'sense1 /': `${baseTopic}127.0.0.1/usersession/`,
      'sense1 /hdr': `${baseTopic}127.0.0.1/usersession/hdr`,
      'sense2 /sales': `${baseTopic}127.0.0.2/usersession/sales`,
      'sense2 /openapi': `${baseTopic}127.0.0.2/usersession/openapi`,
    };
    expect(new Set(mqtt.messages.map((m) => m.topic))).toEqual(new Set(Object.values(topics)));
    for (const [key, topic] of Object.entries(topics)) {
      const messages = mqtt.messages.filter((m) => m.topic === topic);
      expect(messages.length).toBeGreaterThanOrEqual(4);
      for (const message of messages) expect(JSON.parse(message.payload)).toEqual(SESSIONS[key]);
      expect(messages[0]?.qos).toBe(1);
    }
  });

  it('delivers each poll to both destinations once', async () => {
    const summaries = rows(
      await influxQuery(
        db,
        'SELECT count(session_count) FROM user_session_summary GROUP BY user_session_host, user_session_virtual_proxy',
      ),
    );
    const influxTotal = summaries.reduce((sum, r) => sum + Number(r.count), 0);
    expect(mqtt.messages.length).toBe(influxTotal);
  });

  it('shares the work between the two pollers', () => {
    for (const text of pollerMetrics)
      expect(metricValue(text, 'qsm_polls_total', { outcome: 'ok' })).toBeGreaterThan(0);
  });

  it('never polls one (server, virtual proxy) twice in an interval, nor twice at once', async () => {
    const state = await sim.state();
    const polled = [
      ['sense1', '/'],
      ['sense1', '/hdr'],
      ['sense2', '/sales'],
    ];
    for (const [server, vp] of polled) {
      const proxy = state.servers.find((s) => s.name === server)?.proxies.find((p) => p.prefix === vp);
      expect(proxy?.maxActive).toBe(1);
      const times = proxy?.times ?? [];
      expect(times.length).toBeGreaterThanOrEqual(4);
      const slots = times.map((t) => Math.floor(t / 1000));
      expect(new Set(slots).size, `${server}${vp} polled twice in one second: ${times.join(', ')}`).toBe(
        slots.length,
      );
    }
    const unpolled = state.servers.find((s) => s.name === 'sense2')?.proxies.find((p) => p.prefix === '/');
    expect(unpolled?.requests).toBe(0);
  });

  it('stops every app cleanly on SIGTERM', () => {
    expect(exitCodes).toEqual({ scheduler: 0, poller1: 0, poller2: 0, influx: 0, mqtt: 0 });
  });
});
