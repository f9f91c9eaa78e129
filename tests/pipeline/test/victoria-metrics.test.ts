import type { CertificateSet } from '@qsm/dev-certs';
import {
  cleanupRedisPrefix,
  type Simulator,
  services,
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
 * Every write path against VictoriaMetrics, which users put in InfluxDB's place: 1.x (`/write`, and the
 * InfluxQL statements that create the database, which VictoriaMetrics answers without doing anything),
 * 2.x and 3.x (@influxdata/influxdb-client, /api/v2/write; 3.x with the database as bucket).
 * VictoriaMetrics keeps numeric fields only, as `<measurement>_<field>` series.
 */

interface Exported {
  metric: Record<string, string>;
  values: number[];
}

async function exportSeries(match: string): Promise<Exported[]> {
  const res = await fetch(
    `${services.victoriaMetricsUrl}/api/v1/export?${new URLSearchParams({ 'match[]': match })}`,
  );
  const text = await res.text();
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Exported);
}

describe.each([1, 2, 3] as const)('the InfluxDB %s.x write path', (version) => {
  const prefix = uniqueName(`vm${version}`);
  const marker = uniqueName(`vm${version}_run`);
  let certs: CertificateSet;
  let sim: Simulator;

  beforeAll(async () => {
    certs = await testCertificates('vm');
    sim = await startSimulator(certs, [
      '--servers',
      '1',
      '--prefixes',
      '/,/hdr',
      '--sessions',
      '4',
      '--churn',
      '0',
    ]);
    const { hostname, port } = new URL(services.victoriaMetricsUrl);
    const configFile = writeButlerConfig(tempDir('vm'), {
      certs,
      pollingInterval: 1000,
      serverTagsDefinition: ['run'],
      servers: [
        {
          serverName: 'sense1',
          qpsHost: sim.qpsHost('sense1'),
          virtualProxies: ['/', '/hdr'],
          serverTags: { run: marker },
        },
      ],
      influx:
        version === 1
          ? { db: 'sessions', host: hostname, port: Number(port) }
          : { version, host: hostname, port: Number(port), bucket: 'sessions' },
    });
    await startApp('influx-sink', { configFile, prefix });
    await startApp('poller', { configFile, prefix });
    await startApp('scheduler', { configFile, prefix });
  });

  afterAll(async () => {
    await stopAll();
    await cleanupRedisPrefix(prefix);
  });

  it('delivers session_count with the server and proxy tags as labels', async () => {
    const series = await waitUntil(
      async () => {
        const found = await exportSeries(`user_session_summary_session_count{run="${marker}"}`);
        return found.length === 2 && found.every((s) => s.values.length >= 2) ? found : undefined;
      },
      'session counts in VictoriaMetrics',
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const hdr = series.find((s) => s.metric.user_session_virtual_proxy === '/hdr');
    expect(hdr?.metric).toMatchObject({
      host: '127.0.0.1',
      server_name: 'sense1',
      server_description: 'sense1 description',
      run: marker,
      user_session_host: sim.qpsHost('sense1'),
    });
    expect(new Set(hdr?.values)).toEqual(new Set([4]));
  });

  // v1 gives user_session_list only the user list (a string, which VictoriaMetrics does not keep).
  const listCount = version === 1 ? 0 : 2;
  it(`writes session_count into user_session_list ${version === 1 ? 'never' : 'too'}, as Butler SOS does for v${version}`, async () => {
    const list = await exportSeries(`user_session_list_session_count{run="${marker}"}`);
    expect(list.length).toBe(listCount);
  });
});
