import path from 'node:path';
import { type Settings, validateConfig } from '@qsm/config';
import type { CertificateSet } from '@qsm/dev-certs';
import { type MetricsTexts, metricsExposition } from '@qsm/host';
import type { DiscoveredPollTarget } from '@qsm/model';
import { schedulerIdFor } from '@qsm/queues';
import { createDiscoveryStore, createSessionCounts, type SessionCounts } from '@qsm/redis';
import {
  butlerConfig,
  captureLogs,
  services,
  type TestServer,
  testCertificates,
  useTestRedis,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { Counter, Gauge, Registry } from 'prom-client';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerSessionGauge } from '../src/session-gauge.js';

/*
 * The session gauge against a real Redis (a prefix of its own): what each scrape shows after the config,
 * the discovered targets or the recorded counts changed, since the gauge keeps its series between scrapes.
 */

const testRedis = useTestRedis('session_gauge');
let certs: CertificateSet;
let registry: Registry;
let texts: MetricsTexts;
let settings: Settings;
let prefix: string;
let scrapes = 0;

beforeAll(async () => {
  certs = await testCertificates('session-gauge');
});

beforeEach(() => {
  // Each test a prefix of its own under the file's, so that counts and discovered targets start empty.
  prefix = `${testRedis.prefix}:${++scrapes}`;
  registry = new Registry();
  registry.setDefaultLabels({ role: 'poller' });
  texts = { defaultLabels: { role: 'poller' }, sources: new Map() };
});

function settingsOf(servers: TestServer[], serverTagsDefinition: string[] = ['site']): Settings {
  const config = butlerConfig({ certs, servers, serverTagsDefinition, influx: false, mqtt: false });
  return validateConfig(config, path.join(certs.dir, 'config.yaml')).settings;
}

const sense1 = (virtualProxies: string[], serverTags: Record<string, string> = { site: 'Lund' }) => ({
  serverName: 'sense1',
  qpsHost: 'qps1:4243',
  virtualProxies,
  serverTags,
});

function discovered(serverName: string, virtualProxy: string): DiscoveredPollTarget {
  return {
    serverName,
    serverDescription: `${serverName} from the repository`,
    hostName: `${serverName}.lab`,
    serverTags: { site: 'Malmo' },
    qpsHost: `${serverName}.lab:4243`,
    virtualProxy,
    node: serverName,
    sessionInactivityTimeoutMinutes: 30,
  };
}

function start(counts?: SessionCounts) {
  const connection = testRedis.connection();
  const store = createSessionCounts(connection, prefix);
  registerSessionGauge(
    texts,
    () => settings,
    counts ?? store,
    createDiscoveryStore(connection, prefix),
    captureLogs('poller').logger,
  );
  return {
    record: (serverName: string, virtualProxy: string, count: number) =>
      store.record(schedulerIdFor({ serverName, virtualProxy }), count),
    discover: (targets: DiscoveredPollTarget[]) =>
      createDiscoveryStore(connection, prefix).saveTargets(JSON.stringify(targets)),
  };
}

/** The gauge's lines of the exported text, sorted (the order of series is not part of the format). */
async function gaugeLines(): Promise<string[]> {
  return (await metricsExposition(registry, texts))
    .split('\n')
    .filter((line) => line.startsWith('butlersos_user_session_total{'))
    .sort();
}

const line1 = (vp: string, count: number, site = 'Lund') =>
  `butlersos_user_session_total{host="qps1",server_name="sense1",server_description="sense1 description",user_session_virtual_proxy="${vp}",user_session_host="qps1:4243",site="${site}",role="poller"} ${count}`;

describe('the session gauge', () => {
  it('exports the recorded count of each configured and discovered target with Butler SOS labels', async () => {
    settings = settingsOf([sense1(['/', '/hdr', '/uncounted'])]);
    const { record, discover } = start();
    await record('sense1', '/', 3);
    await record('sense1', '/hdr', 5);
    await record('rim2', '/', 7);
    await record('not-a-target', '/', 9);
    // A discovered proxy that is also configured is exported once, with the labels of the config.
    await discover([discovered('rim2', '/'), discovered('sense1', '/hdr')]);
    expect(await gaugeLines()).toEqual([
      line1('/', 3),
      line1('/hdr', 5),
      'butlersos_user_session_total{host="rim2.lab",server_name="rim2",server_description="rim2 from the repository",user_session_virtual_proxy="/",user_session_host="rim2.lab:4243",site="Malmo",role="poller"} 7',
    ]);
  });

  it('shows a changed, a new and a removed count in the next scrape', async () => {
    settings = settingsOf([sense1(['/', '/hdr', '/new'])]);
    const { record } = start();
    const connection = testRedis.connection();
    await record('sense1', '/', 3);
    await record('sense1', '/hdr', 5);
    expect(await gaugeLines()).toEqual([line1('/', 3), line1('/hdr', 5)]);
    await record('sense1', '/', 4);
    await record('sense1', '/new', 1);
    await connection.hdel(
      `${prefix}:qsm:session-counts`,
      schedulerIdFor({ serverName: 'sense1', virtualProxy: '/hdr' }),
    );
    expect(await gaugeLines()).toEqual([line1('/', 4), line1('/new', 1)]);
    expect(await gaugeLines()).toEqual([line1('/', 4), line1('/new', 1)]);
  });

  it('follows a config change: a new target, a target gone, a changed tag value and a new tag', async () => {
    settings = settingsOf([sense1(['/', '/hdr'])]);
    const { record } = start();
    await record('sense1', '/', 3);
    await record('sense1', '/hdr', 5);
    await record('sense1', '/added', 2);
    expect(await gaugeLines()).toEqual([line1('/', 3), line1('/hdr', 5)]);

    settings = settingsOf([sense1(['/', '/added'], { site: 'Lund2' })]);
    expect(await gaugeLines()).toEqual([line1('/', 3, 'Lund2'), line1('/added', 2, 'Lund2')]);

    settings = settingsOf([sense1(['/'], { site: 'Lund2', 'data center': 'dc1' })], ['site', 'data center']);
    expect(await gaugeLines()).toEqual([
      'butlersos_user_session_total{host="qps1",server_name="sense1",server_description="sense1 description",user_session_virtual_proxy="/",user_session_host="qps1:4243",site="Lund2",data_center="dc1",role="poller"} 3',
    ]);
  });

  it('follows the discovered targets: one appearing shows, one gone leaves', async () => {
    settings = settingsOf([sense1(['/'])]);
    const { record, discover } = start();
    await record('sense1', '/', 3);
    await record('rim2', '/', 7);
    expect(await gaugeLines()).toEqual([line1('/', 3)]);
    await discover([discovered('rim2', '/')]);
    expect(await gaugeLines()).toHaveLength(2);
    expect((await gaugeLines()).filter((l) => l.includes('server_name="rim2"'))).toHaveLength(1);
    await discover([]);
    expect(await gaugeLines()).toEqual([line1('/', 3)]);
  });

  it('is empty while the counts cannot be read, and whole again once they can', async () => {
    settings = settingsOf([sense1(['/', '/hdr'])]);
    const own = new Redis(services.redisUrl, { enableOfflineQueue: false, lazyConnect: true });
    await own.connect();
    const { record } = start(createSessionCounts(own, prefix));
    await record('sense1', '/', 3);
    await record('sense1', '/hdr', 5);
    expect(await gaugeLines()).toEqual([line1('/', 3), line1('/hdr', 5)]);
    const ended = new Promise((resolve) => own.once('end', resolve));
    own.disconnect();
    await ended;
    expect(await gaugeLines()).toEqual([]);
    await own.connect();
    expect(await gaugeLines()).toEqual([line1('/', 3), line1('/hdr', 5)]);
    own.disconnect();
  });

  it('renders the text prom-client renders for the same series, hostile label values included', async () => {
    const hostile = ['back\\slash', 'quote"d', 'new\nline', 'ünïcödé ✓ 日本', '\\"\n\\n', ''];
    const tags = ['site', 'role', 'data center'];
    settings = settingsOf(
      [
        sense1(['/', `/${hostile[0]}`, `/${hostile[1]}`, '/ünïcödé✓日本'], {
          site: hostile[0]!,
          role: hostile[1]!,
          'data center': hostile[2]!,
        }),
      ],
      tags,
    );
    const { record, discover } = start();
    const rims = hostile.map(
      (value, i): DiscoveredPollTarget => ({
        ...discovered(`rim${i}${value}`, value),
        serverDescription: value,
        hostName: value,
        qpsHost: value,
        serverTags: { site: value, 'data center': hostile[i + 1] ?? 'x' },
      }),
    );
    await discover(rims);
    const counts: Array<[string, string, number]> = [
      ['sense1', '/', 0],
      ['sense1', `/${hostile[0]}`, 12_345_678],
      ['sense1', '/ünïcödé✓日本', 1.5],
      ...rims.map((r, i): [string, string, number] => [r.serverName, r.virtualProxy, i * 7]),
    ];
    for (const [serverName, virtualProxy, count] of counts) await record(serverName, virtualProxy, count);
    // A count that is not a number, as prom-client writes NaN.
    await testRedis
      .connection()
      .hset(
        `${prefix}:qsm:session-counts`,
        schedulerIdFor({ serverName: 'sense1', virtualProxy: `/${hostile[1]}` }),
        'x',
      );

    // The same series through prom-client, as the poller registered them before rendering them itself:
    // configured targets first, labels in Butler SOS's order, the registry's default label.
    const expected = new Registry();
    expected.setDefaultLabels({ role: 'poller' });
    new Counter({ name: 'qsm_other_total', help: 'another metric', registers: [expected] }).inc();
    const gauge = new Gauge({
      name: 'butlersos_user_session_total',
      help: 'Number of sessions (as reported by the proxy service).',
      labelNames: [
        'host',
        'server_name',
        'server_description',
        'user_session_virtual_proxy',
        'user_session_host',
        'site',
        'role',
        'data_center',
      ],
      registers: [expected],
    });
    const server = settings.serversToMonitor.servers[0]!;
    const configured = (virtualProxy: string) => ({
      host: 'qps1',
      server_name: 'sense1',
      server_description: 'sense1 description',
      user_session_virtual_proxy: virtualProxy,
      user_session_host: 'qps1:4243',
      site: server.serverTags.site!,
      role: server.serverTags.role!,
      data_center: server.serverTags['data center']!,
    });
    gauge.set(configured('/'), 0);
    gauge.set(configured(`/${hostile[0]}`), 12_345_678);
    gauge.set(configured(`/${hostile[1]}`), Number.NaN);
    gauge.set(configured('/ünïcödé✓日本'), 1.5);
    for (const [i, r] of rims.entries()) {
      gauge.set(
        {
          host: r.hostName,
          server_name: r.serverName,
          server_description: r.serverDescription,
          user_session_virtual_proxy: r.virtualProxy,
          user_session_host: r.qpsHost,
          site: r.serverTags.site!,
          role: '',
          data_center: r.serverTags['data center']!,
        },
        i * 7,
      );
    }

    const ours = new Registry();
    ours.setDefaultLabels({ role: 'poller' });
    new Counter({ name: 'qsm_other_total', help: 'another metric', registers: [ours] }).inc();
    const text = await metricsExposition(ours, texts);
    expect(text).toContain('\\"\\n\\\\n');
    expect(text).toContain('role="quote\\"d"');
    expect(text).toBe(await expected.metrics());
  });
});
