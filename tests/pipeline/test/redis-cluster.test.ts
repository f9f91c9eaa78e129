import type { CertificateSet } from '@qsm/dev-certs';
import { createResultDelivery, GROUP_JOB_ID_PREFIX, openQueue, QUEUE, resultJobId } from '@qsm/queues';
import { createRedisConnection } from '@qsm/redis';
import {
  appMain,
  collectMqtt,
  dropInfluxDatabase,
  influxQuery,
  type OwnRedisCluster,
  rows,
  type Simulator,
  services,
  startApp,
  startOwnRedisCluster,
  startProcess,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollResult } from './support/sink-results.js';

/*
 * A Redis Cluster of three primaries. REDIS_URL names one of them, on purpose one that does not hold the
 * slot of the queues' hash tag: the apps must follow the cluster to the node that does.
 */

const tag = uniqueName('cluster');
const prefix = `{${tag}}`;
const db = uniqueName('qsm_cluster');
const baseTopic = `qsm-test/${tag}/`;
const tlsDb = uniqueName('qsm_cluster_tls');
let cluster: OwnRedisCluster;
let tlsCluster: OwnRedisCluster | undefined;
let certs: CertificateSet;
let sim: Simulator;
let configFile: string;
let seedUrl: string;

beforeAll(async () => {
  cluster = await startOwnRedisCluster();
  seedUrl = cluster.urlAwayFrom(tag);
  certs = await testCertificates('redis-cluster');
  sim = await startSimulator(certs, [
    '--servers',
    '1',
    '--prefixes',
    '/,/hdr',
    '--sessions',
    '3',
    '--churn',
    '0',
  ]);
  configFile = writeButlerConfig(tempDir('redis-cluster'), {
    certs,
    pollingInterval: 1000,
    servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/', '/hdr'] }],
    influx: { db },
    mqtt: { baseTopic },
  });
});

afterAll(async () => {
  await stopAll();
  await cluster?.stop();
  await tlsCluster?.stop();
  await dropInfluxDatabase(db);
  await dropInfluxDatabase(tlsDb);
});

describe('Redis Cluster (REDIS_CLUSTER=true, a hash-tag QUEUE_PREFIX)', () => {
  it('scheduler, poller, both sinks and the board work through a cluster whose seed node does not hold the queues', async () => {
    const env = { REDIS_URL: seedUrl, REDIS_CLUSTER: 'true' };
    const subscriber = await collectMqtt(`${baseTopic}#`, services.mqttUrl);
    const apps = [
      await startApp('scheduler', { configFile, prefix, env }),
      await startApp('poller', { configFile, prefix, env }),
      await startApp('influx-sink', { configFile, prefix, env }),
      await startApp('mqtt-sink', { configFile, prefix, env }),
      await startApp('board', {
        configFile,
        prefix,
        env: { ...env, BOARD_PORT: '0', BOARD_ALLOW_OPEN: 'true' },
      }),
    ];
    await waitUntil(
      async () =>
        rows(
          await influxQuery(
            db,
            'SELECT count(session_count) FROM user_session_summary GROUP BY user_session_virtual_proxy',
          ),
        ).length === 2,
      'summaries of both proxies in InfluxDB',
    );
    await waitUntil(
      () => new Set(subscriber.messages.map((m) => m.topic)).size === 2,
      'snapshots of both proxies on MQTT',
    );
    for (const app of apps) {
      const ready = await app.ready();
      expect(ready.status, `${app.name} ready: ${JSON.stringify(ready.body)}`).toBe(200);
      expect(app.lines.filter((l) => /MOVED|CROSSSLOT|unavailable|"level":[56]0/.test(l))).toEqual([]);
    }
    const board = apps.at(-1)!;
    const url = JSON.parse(board.lines.find((l) => l.includes('Bull Board listening'))!).url.replace(
      /\/$/,
      '',
    ) as string;
    const queues = (await (await fetch(`${url}/api/queues`)).json()) as {
      queues: Array<{ name: string; counts: Record<string, number> }>;
    };
    const influxQueue = queues.queues.find((q) => q.name === 'sink-influx');
    expect(influxQueue?.counts.completed).toBeGreaterThan(0);
    await subscriber.close();
  });

  it("takes the results of polls finishing together as one group job, with their delivery markers, in the queues' slot", async () => {
    // A prefix no running sink reads, so the group stays in the queue to be looked at.
    const groupsPrefix = `{${tag}-groups}`;
    const connection = createRedisConnection(seedUrl, 'worker', 'cluster-group-test', {}, true);
    const delivery = createResultDelivery({ connection, prefix: groupsPrefix });
    try {
      const ids = ['/x', '/y'].map((vp) =>
        resultJobId({ serverName: 'sense1', virtualProxy: vp }, 1_700_000_000_000),
      );
      await Promise.all(
        ids.map((id, i) =>
          delivery.deliver([
            { queue: QUEUE.influx, id, data: pollResult(`/${i}`, 1_700_000_000_000, ['anna']) },
          ]),
        ),
      );
      for (const id of ids) expect(await delivery.deliveredInGroup(id)).toBe(true);
      const queue = openQueue({ connection, prefix: groupsPrefix }, QUEUE.influx);
      const groups = (await queue.getWaiting()).filter((j) => j.id?.startsWith(GROUP_JOB_ID_PREFIX));
      await queue.obliterate({ force: true });
      await queue.close();
      expect(groups.map((j) => j.name)).toEqual(['poll-records (2)']);
    } finally {
      await delivery.close();
      connection.disconnect();
    }
  });

  it('a REDIS_URL of a cluster node without REDIS_CLUSTER: exits 1 saying what to set, instead of failing with MOVED', async () => {
    const scheduler = startProcess('scheduler-without-cluster', process.execPath, [appMain('scheduler')], {
      env: {
        CONFIG_FILE: configFile,
        QUEUE_PREFIX: prefix,
        HTTP_PORT: '0',
        LOG_FORMAT: 'json',
        REDIS_URL: seedUrl,
      },
    });
    expect(await scheduler.exited).toBe(1);
    expect(scheduler.lines.join('\n')).toContain(
      'cannot start: REDIS_URL is a node of a Redis Cluster: set REDIS_CLUSTER=true',
    );
    expect(scheduler.lines.join('\n')).not.toContain('MOVED');
  });

  it('REDIS_CLUSTER with a single Redis: says so in the outage line', async () => {
    const scheduler = startProcess('scheduler-not-a-cluster', process.execPath, [appMain('scheduler')], {
      env: {
        CONFIG_FILE: configFile,
        QUEUE_PREFIX: prefix,
        HTTP_PORT: '0',
        LOG_FORMAT: 'json',
        REDIS_URL: services.redisUrl,
        REDIS_CLUSTER: 'true',
      },
    });
    const line = await scheduler.waitForLine((l) => l.includes('redis unavailable'), 10_000);
    expect(JSON.parse(line)).toMatchObject({ hint: expect.stringContaining('unset REDIS_CLUSTER') });
    await scheduler.stop();
  });

  it('over TLS: a cluster whose nodes speak only TLS and want a client certificate, with a private CA', async () => {
    tlsCluster = await startOwnRedisCluster({
      tls: {
        cert: certs.server,
        key: certs.serverKey,
        ca: certs.root,
        clientCert: certs.client,
        clientKey: certs.clientKey,
      },
    });
    const tlsTag = `${tag}_tls`;
    const tlsConfig = writeButlerConfig(tempDir('redis-cluster-tls'), {
      certs,
      pollingInterval: 1000,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/'] }],
      influx: { db: tlsDb },
      mqtt: false,
    });
    const env = {
      REDIS_URL: tlsCluster.urlAwayFrom(tlsTag),
      REDIS_CLUSTER: 'true',
      REDIS_CA_FILE: certs.root,
      REDIS_CERT_FILE: certs.client,
      REDIS_KEY_FILE: certs.clientKey,
    };
    const tlsPrefix = `{${tlsTag}}`;
    const apps = [
      await startApp('scheduler', { configFile: tlsConfig, prefix: tlsPrefix, env, name: 'scheduler-tls' }),
      await startApp('poller', { configFile: tlsConfig, prefix: tlsPrefix, env, name: 'poller-tls' }),
      await startApp('influx-sink', {
        configFile: tlsConfig,
        prefix: tlsPrefix,
        env,
        name: 'influx-sink-tls',
      }),
    ];
    await waitUntil(
      async () =>
        rows(await influxQuery(tlsDb, 'SELECT count(session_count) FROM user_session_summary')).length > 0,
      'summaries in InfluxDB through the TLS cluster',
    );
    for (const app of apps) {
      expect((await app.ready()).status, app.name).toBe(200);
      expect(app.lines.filter((l) => /MOVED|unavailable|"level":[56]0/.test(l))).toEqual([]);
    }
  });
});

describe('Redis Cluster failover', () => {
  let replicated: OwnRedisCluster | undefined;
  const failoverTag = `${tag}_failover`;
  const failoverDb = uniqueName('qsm_cluster_failover');

  afterAll(async () => {
    await replicated?.stop();
    await dropInfluxDatabase(failoverDb);
  });

  it('when the primary holding the queues dies, its replica takes over and polling and delivery go on without a restart', async () => {
    replicated = await startOwnRedisCluster({ masters: 3, replicas: 1 });
    const failoverConfig = writeButlerConfig(tempDir('redis-cluster-failover'), {
      certs,
      pollingInterval: 1000,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/'] }],
      influx: { db: failoverDb },
      mqtt: false,
    });
    // Replication is asynchronous: the failover may lose a scheduler's next poll, which the scheduler's
    // check (every 3 s here) sets up again.
    const env = {
      REDIS_URL: replicated.urlAwayFrom(failoverTag),
      REDIS_CLUSTER: 'true',
      SCHEDULE_CHECK_INTERVAL_MS: '3000',
    };
    const failoverPrefix = `{${failoverTag}}`;
    const start = (app: 'scheduler' | 'poller' | 'influx-sink') =>
      startApp(app, { configFile: failoverConfig, prefix: failoverPrefix, env, name: `${app}-failover` });
    const apps = [await start('scheduler'), await start('poller'), await start('influx-sink')];
    const summaries = async () =>
      Number(
        rows(await influxQuery(failoverDb, 'SELECT count(session_count) FROM user_session_summary'))[0]
          ?.count ?? 0,
      );
    await waitUntil(async () => (await summaries()) >= 2, 'summaries before the failover');

    await replicated.failPrimaryOf(failoverTag);
    const before = await summaries();
    await waitUntil(async () => (await summaries()) >= before + 3, 'summaries after the failover', {
      timeoutMs: 30_000,
    });
    for (const app of apps) {
      expect(app.child.exitCode, `${app.name} still running`).toBeNull();
      expect((await app.ready()).status, `${app.name} ready`).toBe(200);
    }
  });
});
