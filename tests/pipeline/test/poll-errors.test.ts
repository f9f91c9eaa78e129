import type { CertificateSet } from '@qsm/dev-certs';
import {
  cleanupRedisPrefix,
  dropInfluxDatabase,
  influxQuery,
  metricValue,
  type RunningApp,
  rows,
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

const prefix = uniqueName('poll_errors');
const db = uniqueName('qsm_poll_errors');
let certs: CertificateSet;
let sim: Simulator;
let poller: RunningApp;

beforeAll(async () => {
  certs = await testCertificates('poll-errors');
  sim = await startSimulator(certs, ['--servers', '1', '--prefixes', '/,/broken,/login', '--churn', '0']);
  await sim.setFault('sense1', '/broken', { mode: 'status', status: 503 });
  await sim.setFault('sense1', '/login', { mode: 'html' });
  const configFile = writeButlerConfig(tempDir('poll-errors'), {
    certs,
    pollingInterval: 1000,
    servers: [
      {
        serverName: 'sense1',
        qpsHost: sim.qpsHost('sense1'),
        virtualProxies: ['/', '/broken', '/login', '/missing'],
      },
      // Butler SOS's template, not filled in: the config loads, and every poll of this server fails.
      { serverName: 'unfilled', qpsHost: '<server2.my.domain>:4243', virtualProxies: ['/'] },
    ],
    influx: { db },
  });
  await startApp('influx-sink', { configFile, prefix });
  poller = await startApp('poller', { configFile, prefix });
  await startApp('scheduler', { configFile, prefix });
  await waitUntil(
    async () => {
      const errors = rows(
        await influxQuery(
          db,
          'SELECT count(error_count) FROM butler_sos_errors GROUP BY server_name, virtual_proxy',
        ),
      );
      const sessions = rows(await influxQuery(db, 'SELECT count(session_count) FROM user_session_summary'));
      return (
        errors.length === 4 && errors.every((e) => Number(e.count) >= 2) && Number(sessions[0]?.count) >= 3
      );
    },
    'errors of four proxies and results of the healthy one',
    { timeoutMs: 30_000, intervalMs: 250 },
  );
});

afterAll(async () => {
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
});

describe('failed polls', () => {
  it("become butler_sos_errors points with Butler SOS's tags and the error category", async () => {
    const latest = rows(
      await influxQuery(
        db,
        'SELECT LAST(error_count) AS error_count, error_category, http_status, request_url, error_message FROM butler_sos_errors GROUP BY *',
      ),
    );
    const of = (vp: string, server = 'sense1') =>
      latest.find((r) => r.virtual_proxy === vp && r.server_name === server);
    expect(of('/broken')).toMatchObject({
      error_type: 'PROXY_API',
      server_name: 'sense1',
      host: sim.qpsHost('sense1'),
      error_count: 1,
      error_category: 'http_5xx',
      http_status: 503,
      request_url: `https://${sim.qpsHost('sense1')}/qps/broken/session`,
    });
    expect(of('/login')).toMatchObject({ error_category: 'invalid_response' });
    expect(String(of('/login')?.error_message)).toMatch(/HTML/);
    expect(of('/missing')).toMatchObject({ error_category: 'not_found', http_status: 404 });
    expect(of('/', 'unfilled')).toMatchObject({
      error_category: 'host_not_found',
      request_url: 'https://<server2.my.domain>:4243/qps/session',
    });
    expect(String(of('/', 'unfilled')?.error_message)).toMatch(/placeholder of Butler SOS's template/);
  });

  it('are retried when a retry can help and not when it cannot', async () => {
    // A 404 (unknown prefix) is not retried: one error record per poll. A 503 gets a second attempt.
    const attempts = rows(
      await influxQuery(
        db,
        'SELECT count(error_count) FROM butler_sos_errors GROUP BY server_name, virtual_proxy',
      ),
    );
    const byVp = Object.fromEntries(
      attempts.filter((a) => a.server_name === 'sense1').map((a) => [a.virtual_proxy, Number(a.count)]),
    );
    const polls = (vp: string) => sim.proxyState('sense1', vp).then((p) => p.requests);
    expect(byVp['/broken']).toBe(await polls('/broken'));
    expect(await polls('/broken')).toBeGreaterThan(0);
  });

  it('never stop the poller, and the healthy proxy keeps its schedule', async () => {
    expect(poller.child.exitCode).toBeNull();
    const text = await poller.metrics();
    expect(metricValue(text, 'qsm_polls_total', { outcome: 'failed', category: 'http_5xx' })).toBeGreaterThan(
      0,
    );
    expect(
      metricValue(text, 'qsm_polls_total', { outcome: 'failed', category: 'not_found' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(text, 'qsm_polls_total', { outcome: 'failed', category: 'host_not_found' }),
    ).toBeGreaterThan(0);
    expect(metricValue(text, 'qsm_polls_total', { outcome: 'ok' })).toBeGreaterThan(0);
    await waitUntil(
      async () => (await sim.proxyState('sense1', '/')).times.length >= 4,
      'four polls of the healthy proxy',
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    const healthy = await sim.proxyState('sense1', '/');
    const gaps = healthy.times.slice(1).map((t, i) => t - healthy.times[i]!);
    // The first poll may be the extra one added at once, only half an interval before the first aligned
    // run; from then on the proxy is polled once per interval, neither hurried nor held up by the failures.
    const scheduledGaps = gaps.slice(1);
    expect(Math.min(...scheduledGaps)).toBeGreaterThan(500);
    expect(Math.max(...gaps)).toBeLessThan(3000);
  });
});
