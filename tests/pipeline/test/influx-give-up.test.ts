import type { CertificateSet } from '@qsm/dev-certs';
import { createResultDelivery, openQueue, type PollResult, QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  freePort,
  metricValue,
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
import { afterAll, describe, expect, it } from 'vitest';
import { pollResult, sendResults } from './support/sink-results.js';

/* The InfluxDB sink on its own, with an InfluxDB that never comes: results are added by the test. */

const prefix = uniqueName('influx_give_up');
let redis: Redis | undefined;

afterAll(async () => {
  redis?.disconnect();
  await stopAll();
  await cleanupRedisPrefix(prefix);
});

describe('the InfluxDB sink, InfluxDB away for longer than SINK_MAX_AGE_MS', () => {
  it('retries each result until it is too old, then fails its job visibly, counts it and logs the burst in a few lines', async () => {
    const certs: CertificateSet = await testCertificates('influx-give-up');
    // Nothing listens on this port: every write is refused, as when InfluxDB is down.
    const configFile = writeButlerConfig(tempDir('influx-give-up'), {
      certs,
      servers: [{ serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxies: ['/'] }],
      influx: { db: 'never', port: await freePort() },
    });
    const sink = await startApp('influx-sink', {
      configFile,
      prefix,
      env: { SINK_MAX_AGE_MS: '3000', SINK_MAX_BACKOFF_MS: '500' },
    });
    redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
    const delivery = createResultDelivery({ connection: redis, prefix });
    await sendResults(
      delivery,
      QUEUE.influx,
      ['/a', '/b', '/c'].map((vp) => pollResult(vp, Date.now(), ['anna'])),
    );
    await delivery.close();

    const queue = openQueue({ connection: redis, prefix }, QUEUE.influx);
    await waitUntil(async () => (await queue.getFailedCount()) === 3, 'all three results given up', {
      timeoutMs: 15_000,
    });
    const failed = await queue.getJobs(['failed']);
    await queue.close();
    for (const job of failed) {
      expect(job.failedReason).toMatch(/^influx_unavailable: /);
      // Retried (1 s, then 0.5 s capped, +-20%) until the next try would come after the maximum age.
      expect(job.attemptsMade).toBeGreaterThan(2);
      expect(job.finishedOn! - (job.data as PollResult).polledAt).toBeGreaterThan(3000 - 600);
    }
    const metrics = await sink.metrics();
    expect(metricValue(metrics, 'qsm_sink_results_given_up_total', { sink: 'influx' })).toBe(3);
    expect(metricValue(metrics, 'qsm_sink_retries_total', { sink: 'influx' })).toBeGreaterThan(3);
    expect(sink.child.exitCode).toBeNull();

    // One line names the first result; the others, given up within seconds of it, are one summary line
    // (said at the latest when the sink stops).
    expect(await sink.stop()).toBe(0);
    const givenUp = sink.lines.filter((l) => l.includes('gave up on'));
    expect(givenUp).toHaveLength(2);
    expect(givenUp[0]).toContain('gave up on a result not delivered within SINK_MAX_AGE_MS (3000 ms)');
    expect(givenUp[1]).toContain('gave up on 2 more results not delivered within SINK_MAX_AGE_MS (3000 ms)');
  });
});
