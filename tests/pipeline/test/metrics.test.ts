import path from 'node:path';
import type { CertificateSet } from '@qsm/dev-certs';
import {
  collectMqtt,
  dropInfluxDatabase,
  type MqttCollector,
  metricValue,
  type OwnService,
  type RunningApp,
  type Simulator,
  startApp,
  startOwnRedis,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/* /metrics and /readyz of running apps, against a Redis of the test's own that it stops and restarts. */

const prefix = uniqueName('metrics');
const db = uniqueName('qsm_metrics');
const baseTopic = `qsm-test/${prefix}/`;
let certs: CertificateSet;
let sim: Simulator;
let redis: OwnService;
let mqtt: MqttCollector;
let configFile: string;
const apps: Record<string, RunningApp> = {};

const sessions = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({
    UserDirectory: 'LAB',
    UserId: `${tag}${i}`,
    SessionId: `${tag}-${i}`,
    Attributes: [],
  }));

function writeConfig(virtualProxies: string[]) {
  return writeButlerConfig(path.dirname(configFile), {
    certs,
    pollingInterval: 1000,
    serverTagsDefinition: ['site'],
    servers: [
      { serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies, serverTags: { site: 'Lund' } },
    ],
    influx: { db },
    mqtt: { baseTopic },
  });
}

beforeAll(async () => {
  certs = await testCertificates('metrics');
  redis = await startOwnRedis({ persistence: true });
  sim = await startSimulator(certs, ['--servers', '1', '--prefixes', '/,/hdr', '--churn', '0']);
  await sim.setSessions('sense1', '/', sessions(3, 'a'));
  await sim.setSessions('sense1', '/hdr', sessions(5, 'b'));
  configFile = path.join(tempDir('metrics'), 'config.yaml');
  writeConfig(['/', '/hdr']);
  mqtt = await collectMqtt(`${baseTopic}#`);
  const env = { REDIS_URL: redis.url };
  apps.poller = await startApp('poller', { configFile, prefix, env });
  apps.influx = await startApp('influx-sink', { configFile, prefix, env });
  apps.mqtt = await startApp('mqtt-sink', { configFile, prefix, env });
  apps.scheduler = await startApp('scheduler', { configFile, prefix, env });
});

afterAll(async () => {
  await mqtt?.close();
  await stopAll();
  await redis?.stop();
  await dropInfluxDatabase(db);
});

describe('/metrics', () => {
  it('counts polls, sessions, points, batches and messages exactly, after a known number of polls', async () => {
    await waitUntil(
      async () => (await sim.proxyState('sense1', '/hdr')).requests >= 3,
      'three polls of /hdr',
    );
    // No more polls: stop the scheduler and let what was polled be delivered.
    expect(await apps.scheduler!.stop()).toBe(0);
    const state = await sim.state();
    const polls = state.servers[0]!.proxies.reduce((sum, p) => sum + p.requests, 0);
    const rootPolls = state.servers[0]!.proxies.find((p) => p.prefix === '/')!.requests;
    const hdrPolls = state.servers[0]!.proxies.find((p) => p.prefix === '/hdr')!.requests;
    // Each result is 2 points (summary, list) plus one per session.
    const points = rootPolls * (2 + 3) + hdrPolls * (2 + 5);
    await waitUntil(
      async () => metricValue(await apps.influx!.metrics(), 'qsm_influx_points_written_total') === points,
      `${points} points written`,
    );
    await waitUntil(
      async () => metricValue(await apps.mqtt!.metrics(), 'qsm_mqtt_messages_published_total') === polls,
      `${polls} messages`,
    );

    const poller = await apps.poller!.metrics();
    expect(metricValue(poller, 'qsm_polls_total', { outcome: 'ok' })).toBe(polls);
    expect(metricValue(poller, 'qsm_polls_total', { outcome: 'failed' })).toBe(0);
    expect(metricValue(poller, 'qsm_poll_duration_seconds_count')).toBe(polls);
    expect(metricValue(poller, 'qsm_sessions_polled_total')).toBe(rootPolls * 3 + hdrPolls * 5);
    const gaugeLabels = {
      host: '127.0.0.1',
      server_name: 'sense1',
      server_description: 'sense1 description',
      site: 'Lund',
    };
    expect(
      metricValue(poller, 'butlersos_user_session_total', {
        ...gaugeLabels,
        user_session_virtual_proxy: '/hdr',
        user_session_host: sim.qpsHost('sense1'),
      }),
    ).toBe(5);
    expect(
      metricValue(poller, 'butlersos_user_session_total', {
        ...gaugeLabels,
        user_session_virtual_proxy: '/',
      }),
    ).toBe(3);
    expect(poller).toMatch(/qsm_queue_jobs\{queue="poll",state="waiting",role="poller"\} \d+/);

    const sink = await apps.influx!.metrics();
    const batches = metricValue(sink, 'qsm_influx_write_batches_total', { outcome: 'ok' });
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(polls);
    expect(metricValue(sink, 'qsm_influx_write_duration_seconds_count')).toBe(batches);
    expect(metricValue(sink, 'qsm_sink_retries_total')).toBe(0);
    expect(mqtt.messages.length).toBe(polls);
  });

  it('counts a poll job that waited longer than its interval as a stale poll, and does not run it', async () => {
    apps.scheduler = await startApp('scheduler', {
      configFile,
      prefix,
      env: { REDIS_URL: redis.url },
      name: 'scheduler-2',
    });
    await waitUntil(
      async () => metricValue(await apps.poller!.metrics(), 'qsm_polls_total', { outcome: 'ok' }) > 0,
      'polling',
    );
    expect(await apps.poller!.stop()).toBe(0);
    const before = (await sim.proxyState('sense1', '/')).requests;
    await new Promise((r) => setTimeout(r, 3000));
    apps.poller = await startApp('poller', {
      configFile,
      prefix,
      env: { REDIS_URL: redis.url },
      name: 'poller-2',
    });
    await waitUntil(
      async () => metricValue(await apps.poller!.metrics(), 'qsm_polls_stale_skipped_total') >= 2,
      'stale polls skipped',
    );
    const text = await apps.poller!.metrics();
    expect(metricValue(text, 'qsm_polls_total', { outcome: 'skipped_stale' })).toBe(
      metricValue(text, 'qsm_polls_stale_skipped_total'),
    );
    // The stale jobs did not reach QPS; polling goes on with fresh jobs.
    await waitUntil(async () => (await sim.proxyState('sense1', '/')).requests > before, 'fresh polls');
  });

  it('removes the session gauge of a virtual proxy that left the config', async () => {
    writeConfig(['/']);
    await waitUntil(
      async () => !(await apps.poller!.metrics()).includes('user_session_virtual_proxy="/hdr"'),
      'the /hdr gauge gone',
    );
    expect(
      metricValue(await apps.poller!.metrics(), 'butlersos_user_session_total', {
        user_session_virtual_proxy: '/',
      }),
    ).toBe(3);
  });
});

describe('/readyz', () => {
  it('turns unready when Redis goes away, ready again when it returns, and polling resumes by itself', async () => {
    expect((await apps.poller!.ready()).status).toBe(200);
    expect((await apps.influx!.ready()).body).toMatchObject({ status: 'ready', redis: 'up', influxdb: 'up' });
    await redis.stop();
    for (const app of [apps.poller!, apps.influx!, apps.mqtt!, apps.scheduler!]) {
      await waitUntil(async () => (await app.ready()).status === 503, `${app.name} unready`);
      expect((await app.ready()).body.redis).toMatch(/^down/);
      expect((await fetch(`http://127.0.0.1:${app.httpPort}/healthz`)).status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 3000));
    const before = (await sim.proxyState('sense1', '/')).requests;
    await redis.restart();
    for (const app of [apps.poller!, apps.influx!, apps.mqtt!, apps.scheduler!]) {
      await waitUntil(async () => (await app.ready()).status === 200, `${app.name} ready again`, {
        timeoutMs: 20_000,
      });
      // One line when Redis went away and one when it came back, not one per reconnect attempt. The line
      // may reach the test's pipe a moment after /readyz has answered.
      const connected = () => app.lines.filter((l) => l.includes('redis connected')).length;
      await waitUntil(async () => connected() >= 2, `${app.name} logs that Redis is back`, {
        timeoutMs: 5000,
      });
      expect(app.lines.filter((l) => l.includes('redis unavailable')).length).toBe(1);
      expect(connected()).toBe(2);
    }
    await waitUntil(
      async () => (await sim.proxyState('sense1', '/')).requests > before + 1,
      'polling resumed',
      { timeoutMs: 20_000 },
    );
  });
});
