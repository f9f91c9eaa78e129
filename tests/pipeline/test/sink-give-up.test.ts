import type { CertificateSet } from '@qsm/dev-certs';
import type { InfluxSinkGroup, PollResult } from '@qsm/model';
import { createResultDelivery, openQueue, QUEUE } from '@qsm/queues';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollResult, sendResults } from './support/sink-results.js';

/* Each sink on its own, with a destination that never comes: results are added by the test. */

const prefix = uniqueName('sink_give_up');
let redis: Redis;
let delivery: ReturnType<typeof createResultDelivery>;
let certs: CertificateSet;

beforeAll(async () => {
  certs = await testCertificates('sink-give-up');
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  delivery = createResultDelivery({ connection: redis, prefix });
});

afterAll(async () => {
  await delivery?.close();
  redis?.disconnect();
  await stopAll();
  await cleanupRedisPrefix(prefix);
});

describe('the InfluxDB sink, InfluxDB away for longer than SINK_MAX_AGE_MS', () => {
  it('retries each result until it is too old, then fails its job visibly, counts it and logs the burst in a few lines', async () => {
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
    // Two results delivered together (one group job, as from polls finishing at once) and one alone.
    await sendResults(
      delivery,
      QUEUE.influx,
      ['/a', '/b'].map((vp) => pollResult(vp, Date.now(), ['anna'])),
    );
    await sendResults(delivery, QUEUE.influx, [pollResult('/c', Date.now(), ['anna'])]);

    const queue = openQueue({ connection: redis, prefix }, QUEUE.influx);
    await waitUntil(async () => (await queue.getFailedCount()) === 2, 'all three results given up', {
      timeoutMs: 15_000,
    });
    const failed = await queue.getJobs(['failed']);
    await queue.close();
    expect(failed.map((j) => j.name).sort()).toEqual(['poll-records (2)', 'poll-result']);
    for (const job of failed) {
      expect(job.failedReason).toMatch(/^influx_unavailable: /);
      // Retried (1 s, then 0.5 s capped, +-20%) until the next try would come after the maximum age.
      expect(job.attemptsMade).toBeGreaterThan(2);
      const data = job.data as PollResult | InfluxSinkGroup;
      const polledAt = data.kind === 'group' ? (data.members[0]!.data as PollResult).polledAt : data.polledAt;
      expect(job.finishedOn! - polledAt).toBeGreaterThan(3000 - 600);
    }
    const metrics = await sink.metrics();
    expect(metricValue(metrics, 'qsm_sink_results_given_up_total', { sink: 'influx' })).toBe(3);
    expect(metricValue(metrics, 'qsm_sink_retries_total', { sink: 'influx' })).toBeGreaterThan(3);
    expect(sink.child.exitCode).toBeNull();

    // One line names the first job given up; the other, given up within seconds of it, is one summary line
    // (said at the latest when the sink stops).
    expect(await sink.stop()).toBe(0);
    expect(sink.lines.filter((l) => l.includes('influxdb unavailable'))).toHaveLength(1);
    const givenUp = sink.lines.filter((l) => l.includes('gave up on'));
    expect(givenUp).toHaveLength(2);
    const groupFirst = givenUp[0]!.includes(
      'gave up on a group of 2 results not delivered within SINK_MAX_AGE_MS (3000 ms)',
    );
    if (!groupFirst)
      expect(givenUp[0]).toContain('gave up on a result not delivered within SINK_MAX_AGE_MS (3000 ms)');
    expect(givenUp[1]).toContain(
      `gave up on ${groupFirst ? '1 more result' : '2 more results'} not delivered within SINK_MAX_AGE_MS (3000 ms)`,
    );
  });
});

describe('the MQTT sink, the broker away for longer than SINK_MAX_AGE_MS', () => {
  it('removes the results that expire while it waits for the broker, so that the maximum age bounds Redis, and keeps the younger ones', async () => {
    const configFile = writeButlerConfig(tempDir('mqtt-give-up'), {
      certs,
      servers: [{ serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxies: ['/'] }],
      influx: false,
      mqtt: { baseTopic: `qsm-test/${prefix}/` },
    });
    const sink = await startApp('mqtt-sink', {
      configFile,
      prefix,
      name: 'mqtt-sink-give-up',
      // Nothing listens there: the broker is away from the start. Expired results go within a second.
      env: {
        MQTT_URL: `mqtt://127.0.0.1:${await freePort()}`,
        SINK_MAX_AGE_MS: '5000',
        MQTT_PUBLISH_TIMEOUT_MS: '2000',
      },
    });
    await waitUntil(async () => (await sink.ready()).status === 503, 'unready: no broker');
    // Away from the start is an outage too: said once, and the worker takes no jobs.
    await sink.waitForLine((l) => l.includes('mqtt broker unavailable: connect ECONNREFUSED'));
    const queue = openQueue({ connection: redis, prefix }, QUEUE.mqtt);
    try {
      await sendResults(delivery, QUEUE.mqtt, [pollResult('/old', Date.now(), ['anna'])]);
      await new Promise((r) => setTimeout(r, 3000));
      await sendResults(delivery, QUEUE.mqtt, [pollResult('/young', Date.now(), ['bob'])]);
      await waitUntil(
        async () =>
          metricValue(await sink.metrics(), 'qsm_sink_results_given_up_total', { sink: 'mqtt' }) === 1,
        'the older result given up',
        { timeoutMs: 10_000 },
      );
      // The young one may be in hand (a fetch in flight when the worker paused), waiting for the broker.
      const waiting = await queue.getJobs(['wait', 'delayed', 'active']);
      expect(waiting.map((j) => (j.data as PollResult).virtualProxy)).toEqual(['/young']);
      await waitUntil(
        async () =>
          metricValue(await sink.metrics(), 'qsm_sink_results_given_up_total', { sink: 'mqtt' }) === 2,
        'the younger one given up in its turn',
        { timeoutMs: 15_000 },
      );
      const left = await queue.getJobCounts('wait', 'delayed', 'active');
      expect(left).toEqual({ wait: 0, delayed: 0, active: 0 });
    } finally {
      await queue.close();
    }
    expect(sink.child.exitCode).toBeNull();
    expect(await sink.stop()).toBe(0);
    const givenUp = sink.lines.filter((l) => l.includes('gave up on'));
    expect(givenUp[0]).toContain('gave up on a result not delivered within SINK_MAX_AGE_MS (5000 ms)');
    // The second, given up seconds after the first, is in the summary line (said at the latest on stop).
    expect(givenUp).toHaveLength(2);
    expect(givenUp[1]).toContain('gave up on 1 more result not delivered within SINK_MAX_AGE_MS (5000 ms)');
  });
});
