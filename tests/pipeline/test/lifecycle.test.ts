import type { CertificateSet } from '@qsm/dev-certs';
import { openQueue, QUEUE } from '@qsm/queues';
import {
  appMain,
  cleanupRedisPrefix,
  collectMqtt,
  dropInfluxDatabase,
  freePort,
  influxQuery,
  processStats,
  type RunningApp,
  rows,
  type Simulator,
  services,
  sleep,
  startApp,
  startOwnRedis,
  startProcess,
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

let certs: CertificateSet;
let sim: Simulator;
const prefixes: string[] = [];
const databases: string[] = [];

function setup(label: string, proxies = ['/', '/hdr'], pollingInterval = 1000) {
  const prefix = uniqueName(label);
  const db = uniqueName(`qsm_${label}`);
  prefixes.push(prefix);
  databases.push(db);
  const baseTopic = `qsm-test/${prefix}/`;
  const configFile = writeButlerConfig(tempDir(label), {
    certs,
    pollingInterval,
    servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: proxies }],
    influx: { db },
    mqtt: { baseTopic },
  });
  return { prefix, db, baseTopic, configFile };
}

beforeAll(async () => {
  certs = await testCertificates('lifecycle');
  sim = await startSimulator(certs, [
    '--servers',
    '1',
    '--prefixes',
    '/,/hdr,/slow',
    '--sessions',
    '3',
    '--churn',
    '0',
  ]);
});

afterAll(async () => {
  await stopAll();
  for (const prefix of prefixes) await cleanupRedisPrefix(prefix);
  for (const db of databases) await dropInfluxDatabase(db);
});

describe('one-process mode', () => {
  it('polls, writes InfluxDB and publishes to MQTT from a single process, and stops with exit 0', async () => {
    const { prefix, db, baseTopic, configFile } = setup('all_in_one');
    const subscriber = await collectMqtt(`${baseTopic}#`);
    const app = await startApp('all-in-one', { configFile, prefix });
    await waitUntil(
      async () =>
        rows(
          await influxQuery(
            db,
            'SELECT count(session_count) FROM user_session_summary GROUP BY user_session_virtual_proxy',
          ),
        ).length === 2,
      'results of both proxies in InfluxDB',
      { timeoutMs: 15_000 },
    );
    // The session lists of both proxies, and (session tracking is on by default) the site figures.
    const topics = () => new Set(subscriber.messages.map((m) => m.topic));
    await waitUntil(
      () => [...topics()].filter((t) => t.includes('/usersession/')).length === 2,
      'both session list topics on MQTT',
    );
    await waitUntil(() => topics().has(`${baseTopic}usersessionsite`), 'the site figures on MQTT');
    expect((await app.ready()).body).toMatchObject({
      status: 'ready',
      redis: 'up',
      influxdb: 'up',
      mqtt: 'up',
      schedulers: 'up',
    });
    expect(await app.stop('SIGTERM')).toBe(0);
    await subscriber.close();
  });
});

describe('starting', () => {
  it('refuses a bad environment variable, naming it, and exits non-zero', async () => {
    const { prefix, configFile } = setup('bad_env');
    const refused = await startApp('poller', {
      configFile,
      prefix,
      env: { POLLER_CONCURRENCY: 'lots' },
    }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/exited \(1\)/);
    expect((refused as Error).message).toContain('env.POLLER_CONCURRENCY: must be a number');
  });

  it('says which variable to change when a second app on the machine finds its port taken, and exits 1', async () => {
    const { prefix, configFile } = setup('port_taken');
    const first = await startApp('poller', { configFile, prefix });
    const taken = String(first.httpPort);
    const second = await startApp('poller', { configFile, prefix, env: { HTTP_PORT: taken } }).catch(
      (e: Error) => e,
    );
    expect((second as Error).message).toMatch(/exited \(1\)/);
    expect((second as Error).message).toContain(
      `env.HTTP_PORT: 127.0.0.1:${taken} is already in use (another app on this machine?): set HTTP_PORT to a free port, or 0 for any`,
    );
    const board = await startApp('board', {
      configFile,
      prefix,
      env: { BOARD_PORT: taken, BOARD_ALLOW_OPEN: 'true' },
    }).catch((e: Error) => e);
    expect((board as Error).message).toContain(`env.BOARD_PORT: 127.0.0.1:${taken} is already in use`);
    await first.stop();
  });

  it('runs the sinks at a lower CPU priority than the pollers, unless PROCESS_NICE says otherwise', async () => {
    const { prefix, configFile } = setup('nice');
    const niceOf = (pid: number | undefined) => processStats(pid!).nice;
    const sink = await startApp('influx-sink', { configFile, prefix });
    const poller = await startApp('poller', { configFile, prefix });
    const reniced = await startApp('mqtt-sink', { configFile, prefix, env: { PROCESS_NICE: '12' } });
    expect(niceOf(sink.child.pid)).toBe(5);
    expect(niceOf(poller.child.pid)).toBe(0);
    expect(niceOf(reniced.child.pid)).toBe(12);
    for (const app of [sink, poller, reniced]) await app.stop();
  });

  it("bounds the poller's heap growth, leaves the other apps to V8, unless HEAP_GROWING_PERCENT says otherwise", async () => {
    const { prefix, configFile } = setup('heap');
    const growthOf = async (app: RunningApp) =>
      JSON.parse(await app.waitForLine((line) => line.includes(' started'))).heapGrowingPercent;
    const poller = await startApp('poller', { configFile, prefix });
    const sink = await startApp('influx-sink', { configFile, prefix });
    const tuned = await startApp('poller', { configFile, prefix, env: { HEAP_GROWING_PERCENT: '0' } });
    expect(await growthOf(poller)).toBe(50);
    expect(await growthOf(sink)).toBe("V8's own");
    expect(await growthOf(tuned)).toBe("V8's own");
    for (const app of [poller, sink, tuned]) await app.stop();
  });

  it('warns when Redis may evict keys, naming the policy and the fix, and keeps running', async () => {
    const { prefix, configFile } = setup('eviction');
    const evicting = await startOwnRedis({ maxmemory: '64mb', evictionPolicy: 'volatile-lru' });
    try {
      const warned = await startApp('scheduler', { configFile, prefix, env: { REDIS_URL: evicting.url } });
      const warning = JSON.parse(await warned.waitForLine((line) => line.includes('maxmemory-policy')));
      expect(warning).toMatchObject({ level: 40, policy: 'volatile-lru', maxmemoryBytes: 64 * 1024 * 1024 });
      expect(warning.msg).toMatch(
        /maxmemory-policy volatile-lru and maxmemory is 64 MB.*Set maxmemory-policy noeviction/,
      );
      expect((await warned.ready()).status).toBe(200);

      const quiet = await startApp('scheduler', { configFile, prefix, name: 'scheduler-noeviction' });
      await quiet.waitForLine((line) => line.includes('"msg":"redis connected"'));
      await quiet.ready();
      expect(quiet.lines.filter((line) => line.includes('maxmemory-policy'))).toEqual([]);
      for (const app of [warned, quiet]) await app.stop();
    } finally {
      await evicting.stop();
    }
  });
});

describe('shutting down', () => {
  it('finishes or releases a poll in flight within the deadline and exits 0', async () => {
    await sim.setLatency('sense1', '/slow', 8000);
    // A long interval allows a long poll timeout: the poll is still waiting for QPS when SIGTERM comes.
    const { prefix, configFile } = setup('slow_shutdown', ['/slow'], 20_000);
    const poller = await startApp('poller', {
      configFile,
      prefix,
      env: { SHUTDOWN_TIMEOUT_MS: '3000', QPS_TIMEOUT_MS: '20000' },
    });
    await startApp('scheduler', { configFile, prefix });
    // The first poll comes at once or at the next aligned time, within half an interval.
    await waitUntil(
      async () => (await sim.proxyState('sense1', '/slow')).active > 0,
      'a slow poll in flight',
      {
        timeoutMs: 15_000,
      },
    );
    const started = Date.now();
    expect(await poller.stop('SIGTERM', 10_000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(4500);
    // Released within the deadline (not cut off by it): the job is no longer active, so another poller
    // takes it at once instead of waiting for its lock to expire.
    expect(poller.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(poller.lines.some((l) => l.includes('shutdown deadline passed'))).toBe(false);
    const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 });
    const queue = openQueue({ connection: redis, prefix }, QUEUE.poll);
    try {
      expect(await queue.getActiveCount()).toBe(0);
      const released = (await queue.getJobs(['delayed', 'wait', 'failed'])).filter((j) => j.attemptsMade > 0);
      expect(released.map((j) => j.failedReason)).toEqual([expect.stringMatching(/^aborted/)]);
    } finally {
      await queue.close();
      redis.disconnect();
    }
    // Aborted, not reported as a Qlik failure.
    expect(poller.lines.some((l) => l.includes('poll failed'))).toBe(false);
  });

  it('exits at once on a second signal', async () => {
    const { prefix, configFile } = setup('second_signal', ['/slow'], 20_000);
    const poller = await startApp('poller', {
      configFile,
      prefix,
      env: { SHUTDOWN_TIMEOUT_MS: '20000', QPS_TIMEOUT_MS: '20000' },
    });
    await startApp('scheduler', { configFile, prefix, name: 'scheduler-2' });
    // The first poll comes at once or at the next aligned time, within half an interval.
    await waitUntil(
      async () => (await sim.proxyState('sense1', '/slow')).active > 0,
      'a slow poll in flight',
      {
        timeoutMs: 15_000,
      },
    );
    poller.child.kill('SIGINT');
    await poller.waitForLine((l) => l.includes('shutting down'));
    const started = Date.now();
    poller.child.kill('SIGINT');
    const code = await poller.exited;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(code).not.toBe(0);
  });

  it.each([
    ['influx-sink', 'influxdbConfig'],
    ['mqtt-sink', 'mqttConfig'],
  ] as const)(
    '%s idles, ready, when the config switches its destination off (no restart loop)',
    async (app, section) => {
      const prefix = uniqueName(`idle_${app.replace('-', '_')}`);
      prefixes.push(prefix);
      const configFile = writeButlerConfig(tempDir(`idle-${app}`), {
        certs,
        servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/'] }],
      });
      const running = await startApp(app, { configFile, prefix, name: `${app}-idle` });
      await running.waitForLine((l) => l.includes(`${section}.enable is false`));
      await waitUntil(async () => (await running.ready()).status === 200, `${app} ready`);
      expect(await running.stop('SIGTERM')).toBe(0);
    },
  );

  it.each(['scheduler', 'poller', 'influx-sink', 'mqtt-sink', 'tracker', 'all-in-one', 'board'] as const)(
    '%s says once that Redis is away, and stops at once with exit 0 on SIGTERM, even before it finished starting',
    async (app) => {
      const { prefix, configFile } = setup(`stop_no_redis_${app.replace(/-/g, '_')}`);
      const closedPort = await freePort();
      const running = startProcess(`${app}-no-redis`, process.execPath, [appMain(app)], {
        env: {
          CONFIG_FILE: configFile,
          QUEUE_PREFIX: prefix,
          REDIS_URL: `redis://127.0.0.1:${closedPort}`,
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: '0',
          LOG_FORMAT: 'json',
          ...(app === 'board' ? { BOARD_PORT: '0', BOARD_USERNAME: 'ops', BOARD_PASSWORD: 'pw' } : {}),
        },
      });
      await running.waitForLine((l) => l.includes('redis unavailable'));
      await sleep(1500);
      const started = Date.now();
      expect(await running.stop('SIGTERM', 10_000)).toBe(0);
      // Nothing in hand can be completed without Redis: no reason to wait out the shutdown deadline.
      expect(Date.now() - started).toBeLessThan(3000);
      expect(running.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
      // One JSON line about the outage, not a stack trace per reconnect attempt.
      expect(running.lines.filter((l) => !l.startsWith('{'))).toEqual([]);
      expect(running.lines.filter((l) => l.includes('redis unavailable'))).toHaveLength(1);
    },
  );

  it.each(['scheduler', 'influx-sink', 'mqtt-sink', 'tracker'] as const)(
    '%s exits 0 on SIGTERM and on SIGINT, without reporting its own disconnects as outages',
    async (app) => {
      const { prefix, configFile } = setup(`stop_${app.replace('-', '_')}`);
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        const running = await startApp(app, { configFile, prefix, name: `${app}-${signal}` });
        await waitUntil(async () => (await running.ready()).status === 200, `${app} ready`);
        expect(await running.stop(signal)).toBe(0);
        expect(running.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
        // Operators alert on these lines: a deploy must not look like Redis or the broker going away.
        expect(running.lines.filter((l) => l.includes('unavailable'))).toEqual([]);
      }
    },
  );
});
