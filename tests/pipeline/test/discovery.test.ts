import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CertificateSet } from '@qsm/dev-certs';
import { listSchedulers, openQueue, QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  dropInfluxDatabase,
  influxQuery,
  metricValue,
  type RunningApp,
  rows,
  type Simulator,
  services,
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
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { deliveredEvents } from './support/session-events.js';

/*
 * Discovery against the simulated Qlik repository: the scheduler, a poller and the InfluxDB sink as
 * processes, the repository and its nodes in the QPS simulator over mutual TLS. The site has two proxy
 * nodes: sense1 is the config's server "central" (one listed virtual proxy, one only the repository
 * knows), rim2 is in no servers[] entry and registered under a host name that does not resolve
 * (DISCOVERY_HOST_OVERRIDES says where it is). /lab is linked to no node.
 */

const INTERVAL = 1000;
const DISCOVERY_INTERVAL = 2000;
const prefix = uniqueName('discovery');
const handPrefix = uniqueName('discovery_hand');
const db = uniqueName('qsm_discovery');
const handDb = uniqueName('qsm_discovery_hand');
let certs: CertificateSet;
let sim: Simulator;
let redis: Redis;
let configFile: string;
let scheduler: RunningApp;
let poller: RunningApp;
let schedulerEnv: NodeJS.ProcessEnv;

async function schedulerIds(keyPrefix = prefix): Promise<string[]> {
  const queue = openQueue({ connection: redis, prefix: keyPrefix }, QUEUE.poll);
  try {
    return (await listSchedulers(queue)).map((s) => s.key).sort();
  } finally {
    await queue.close();
  }
}

async function failedReads(): Promise<string[]> {
  const queue = openQueue({ connection: redis, prefix }, QUEUE.discovery);
  try {
    return (await queue.getFailed(0, -1)).map((job) => job.failedReason);
  } finally {
    await queue.close();
  }
}

const requests = async (server: string, vp: string) => (await sim.proxyState(server, vp)).requests;

/** Waits for polls of (server, vp) to go on: more requests after `ms` than before. */
async function stillPolled(server: string, vp: string, ms = 2500): Promise<boolean> {
  const before = await requests(server, vp);
  await sleep(ms);
  return (await requests(server, vp)) > before;
}

const ALL_DISCOVERED = [
  'poll|central|%2F',
  'poll|central|%2Fhdr',
  'poll|rim2|%2F',
  'poll|rim2|%2Fsales',
].sort();

beforeAll(async () => {
  certs = await testCertificates('discovery');
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  const dir = tempDir('discovery');
  const simConfig = path.join(dir, 'sim.yaml');
  writeFileSync(
    simConfig,
    stringify({
      seed: 7,
      churnIntervalMs: 0,
      defaults: { sessions: 3, users: 3 },
      servers: [
        {
          name: 'sense1',
          virtualProxies: [
            { prefix: '/', description: 'Central Proxy (Default)' },
            { prefix: '/hdr', sessionInactivityTimeout: 45 },
          ],
        },
        {
          name: 'sense2',
          nodeName: 'rim2',
          hostName: 'rim2.corp.invalid',
          virtualProxies: [{ prefix: '/' }, { prefix: '/sales' }],
        },
      ],
      repository: { unlinkedVirtualProxies: [{ prefix: '/lab', description: 'Lab' }] },
    }),
  );
  sim = await startSimulator(certs, ['--config', simConfig]);
  configFile = writeButlerConfig(dir, {
    certs,
    pollingInterval: INTERVAL,
    serverTagsDefinition: ['env'],
    servers: [
      {
        serverName: 'central',
        serverDescription: 'Central node',
        qpsHost: sim.qpsHost('sense1'),
        virtualProxies: ['/'],
        serverTags: { env: 'prod' },
      },
    ],
    influx: { db },
  });
  schedulerEnv = {
    DISCOVERY_ENABLE: 'true',
    QRS_HOST: sim.repository,
    DISCOVERY_INTERVAL_MS: String(DISCOVERY_INTERVAL),
    DISCOVERY_HOST_OVERRIDES: 'rim2.corp.invalid=127.0.0.1',
    DISCOVERY_SERVER_TAGS: 'env=discovered',
  };
  scheduler = await startApp('scheduler', { configFile, prefix, env: schedulerEnv });
  poller = await startApp('poller', { configFile, prefix });
  await startApp('tracker', { configFile, prefix });
  await startApp('influx-sink', { configFile, prefix });
}, 60_000);

afterAll(async () => {
  await stopAll();
  redis?.disconnect();
  await cleanupRedisPrefix(prefix);
  await cleanupRedisPrefix(handPrefix);
  await dropInfluxDatabase(db);
  await dropInfluxDatabase(handDb);
});

describe('discovery of virtual proxies in the Qlik repository', () => {
  it('polls every linked virtual proxy of every node, merged with the configured server', async () => {
    await waitUntil(async () => (await schedulerIds()).length === 4, 'four schedulers', {
      timeoutMs: 15_000,
    });
    expect(await schedulerIds()).toEqual(ALL_DISCOVERED);
    for (const [server, vp] of [
      ['sense1', '/hdr'],
      ['sense2', '/'],
      ['sense2', '/sales'],
    ] as const) {
      await waitUntil(async () => (await requests(server, vp)) > 0, `a poll of ${server}${vp}`);
    }
    const unlinked = scheduler.lines.filter(
      (l) => l.includes('/lab') && l.includes('linked to no proxy node'),
    );
    expect(unlinked).toHaveLength(1);
    expect(scheduler.lines.some((l) => l.includes('schedulers reconciled (discovery): 3 added'))).toBe(true);
  });

  it('tags a discovered proxy as a hand-written servers[] entry would be tagged', async () => {
    await waitUntil(
      async () =>
        rows(await influxQuery(db, 'SHOW TAG VALUES FROM user_session_summary WITH KEY = "server_name"'))
          .length === 2,
      'summaries of both nodes',
    );
    const series = async (database: string) =>
      rows(await influxQuery(database, 'SHOW SERIES FROM user_session_summary'))
        .map((r) => String(r.key))
        .sort();
    const discovered = await series(db);
    expect(discovered).toEqual(
      [
        `user_session_summary,env=prod,host=127.0.0.1,server_description=Central\\ node,server_name=central,user_session_host=${sim.qpsHost('sense1')},user_session_virtual_proxy=/`,
        `user_session_summary,env=prod,host=127.0.0.1,server_description=Central\\ node,server_name=central,user_session_host=${sim.qpsHost('sense1')},user_session_virtual_proxy=/hdr`,
        `user_session_summary,env=discovered,host=127.0.0.1,server_name=rim2,user_session_host=${sim.qpsHost('sense2')},user_session_virtual_proxy=/`,
        `user_session_summary,env=discovered,host=127.0.0.1,server_name=rim2,user_session_host=${sim.qpsHost('sense2')},user_session_virtual_proxy=/sales`,
      ].sort(),
    );
    // The same site written by hand, as a Butler SOS user would list it, polled by a stack of its own.
    const handFile = writeButlerConfig(tempDir('discovery-hand'), {
      certs,
      pollingInterval: INTERVAL,
      serverTagsDefinition: ['env'],
      servers: [
        {
          serverName: 'central',
          serverDescription: 'Central node',
          qpsHost: sim.qpsHost('sense1'),
          virtualProxies: ['/', '/hdr'],
          serverTags: { env: 'prod' },
        },
        {
          serverName: 'rim2',
          serverDescription: '',
          qpsHost: sim.qpsHost('sense2'),
          virtualProxies: ['/', '/sales'],
          serverTags: { env: 'discovered' },
        },
      ],
      influx: { db: handDb },
    });
    await startApp('all-in-one', { configFile: handFile, prefix: handPrefix, name: 'hand-written' });
    await waitUntil(async () => (await series(handDb)).length === 4, 'the hand-written stack wrote');
    expect(await series(handDb)).toEqual(discovered);
  });

  it('polls a virtual proxy added in the QMC within one discovery interval', async () => {
    const added = Date.now();
    await sim.addVirtualProxy('/finance', ['sense2'], { sessionInactivityTimeout: 60 });
    await waitUntil(async () => (await requests('sense2', '/finance')) > 0, 'a poll of rim2/finance', {
      timeoutMs: 10_000,
    });
    expect(Date.now() - added).toBeLessThan(DISCOVERY_INTERVAL + 2 * INTERVAL + 1500);
    expect(scheduler.lines.some((l) => l.includes('1 added (rim2/finance)'))).toBe(true);
    await waitUntil(
      async () =>
        metricValue(await poller.metrics(), 'butlersos_user_session_total', {
          user_session_virtual_proxy: '/finance',
        }) === 3,
      'the gauge of rim2/finance',
    );
  });

  it('stops polling a virtual proxy unlinked in the QMC, and its gauge series goes', async () => {
    const financeEvents = async () =>
      (await deliveredEvents(redis, prefix)).filter((e) => e.virtualProxy === '/finance');
    await waitUntil(async () => (await financeEvents()).length === 3, 'the starts of rim2/finance');
    const unlinkedAt = Date.now();
    await sim.linkVirtualProxy('/finance', []);
    await scheduler.waitForLine((l) => l.includes('1 removed (rim2/finance)'), 10_000);
    // Its sessions end as no longer monitored, when the scheduler removed it.
    await waitUntil(async () => (await financeEvents()).length === 6, 'the ends of rim2/finance');
    const ends = (await financeEvents()).filter((e) => e.event === 'end');
    expect(ends.map((e) => [e.serverName, e.reason])).toEqual([
      ['rim2', 'not_monitored'],
      ['rim2', 'not_monitored'],
      ['rim2', 'not_monitored'],
    ]);
    expect(ends[0]!.time).toBeGreaterThanOrEqual(unlinkedAt);
    // Its node no longer serves it: a poll would be a request for an unknown prefix.
    await sleep(INTERVAL);
    const unknown = async () => (await sim.state()).servers.find((s) => s.name === 'sense2')!.unknownPrefix;
    const before = await unknown();
    await sleep(2500);
    expect(await unknown()).toBe(before);
    expect(await poller.metrics()).not.toContain('user_session_virtual_proxy="/finance"');
    expect(await stillPolled('sense2', '/sales')).toBe(true);
  });

  it('reads a renamed prefix as one removal and one addition', async () => {
    await sim.renameVirtualProxy('/sales', '/sales2');
    await scheduler.waitForLine(
      (l) => l.includes('1 added (rim2/sales2)') && l.includes('1 removed (rim2/sales)'),
      10_000,
    );
    await waitUntil(async () => (await requests('sense2', '/sales2')) > 0, 'a poll of rim2/sales2');
  });

  it('keeps polling everything while the repository is down, and says so', async () => {
    const before = await schedulerIds();
    await sim.stopRepository();
    await sleep(3 * DISCOVERY_INTERVAL + 500);
    expect(await schedulerIds()).toEqual(before);
    expect(await stillPolled('sense2', '/sales2')).toBe(true);
    expect(await stillPolled('sense1', '/hdr')).toBe(true);
    expect((await failedReads()).length).toBeGreaterThanOrEqual(2);
    expect((await failedReads())[0]).toMatch(/^connection_refused: Qlik repository https:\/\//);
    expect(
      metricValue(await scheduler.metrics(), 'qsm_discovery_reads_total', { outcome: 'failed' }),
    ).toBeGreaterThanOrEqual(2);
    await waitUntil(
      async () =>
        rows(await influxQuery(db, `SELECT * FROM butler_sos_errors WHERE error_type = 'QRS_API'`)).length >=
        2,
      'QRS_API error records',
    );
    const [record] = rows(
      await influxQuery(db, `SELECT * FROM butler_sos_errors WHERE error_type = 'QRS_API'`),
    );
    expect(record).toMatchObject({
      server_name: sim.repository,
      host: sim.repository,
      error_category: 'connection_refused',
      error_count: 1,
    });
    expect(scheduler.lines.some((l) => l.includes('reading the Qlik repository failed'))).toBe(true);
  });

  it('keeps the last discovered set when a scheduler restarts while the repository is down', async () => {
    const before = await schedulerIds();
    await scheduler.stop();
    scheduler = await startApp('scheduler', { configFile, prefix, env: schedulerEnv });
    await sleep(DISCOVERY_INTERVAL + 500);
    expect(await schedulerIds()).toEqual(before);
    expect(
      scheduler.lines.some((l) => l.includes('schedulers reconciled (start)') && l.includes('0 removed')),
    ).toBe(true);
    expect(await stillPolled('sense2', '/sales2')).toBe(true);
  });

  it('refuses nonsense from the repository with a clear error, and removes nothing', async () => {
    await sim.startRepository();
    await sim.setRepositoryFault({ mode: 'object', endpoint: 'proxyservice' });
    const before = await schedulerIds();
    const failedBefore = (await failedReads()).length;
    await waitUntil(async () => (await failedReads()).length > failedBefore, 'a failed read', {
      timeoutMs: 10_000,
    });
    expect((await failedReads()).some((reason) => reason.startsWith('invalid_response: '))).toBe(true);
    await sim.setRepositoryFault({ mode: 'html' });
    await sleep(DISCOVERY_INTERVAL + 500);
    expect(await schedulerIds()).toEqual(before);
    expect(await stillPolled('sense2', '/sales2')).toBe(true);
    await sim.setRepositoryFault(undefined);
  });

  it('keeps excluded nodes and prefixes out', async () => {
    await scheduler.stop();
    scheduler = await startApp('scheduler', {
      configFile,
      prefix,
      env: { ...schedulerEnv, DISCOVERY_EXCLUDE_PREFIXES: '/sales2', DISCOVERY_EXCLUDE_NODES: 'sense1' },
    });
    await waitUntil(
      async () => (await schedulerIds()).join() === ['poll|central|%2F', 'poll|rim2|%2F'].join(),
      'the excluded targets removed',
      { timeoutMs: 10_000 },
    );
    // A poll already due when its scheduler went (waiting or in hand) is still made: the job carries the
    // discovered target's identity. Only the polls after it must stop.
    await sleep(INTERVAL);
    expect(await stillPolled('sense2', '/sales2')).toBe(false);
  });
});
