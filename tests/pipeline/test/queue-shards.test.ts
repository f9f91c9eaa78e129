import { listSchedulers, openQueue, QUEUE, targetOfSchedulerId } from '@qsm/queues';
import { createRedisConnection, type RedisConnection } from '@qsm/redis';
import {
  appMain,
  dropInfluxDatabase,
  influxQuery,
  type OwnRedisCluster,
  type RunningApp,
  rows,
  type Simulator,
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
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * Two queue shards (QUEUE_SHARD=1/2 and 2/2) of one config file, each with its own hash-tag prefix on its
 * own primary of a Redis Cluster: together they poll every proxy once, each only its own servers.
 */

const SERVERS = ['sense1', 'sense2', 'sense3', 'sense4'];
const PROXIES = ['/', '/hdr'];
// The shard of each server name (FNV-1a of the name, modulo 2), as the config package's tests pin them.
const SHARD_SERVERS = { '1/2': ['sense1', 'sense3'], '2/2': ['sense2', 'sense4'] } as const;

const base = uniqueName('shards');
const db = uniqueName('qsm_shards');
let cluster: OwnRedisCluster;
let sim: Simulator;
let configFile: string;
let connection: RedisConnection;
const tags: Record<keyof typeof SHARD_SERVERS, string> = { '1/2': `${base}-a`, '2/2': '' };

beforeAll(async () => {
  cluster = await startOwnRedisCluster();
  // A second tag whose slot another primary serves: the two shards' loads land on different primaries.
  for (let i = 0; !tags['2/2']; i++) {
    const candidate = `${base}-b${i}`;
    if (cluster.primaryUrlOf(candidate) !== cluster.primaryUrlOf(tags['1/2'])) tags['2/2'] = candidate;
  }
  const certs = await testCertificates('queue-shards');
  sim = await startSimulator(certs, [
    '--servers',
    String(SERVERS.length),
    '--prefixes',
    PROXIES.join(','),
    '--sessions',
    '2',
    '--churn',
    '0',
  ]);
  configFile = writeButlerConfig(tempDir('queue-shards'), {
    certs,
    pollingInterval: 1000,
    servers: SERVERS.map((serverName) => ({
      serverName,
      qpsHost: sim.qpsHost(serverName),
      virtualProxies: PROXIES,
    })),
    influx: { db },
    mqtt: false,
  });
  connection = createRedisConnection(cluster.urls[0]!, 'worker', 'queue-shards-test', {}, true);
});

afterAll(async () => {
  await stopAll();
  connection?.disconnect();
  await cluster?.stop();
  await dropInfluxDatabase(db);
});

const envOf = (shard: keyof typeof SHARD_SERVERS) => ({
  REDIS_URL: cluster.urlAwayFrom(tags[shard]),
  REDIS_CLUSTER: 'true',
  QUEUE_SHARD: shard,
});

/** The (server, virtual proxy) pairs the shard's prefix has job schedulers for. */
async function scheduledTargets(prefix: string): Promise<string[]> {
  const pollQueue = openQueue({ connection, prefix }, QUEUE.poll);
  try {
    return (await listSchedulers(pollQueue))
      .map((s) => targetOfSchedulerId(s.key))
      .map((t) => `${t?.serverName} ${t?.virtualProxy}`)
      .sort();
  } finally {
    await pollQueue.close();
  }
}

describe('queue shards (QUEUE_SHARD) on a Redis Cluster', () => {
  it('two shards of one config file poll every proxy once, each its own servers, each on its own primary', async () => {
    const prefixA = `{${tags['1/2']}}`;
    const prefixB = `{${tags['2/2']}}`;
    /** `server virtual-proxy` of every proxy with summaries in InfluxDB. */
    const series = async () =>
      rows(
        await influxQuery(
          db,
          'SELECT count(session_count) FROM user_session_summary GROUP BY server_name, user_session_virtual_proxy',
        ),
      ).map((r) => `${r.server_name} ${r.user_session_virtual_proxy}`);
    // Shard 1 as separate roles, shard 2 as one all-in-one process.
    const apps: RunningApp[] = [
      await startApp('scheduler', { configFile, prefix: prefixA, env: envOf('1/2'), name: 'scheduler-1' }),
      await startApp('poller', { configFile, prefix: prefixA, env: envOf('1/2'), name: 'poller-1' }),
      await startApp('influx-sink', { configFile, prefix: prefixA, env: envOf('1/2'), name: 'sink-1' }),
    ];
    // The second shard's sink starts once the first has set up the database: two sinks creating one
    // InfluxDB v1 database and its retention policy at the same moment can conflict.
    await waitUntil(async () => (await series()).length > 0, "shard 1's first points in InfluxDB");
    apps.push(
      await startApp('all-in-one', { configFile, prefix: prefixB, env: envOf('2/2'), name: 'all-in-one-2' }),
    );
    expect(apps.map((app) => JSON.parse(app.lines.find((l) => l.includes(' started"'))!).queueShard)).toEqual(
      ['1/2', '1/2', '1/2', '2/2'],
    );

    // Every proxy of the 4 servers reaches InfluxDB.
    await waitUntil(
      async () => (await series()).length === SERVERS.length * PROXIES.length,
      'every proxy in InfluxDB',
    );
    const every = SERVERS.flatMap((server) => PROXIES.map((vp) => `${server} ${vp}`)).sort();
    expect((await series()).sort()).toEqual(every);

    // Each shard schedules only its own servers; together, every proxy exactly once.
    const targetsOf = (shard: keyof typeof SHARD_SERVERS) =>
      SHARD_SERVERS[shard].flatMap((server) => PROXIES.map((vp) => `${server} ${vp}`)).sort();
    expect(await scheduledTargets(prefixA)).toEqual(targetsOf('1/2'));
    expect(await scheduledTargets(prefixB)).toEqual(targetsOf('2/2'));

    // Every proxy was asked for its sessions.
    const state = await sim.state();
    for (const server of state.servers)
      for (const proxy of server.proxies)
        expect(proxy.requests, `${server.name} ${proxy.prefix}`).toBeGreaterThan(0);

    // Each prefix's keys, its shard record among them, live on its own primary.
    const primaries = [cluster.primaryUrlOf(tags['1/2']), cluster.primaryUrlOf(tags['2/2'])];
    expect(primaries[0]).not.toBe(primaries[1]);
    for (const [shard, primary] of [
      ['1/2', primaries[0]!],
      ['2/2', primaries[1]!],
    ] as const) {
      const node = new Redis(primary, { lazyConnect: true });
      try {
        const prefix = `{${tags[shard]}}`;
        expect((await node.keys(`${prefix}:*`)).length, `${prefix} keys on ${primary}`).toBeGreaterThan(0);
        expect(await node.get(`${prefix}:qsm:shard`)).toBe(shard);
      } finally {
        node.disconnect();
      }
    }
    for (const app of apps) {
      expect((await app.ready()).status, `${app.name} ready`).toBe(200);
      expect(app.lines.filter((l) => /MOVED|CROSSSLOT|"level":[56]0/.test(l))).toEqual([]);
    }
  });

  it("a scheduler of another shard refuses to start on a shard's prefix, naming both shards and the prefix", async () => {
    const prefixA = `{${tags['1/2']}}`;
    const before = await scheduledTargets(prefixA);
    const intruder = startProcess('scheduler-wrong-shard', process.execPath, [appMain('scheduler')], {
      env: {
        CONFIG_FILE: configFile,
        QUEUE_PREFIX: prefixA,
        HTTP_PORT: '0',
        LOG_FORMAT: 'json',
        ...envOf('2/2'),
      },
    });
    expect(await intruder.exited).toBe(1);
    expect(intruder.lines.join('\n')).toContain(
      `cannot start: QUEUE_SHARD=2/2 but queue prefix ${prefixA} belongs to shard 1/2 (${prefixA}:qsm:shard)`,
    );
    expect(await scheduledTargets(prefixA)).toEqual(before);
  });
});
