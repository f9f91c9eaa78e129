import type { CertificateSet } from '@qsm/dev-certs';
import { listSchedulers, openQueue, QUEUE } from '@qsm/queues';
import {
  dropInfluxDatabase,
  type OwnService,
  type RunningApp,
  sleep,
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
import { Redis } from 'ioredis';
import { afterAll, describe, expect } from 'vitest';
import { scenario } from './support/report.js';

const prefix = uniqueName('rel_redis');
const db = uniqueName('qsm_rel_redis');
let redis: OwnService | undefined;

async function schedulerCount(url: string): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: 1 });
  const queue = openQueue({ connection, prefix }, QUEUE.poll);
  try {
    return (await listSchedulers(queue)).length;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

afterAll(async () => {
  await stopAll();
  await redis?.stop();
  await dropInfluxDatabase(db);
});

describe('Redis going away', () => {
  scenario('4', 'Redis restarted (AOF persistence on) under running apps', async (r) => {
    const certs: CertificateSet = await testCertificates('rel-redis');
    redis = await startOwnRedis({ persistence: true });
    const sim = await startSimulator(certs, ['--servers', '1', '--prefixes', '/,/hdr', '--sessions', '3']);
    const configFile = writeButlerConfig(tempDir('rel-redis'), {
      certs,
      pollingInterval: 1000,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/', '/hdr'] }],
      influx: { db },
      mqtt: { baseTopic: `qsm-test/${prefix}/` },
    });
    const env = { REDIS_URL: redis.url };
    const apps: RunningApp[] = [
      await startApp('influx-sink', { configFile, prefix, env }),
      await startApp('mqtt-sink', { configFile, prefix, env }),
      await startApp('poller', { configFile, prefix, env }),
      await startApp('scheduler', { configFile, prefix, env }),
    ];
    await sleep(3000);
    r.count('job schedulers before', await schedulerCount(redis.url));
    await redis.stop();
    r.did('ran scheduler, poller and both sinks on a Redis with AOF, stopped Redis for 10 s');
    for (const app of apps)
      await waitUntil(async () => (await app.ready()).status === 503, `${app.name} unready`);
    r.did('checked /readyz of every app (503) during the outage');
    await sleep(10_000);
    const requestsBefore = (await sim.proxyState('sense1', '/')).requests;
    for (const app of apps) expect(app.child.exitCode, `${app.name} still running`).toBeNull();
    r.count('apps that exited during the outage', 0);
    await redis.restart();
    r.did('started Redis again; no app was restarted');
    for (const app of apps)
      await waitUntil(async () => (await app.ready()).status === 200, `${app.name} ready`, {
        timeoutMs: 30_000,
      });
    await waitUntil(
      async () => (await sim.proxyState('sense1', '/')).requests >= requestsBefore + 3,
      'polling resumed',
      {
        timeoutMs: 30_000,
      },
    );
    const after = await schedulerCount(redis.url);
    r.count('job schedulers after', after);
    expect(after).toBe(2);
    r.count(
      'polls of / after Redis came back (within 30 s)',
      (await sim.proxyState('sense1', '/')).requests - requestsBefore,
    );
    const lines = apps.map((app) => ({
      app: app.name,
      down: app.lines.filter((l) => l.includes('redis unavailable')).length,
      up: app.lines.filter((l) => l.includes('redis connected')).length,
    }));
    for (const line of lines) {
      expect(line.down, `${line.app}: one "unavailable" line`).toBe(1);
      expect(line.up, `${line.app}: "connected" at start and after the outage`).toBe(2);
    }
    r.count('log lines per app about the outage', '1 down + 1 up');
  });
});
