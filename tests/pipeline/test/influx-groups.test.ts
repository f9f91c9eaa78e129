import type { CertificateSet } from '@qsm/dev-certs';
import type { PollFailure } from '@qsm/model';
import { createResultDelivery, openQueue, QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  dropInfluxDatabase,
  influxCommand,
  influxQuery,
  influxWrite,
  metricValue,
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
import { pollResult } from './support/sink-results.js';

/*
 * The InfluxDB records of polls that finish together travel as one group job. Each record's outcome stays
 * its own: what InfluxDB takes is written, and the job's failure names the records it did not take.
 */

const prefix = uniqueName('influx_groups');
const db = uniqueName('qsm_groups');
let redis: Redis;
let delivery: ReturnType<typeof createResultDelivery>;
let certs: CertificateSet;

beforeAll(async () => {
  certs = await testCertificates('influx-groups');
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  delivery = createResultDelivery({ connection: redis, prefix });
  await influxCommand(`CREATE DATABASE ${db}`);
  await influxCommand(`CREATE RETENTION POLICY qsm_test ON ${db} DURATION 1d REPLICATION 1`);
});

afterAll(async () => {
  await delivery?.close();
  redis?.disconnect();
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
});

const failure = (virtualProxy: string, failedAt: number): PollFailure => ({
  ...pollResult(virtualProxy, failedAt, []),
  kind: 'error',
  failedAt,
  category: 'timeout',
  message: 'timed out',
  url: 'https://sense1.lab:4243/qps/session',
  attempt: 1,
});

describe('a group of InfluxDB records', () => {
  it('writes every record InfluxDB takes, and fails the job for good naming the records it refused or could not read', async () => {
    const now = Date.now();
    // A float error_count already in the measurement: InfluxDB refuses the error record (field type conflict).
    await influxWrite({ db, rp: 'qsm_test' }, [`butler_sos_errors,seed=1 error_count=1.5 ${now}`]);
    const good = ['/a', '/b', '/c'].map((vp, i) => pollResult(vp, now + i, ['anna', 'bert']));
    await delivery.deliver([
      ...good.map((data, i) => ({ queue: QUEUE.influx, id: `good-${i}`, data })),
      { queue: QUEUE.influx, id: 'refused', data: failure('/d', now) },
      // Malformed (an older or broken poller): named in the failure, the others written regardless.
      { queue: QUEUE.influx, id: 'unreadable', data: { ...good[0]!, sessions: 'none' } as never },
    ]);
    const queue = openQueue({ connection: redis, prefix }, QUEUE.influx);
    expect((await queue.getWaiting()).map((j) => j.name)).toEqual(['poll-records (5)']);

    const configFile = writeButlerConfig(tempDir('influx-groups'), {
      certs,
      servers: [{ serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxies: ['/'] }],
      influx: { db },
    });
    const sink = await startApp('influx-sink', { configFile, prefix });
    await waitUntil(async () => (await queue.getFailedCount()) === 1, 'the group job failed', {
      timeoutMs: 20_000,
    });
    const [job] = await queue.getJobs(['failed']);
    await queue.close();
    expect(job!.attemptsMade).toBe(1);
    expect(job!.failedReason).toMatch(
      /^influx_rejected: 2 of the 5 records of this group: refused: .*field type conflict.*; unreadable: sessions: /,
    );

    const summaries = rows(
      await influxQuery(
        db,
        'SELECT session_count FROM qsm_test.user_session_summary GROUP BY user_session_virtual_proxy',
      ),
    );
    expect(summaries.map((r) => r.user_session_virtual_proxy).sort()).toEqual(['/a', '/b', '/c']);
    expect(summaries.every((r) => r.session_count === 2)).toBe(true);
    const details = rows(
      await influxQuery(db, 'SELECT count(session_id) FROM qsm_test.user_session_details'),
    );
    expect(details[0]?.count).toBe(6);

    const metrics = await sink.metrics();
    expect(metricValue(metrics, 'qsm_influx_points_rejected_total')).toBe(1);
    expect(
      sink.lines.some((l) => l.includes('InfluxDB rejected a result') && l.includes('"jobId":"refused"')),
    ).toBe(true);
  });
});
