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

const prefix = uniqueName('rel_wiped');
const db = uniqueName('qsm_rel_wiped');
let redis: OwnService | undefined;

async function withRedis<T>(url: string, use: (connection: Redis) => Promise<T>): Promise<T> {
  const connection = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await use(connection);
  } finally {
    connection.disconnect();
  }
}

async function schedulerCount(url: string): Promise<number> {
  return withRedis(url, async (connection) => {
    const queue = openQueue({ connection, prefix }, QUEUE.poll);
    try {
      return (await listSchedulers(queue)).length;
    } finally {
      await queue.close();
    }
  });
}

const restoredLines = (app: RunningApp) =>
  app.lines.filter((l) => l.includes('job schedulers were missing from Redis'));

afterAll(async () => {
  await stopAll();
  await redis?.stop();
  await dropInfluxDatabase(db);
});

describe('Redis that comes back without its data', () => {
  scenario(
    '4b',
    'Redis restarted without persistence, then flushed, then a lost next poll, under running apps',
    async (r) => {
      const certs: CertificateSet = await testCertificates('rel-wiped');
      redis = await startOwnRedis({ persistence: false });
      const sim = await startSimulator(certs, ['--servers', '1', '--prefixes', '/,/hdr', '--sessions', '3']);
      const configFile = writeButlerConfig(tempDir('rel-wiped'), {
        certs,
        pollingInterval: 1000,
        servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/', '/hdr'] }],
        influx: { db },
        mqtt: { baseTopic: `qsm-test/${prefix}/` },
      });
      const env = { REDIS_URL: redis.url };
      const scheduler = await startApp('scheduler', {
        configFile,
        prefix,
        env: { ...env, SCHEDULE_CHECK_INTERVAL_MS: '3000' },
      });
      const apps: RunningApp[] = [
        await startApp('influx-sink', { configFile, prefix, env }),
        await startApp('mqtt-sink', { configFile, prefix, env }),
        await startApp('poller', { configFile, prefix, env }),
        scheduler,
      ];
      await sleep(2000);
      expect(await schedulerCount(redis.url)).toBe(2);
      r.did(
        'ran scheduler, poller and both sinks on a Redis without persistence (the schedulers live only in memory)',
      );

      await redis.stop();
      for (const app of apps)
        await waitUntil(async () => (await app.ready()).status === 503, `${app.name} unready`);
      await redis.restart();
      r.did('stopped Redis and started it again, empty; no app was restarted');
      for (const app of apps)
        await waitUntil(async () => (await app.ready()).status === 200, `${app.name} ready`, {
          timeoutMs: 30_000,
        });
      const afterRestart = (await sim.proxyState('sense1', '/')).requests;
      await waitUntil(
        async () => (await sim.proxyState('sense1', '/')).requests >= afterRestart + 3,
        'polling resumed after the empty restart',
        { timeoutMs: 15_000 },
      );
      r.count('job schedulers after the empty restart', await schedulerCount(redis.url));
      expect(await schedulerCount(redis.url)).toBe(2);
      expect(restoredLines(scheduler)).toHaveLength(1);
      expect(restoredLines(scheduler)[0]).toContain('2 of 2 job schedulers were missing');
      r.count('scheduler warnings that it added the schedulers again', restoredLines(scheduler).length);

      await withRedis(redis.url, (connection) => connection.flushall());
      r.did(
        'flushed Redis (FLUSHALL) under the running apps: no reconnect, so only the periodic check can see it',
      );
      const afterFlush = (await sim.proxyState('sense1', '/')).requests;
      await waitUntil(
        async () => (await sim.proxyState('sense1', '/')).requests >= afterFlush + 3,
        'polling resumed after the flush',
        { timeoutMs: 15_000 },
      );
      expect(await schedulerCount(redis.url)).toBe(2);
      expect(restoredLines(scheduler)).toHaveLength(2);
      r.count(
        'job schedulers after the flush (SCHEDULE_CHECK_INTERVAL_MS=3000)',
        await schedulerCount(redis.url),
      );

      // A lost write (a failover, an AOF that missed the last second) can take a scheduler's next poll and
      // leave the scheduler itself: BullMQ would never poll that proxy again.
      const lostPoll = await withRedis(redis.url, async (connection) => {
        const queue = openQueue({ connection, prefix }, QUEUE.poll);
        try {
          const hdr = (await queue.getJobSchedulers(0, -1)).find((s) => s.key.endsWith('%2Fhdr'))!;
          const next = (await queue.getDelayed()).find((job) => job.repeatJobKey === hdr.key)!;
          const id = next.id!;
          await connection.zrem(`${prefix}:poll:delayed`, id);
          await connection.del(`${prefix}:poll:${id}`);
          return id;
        } finally {
          await queue.close();
        }
      });
      r.did(`deleted the next poll of /hdr (${lostPoll}) and nothing else, as a lost write would`);
      const afterLoss = (await sim.proxyState('sense1', '/hdr')).requests;
      await waitUntil(
        async () => (await sim.proxyState('sense1', '/hdr')).requests >= afterLoss + 3,
        'polling of /hdr resumed after its next poll was lost',
        { timeoutMs: 20_000 },
      );
      const repaired = scheduler.lines.filter((l) => l.includes('1 had lost their next poll'));
      expect(repaired).toHaveLength(1);
      r.count(
        'polls of /hdr within 20 s after its next poll was lost',
        (await sim.proxyState('sense1', '/hdr')).requests - afterLoss,
      );
      for (const app of apps) expect(app.child.exitCode, `${app.name} still running`).toBeNull();
      r.count('apps that exited', 0);
    },
  );
});
