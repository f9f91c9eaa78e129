import type { CertificateSet } from '@qsm/dev-certs';
import {
  cleanupRedisPrefix,
  metricValue,
  type Simulator,
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Long enough that a late first poll and the first aligned poll are clearly apart.
const INTERVAL = 4000;
let certs: CertificateSet;
let sim: Simulator;
const prefixes: string[] = [];

/** A scheduler and a poller are all these tests run: the config has no InfluxDB and no MQTT. */
function setup(label: string, proxy: string) {
  const prefix = uniqueName(label);
  prefixes.push(prefix);
  const configFile = writeButlerConfig(tempDir(label), {
    certs,
    pollingInterval: INTERVAL,
    servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: [proxy] }],
  });
  return { prefix, configFile };
}

/** Waits until the wall clock is just past an aligned time, so the next one is almost an interval away. */
async function justAfterAlignedTime(): Promise<number> {
  for (;;) {
    const phase = Date.now() % INTERVAL;
    if (phase >= 50 && phase < 300) return Date.now();
    await sleep(20);
  }
}

const nextAlignedTime = (at: number) => Math.ceil(at / INTERVAL) * INTERVAL;

beforeAll(async () => {
  certs = await testCertificates('first-poll');
  sim = await startSimulator(certs, ['--servers', '1', '--prefixes', '/,/late', '--churn', '0']);
});

afterAll(async () => {
  await stopAll();
  for (const prefix of prefixes) await cleanupRedisPrefix(prefix);
});

describe('a new virtual proxy', () => {
  it('is polled at once, not an interval later', async () => {
    const { prefix, configFile } = setup('first_poll_now', '/');
    await startApp('poller', { configFile, prefix });
    const started = await justAfterAlignedTime();
    await startApp('scheduler', { configFile, prefix });
    await waitUntil(async () => (await sim.proxyState('sense1', '/')).requests > 0, 'the first poll', {
      timeoutMs: 2 * INTERVAL,
      intervalMs: 50,
    });
    const first = (await sim.proxyState('sense1', '/')).times[0]!;
    expect(first).toBeLessThan(nextAlignedTime(started));
  });

  it('skips its extra first poll when no poller took it within a quarter of an interval, and is polled at the aligned time', async () => {
    const { prefix, configFile } = setup('first_poll_late', '/late');
    await justAfterAlignedTime();
    const scheduler = await startApp('scheduler', { configFile, prefix, name: 'scheduler-late' });
    await scheduler.waitForLine((l) => l.includes('schedulers reconciled'));
    const addedAt = Date.now();
    // No poller for more than a quarter of an interval: the extra first poll waits in the queue.
    await sleep(INTERVAL / 4 + 500);
    const poller = await startApp('poller', { configFile, prefix, name: 'poller-late' });
    await waitUntil(
      async () => metricValue(await poller.metrics(), 'qsm_polls_stale_skipped_total') === 1,
      'the late first poll skipped',
      { timeoutMs: INTERVAL },
    );
    await waitUntil(
      async () => (await sim.proxyState('sense1', '/late')).requests >= 2,
      'two aligned polls',
      {
        timeoutMs: 3 * INTERVAL,
        intervalMs: 50,
      },
    );
    const times = (await sim.proxyState('sense1', '/late')).times;
    // The first request QPS saw is the aligned poll, and the next one an interval later.
    expect(times[0]!).toBeGreaterThanOrEqual(nextAlignedTime(addedAt));
    expect(times[1]! - times[0]!).toBeGreaterThan(INTERVAL / 2);
  });
});
