import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CertificateSet } from '@qsm/dev-certs';
import { listSchedulers, openQueue, QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  type RunningApp,
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
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const prefix = uniqueName('config_change');
let certs: CertificateSet;
let sim: Simulator;
let scheduler: RunningApp;
let poller: RunningApp;
let configFile: string;
let redis: Redis;

const config = (virtualProxies: string[]) => ({
  certs,
  pollingInterval: 1000,
  servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies }],
});

async function schedulerIds(): Promise<string[]> {
  const queue = openQueue({ connection: redis, prefix }, QUEUE.poll);
  try {
    return (await listSchedulers(queue)).map((s) => s.key).sort();
  } finally {
    await queue.close();
  }
}

beforeAll(async () => {
  certs = await testCertificates('config-change');
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  sim = await startSimulator(certs, ['--servers', '1', '--prefixes', '/,/hdr,/sales', '--churn', '0']);
  const dir = tempDir('config-change');
  configFile = writeButlerConfig(dir, config(['/', '/hdr', '/sales']));
  scheduler = await startApp('scheduler', { configFile, prefix });
  poller = await startApp('poller', { configFile, prefix });
});

afterAll(async () => {
  await stopAll();
  redis.disconnect();
  await cleanupRedisPrefix(prefix);
});

describe('the scheduler follows the config file', () => {
  it('creates one scheduler per virtual proxy at start', async () => {
    expect(await schedulerIds()).toEqual(['poll|sense1|%2F', 'poll|sense1|%2Fhdr', 'poll|sense1|%2Fsales']);
    await waitUntil(async () => (await sim.proxyState('sense1', '/sales')).requests > 0, 'a poll of /sales');
  });

  it('drops the schedule of a virtual proxy removed from the file, without a restart', async () => {
    writeButlerConfig(path.dirname(configFile), config(['/', '/hdr']));
    await scheduler.waitForLine((l) => l.includes('1 removed (sense1/sales)'), 10_000);
    expect(await schedulerIds()).toEqual(['poll|sense1|%2F', 'poll|sense1|%2Fhdr']);
    // The pollers reload too: /sales is not polled any more, the others are.
    await new Promise((r) => setTimeout(r, 1500));
    const before = await sim.proxyState('sense1', '/sales');
    const hdrBefore = await sim.proxyState('sense1', '/hdr');
    await new Promise((r) => setTimeout(r, 2500));
    expect((await sim.proxyState('sense1', '/sales')).requests).toBe(before.requests);
    expect((await sim.proxyState('sense1', '/hdr')).requests).toBeGreaterThan(hdrBefore.requests);
  });

  it('keeps the running schedules when the new file is invalid, and says why', async () => {
    writeFileSync(configFile, 'Butler-SOS:\n  serversToMonitor:\n    rejectUnauthorized: maybe\n');
    await scheduler.waitForLine((l) => l.includes('config change rejected'), 10_000);
    expect(
      scheduler.lines.some((l) =>
        l.includes('Butler-SOS.serversToMonitor.rejectUnauthorized: must be a boolean'),
      ),
    ).toBe(true);
    expect(await schedulerIds()).toEqual(['poll|sense1|%2F', 'poll|sense1|%2Fhdr']);
  });

  it('reconciles on SIGHUP too', async () => {
    writeButlerConfig(path.dirname(configFile), config(['/']));
    scheduler.child.kill('SIGHUP');
    await waitUntil(async () => (await schedulerIds()).length === 1, 'one scheduler left');
    expect(await schedulerIds()).toEqual(['poll|sense1|%2F']);
    expect(poller.child.exitCode).toBeNull();
  });

  it('refuses to start with an invalid config, exits non-zero and leaves the schedulers alone', async () => {
    const bad = path.join(tempDir('bad-config'), 'config.yaml');
    writeFileSync(
      bad,
      'Butler-SOS:\n  userSessions:\n    enableSessionExtract: true\n    pollingInterval: 10\n',
    );
    const second = startApp('scheduler', { configFile: bad, prefix, name: 'bad-scheduler' }).catch(
      (e: Error) => e,
    );
    const error = await second;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/exited \(1\)/);
    expect((error as Error).message).toContain(
      'Butler-SOS.userSessions.pollingInterval: must be >= 1000 (got 10)',
    );
    expect((error as Error).message).toContain('Butler-SOS.serversToMonitor: required');
    expect(await schedulerIds()).toEqual(['poll|sense1|%2F']);
  });

  it('is safe to run twice at once', async () => {
    writeButlerConfig(path.dirname(configFile), config(['/', '/hdr']));
    const twin = await startApp('scheduler', { configFile, prefix, name: 'scheduler-twin' });
    await waitUntil(async () => (await schedulerIds()).length === 2, 'two schedulers');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await schedulerIds()).toEqual(['poll|sense1|%2F', 'poll|sense1|%2Fhdr']);
    const delayed = await openQueue({ connection: redis, prefix }, QUEUE.poll).getDelayedCount();
    expect(delayed).toBeLessThanOrEqual(2);
    expect(await twin.stop()).toBe(0);
  });
});
