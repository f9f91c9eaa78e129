import type { CertificateSet } from '@qsm/dev-certs';
import { openQueue, QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  influxCommand,
  influxQuery,
  influxWrite,
  metricValue,
  type OwnService,
  rows,
  services,
  sleep,
  startApp,
  startOwnInfluxd,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect } from 'vitest';
import { queueDrained } from './support/queue-state.js';
import { scenario } from './support/report.js';

const prefix = uniqueName('rel_rejects');
const db = 'rejects';
let influx: OwnService | undefined;

afterAll(async () => {
  await stopAll();
  await influx?.stop();
  await cleanupRedisPrefix(prefix);
});

describe('InfluxDB refusing part of a write', () => {
  scenario('7', 'InfluxDB rejects points: max-values-per-tag exceeded, field type conflict', async (r) => {
    const certs: CertificateSet = await testCertificates('rel-rejects');
    // InfluxDB 1.x with a tiny per-tag limit: new session ids soon exceed it, as on a busy site with the default 100,000.
    influx = await startOwnInfluxd({ maxValuesPerTag: 20 });
    await influxCommand(`CREATE DATABASE ${db}`, influx.url);
    await influxCommand(`CREATE RETENTION POLICY qsm_test ON ${db} DURATION 1d REPLICATION 1`, influx.url);
    // Field types are fixed per shard (one hour here): seed this hour's shard and the next one, so the
    // conflict holds even when the test runs across the top of an hour.
    const now = Date.now();
    const nextHour = Math.ceil(now / 3_600_000) * 3_600_000;
    await influxWrite(
      { db, rp: 'qsm_test', url: influx.url },
      [now, nextHour].map((t) => `butler_sos_errors,error_type=OTHER error_count=1.5 ${t}`),
    );
    const seeded = await influxQuery(
      db,
      `SELECT count(error_count) FROM qsm_test.butler_sos_errors WHERE time >= ${now}ms`,
      influx.url,
    );
    expect(rows(seeded)[0]?.count, 'the float error_count seed is in InfluxDB').toBe(2);
    r.did(
      'InfluxDB with max-values-per-tag = 20; a float error_count written first (field type conflict for error records)',
    );
    const sim = await startSimulator(certs, [
      '--servers',
      '1',
      '--prefixes',
      '/,/broken',
      '--sessions',
      '8',
      '--churn',
      '0.6',
      '--churn-interval',
      '700',
    ]);
    await sim.setFault('sense1', '/broken', { mode: 'status', status: 500 });
    const configFile = writeButlerConfig(tempDir('rel-rejects'), {
      certs,
      pollingInterval: 1000,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/', '/broken'] }],
      influx: { db, port: influx.port },
    });
    const sink = await startApp('influx-sink', { configFile, prefix });
    const poller = await startApp('poller', { configFile, prefix });
    const scheduler = await startApp('scheduler', { configFile, prefix });
    r.did(
      'polled a proxy whose sessions churn (new session ids every poll) and a failing one, every second, for 8 s',
    );
    await sleep(8000);
    await scheduler.stop();
    await poller.stop();
    await waitUntil(() => queueDrained(prefix, QUEUE.influx), 'sink-influx drained', { timeoutMs: 30_000 });

    const polls = (await sim.proxyState('sense1', '/')).requests;
    const summaries = Number(
      rows(
        await influxQuery(db, `SELECT count(session_count) FROM qsm_test.user_session_summary`, influx.url),
      )[0]?.count ?? 0,
    );
    r.count('polls of the churning proxy', polls);
    r.count('its summary points in InfluxDB (accepted parts of rejected writes)', summaries);
    expect(polls).toBeGreaterThan(0);
    expect(summaries).toBe(polls);

    const metrics = await sink.metrics();
    const rejected = metricValue(metrics, 'qsm_influx_points_rejected_total');
    r.count('points reported rejected', rejected);
    expect(rejected).toBeGreaterThan(0);
    expect(metricValue(metrics, 'qsm_sink_retries_total')).toBe(0);

    const connection = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 });
    const queue = openQueue({ connection, prefix }, QUEUE.influx);
    const failed = await queue.getJobs(['failed']);
    await queue.close();
    connection.disconnect();
    const tagLimit = failed.filter((j) => /max-values-per-tag limit exceeded/.test(j.failedReason ?? ''));
    const typeConflict = failed.filter((j) => /field type conflict/.test(j.failedReason ?? ''));
    const failedPolls = (await sim.proxyState('sense1', '/broken')).requests;
    const errorPoints = Number(
      rows(
        await influxQuery(
          db,
          `SELECT count(error_count) FROM qsm_test.butler_sos_errors WHERE error_type = 'PROXY_API'`,
          influx.url,
        ),
      )[0]?.count ?? 0,
    );
    r.count('polls of the failing proxy (each an error record)', failedPolls);
    r.count('error records InfluxDB took despite the conflict (should be none)', errorPoints);
    r.count('jobs failed with InfluxDB "max-values-per-tag limit exceeded"', tagLimit.length);
    r.count('error records failed with InfluxDB "field type conflict"', typeConflict.length);
    expect(tagLimit.length).toBeGreaterThan(0);
    expect(failedPolls).toBeGreaterThan(0);
    expect(errorPoints).toBe(0);
    // Every failed poll is one error record; a poll cut short by the poller's shutdown may have none.
    expect(typeConflict.length).toBeGreaterThan(0);
    expect(typeConflict.length).toBeLessThanOrEqual(failedPolls);
    expect(failed.every((j) => j.attemptsMade === 1 && j.failedReason?.startsWith('influx_rejected: '))).toBe(
      true,
    );
    expect(
      sink.lines.some((l) => l.includes('InfluxDB rejected a result') && l.includes('max-values-per-tag')),
    ).toBe(true);

    // Nothing keeps being written again: the write count stands still once the queue is drained.
    const batches = metricValue(metrics, 'qsm_influx_write_batches_total');
    await sleep(3000);
    const later = metricValue(await sink.metrics(), 'qsm_influx_write_batches_total');
    r.count('writes in the 3 s after draining', later - batches);
    expect(later).toBe(batches);
    expect(sink.child.exitCode).toBeNull();
  });
});
