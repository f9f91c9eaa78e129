import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CertificateSet } from '@qsm/dev-certs';
import { listSchedulers, openQueue, QUEUE } from '@qsm/queues';
import {
  butlerConfig,
  cleanupRedisPrefix,
  freePort,
  repoRoot,
  services,
  startApp,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect } from 'vitest';
import { stringify } from 'yaml';
import { scenario } from './support/report.js';

const prefix = uniqueName('rel_configs');
const CLI = path.join(repoRoot, 'apps/validate-config/dist/main.js');

afterAll(async () => {
  await stopAll();
  await cleanupRedisPrefix(prefix);
});

type Root = Record<string, unknown>;
interface Case {
  kind: string;
  break(root: Root, dir: string): void;
  expect: string;
  args?: string[];
}

/** Sets (or, with `undefined`, deletes) the value at a dotted path like `serversToMonitor.servers.0.serverName`. */
function setAt(path: string, value: unknown) {
  return (root: Root) => {
    const keys = path.split('.');
    let node = root as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
    const last = keys.at(-1)!;
    if (value === undefined) delete node[last];
    else node[last] = value;
  };
}
const removeAt = (path: string) => setAt(path, undefined);
const S0 = 'serversToMonitor.servers.0';
const S1 = 'serversToMonitor.servers.1';

const CASES: Case[] = [
  {
    kind: 'no Butler-SOS root',
    break: (r) => {
      for (const key of Object.keys(r)) removeAt(key)(r);
    },
    expect: 'Butler-SOS.serversToMonitor: required',
  },
  {
    kind: 'missing serversToMonitor',
    break: removeAt('serversToMonitor'),
    expect: 'Butler-SOS.serversToMonitor: required',
  },
  {
    kind: 'missing rejectUnauthorized',
    break: removeAt('serversToMonitor.rejectUnauthorized'),
    expect: 'Butler-SOS.serversToMonitor.rejectUnauthorized: required',
  },
  {
    kind: 'text where a boolean belongs',
    break: setAt(`${S0}.userSessions.enable`, 'yes'),
    expect: 'Butler-SOS.serversToMonitor.servers[0].userSessions.enable: must be a boolean (got "yes")',
  },
  {
    kind: 'text where a number belongs',
    break: setAt('userSessions.pollingInterval', '30s'),
    expect: 'Butler-SOS.userSessions.pollingInterval: must be a number (got "30s")',
  },
  {
    kind: 'polling interval too short',
    break: setAt('userSessions.pollingInterval', 100),
    expect: 'Butler-SOS.userSessions.pollingInterval: must be >= 1000 (got 100)',
  },
  {
    kind: 'missing server name',
    break: removeAt(`${S1}.serverName`),
    expect: 'Butler-SOS.serversToMonitor.servers[1].serverName: required',
  },
  {
    kind: 'duplicate servers',
    break: setAt(`${S1}.serverName`, 'sense1'),
    expect: 'Butler-SOS.serversToMonitor.servers[1].serverName: "sense1" is already the name of servers[0]',
  },
  {
    kind: 'QPS host without port',
    break: setAt(`${S0}.userSessions.host`, 'sense1.lab'),
    expect: 'Butler-SOS.serversToMonitor.servers[0].userSessions.host: "sense1.lab" has no port',
  },
  {
    kind: 'QPS host that is no host name',
    break: setAt(`${S0}.userSessions.host`, 'https://sense1.lab:4243'),
    expect: 'Butler-SOS.serversToMonitor.servers[0].userSessions.host:',
  },
  {
    kind: 'no virtual proxies',
    break: setAt(`${S1}.userSessions.virtualProxies`, []),
    expect: 'Butler-SOS.serversToMonitor.servers[1].userSessions.virtualProxies: must have at least 1 item',
  },
  {
    kind: 'prefix without slash',
    break: setAt(`${S0}.userSessions.virtualProxies.0.virtualProxy`, 'hdr'),
    expect: 'virtualProxies[0].virtualProxy: must be "/" or start with "/" (write "/hdr")',
  },
  {
    kind: 'prefix with trailing slash',
    break: setAt(`${S0}.userSessions.virtualProxies.0.virtualProxy`, '/hdr/'),
    expect: 'virtualProxies[0].virtualProxy: must not end with "/" (write "/hdr")',
  },
  {
    kind: 'prefix with a space',
    break: setAt(`${S0}.userSessions.virtualProxies.0.virtualProxy`, '/my proxy'),
    expect: 'virtualProxies[0].virtualProxy: must not contain spaces',
  },
  {
    kind: 'undeclared (unknown) server tag',
    break: setAt(`${S0}.serverTags`, { site: 'Lund', rack: '7' }),
    expect: 'Butler-SOS.serversToMonitor.servers[0].serverTags.rack: unknown tag',
  },
  {
    kind: 'declared tag missing on a server',
    break: setAt(`${S1}.serverTags`, {}),
    expect:
      'Butler-SOS.serversToMonitor.servers[1].serverTags.site: required: declared in serverTagsDefinition',
  },
  {
    kind: 'unknown InfluxDB version',
    break: setAt('influxdbConfig.version', 4),
    expect: 'Butler-SOS.influxdbConfig.version: must be 1, 2 or 3 (got 4)',
  },
  {
    kind: 'missing InfluxDB database name',
    break: removeAt('influxdbConfig.v1Config.dbName'),
    expect: 'Butler-SOS.influxdbConfig.v1Config.dbName: required',
  },
  {
    kind: 'MQTT wildcard in the base topic',
    break: setAt('mqttConfig.baseTopic', 'qlik/+/'),
    expect: 'Butler-SOS.mqttConfig.baseTopic: must not contain the MQTT wildcards',
  },
  {
    kind: 'blacklist entry without directory',
    break: setAt('userSessions.excludeUser', [{ userId: 'x' }]),
    expect: 'Butler-SOS.userSessions.excludeUser[0].directory: required',
  },
  { kind: 'missing certificate section', break: removeAt('cert'), expect: 'Butler-SOS.cert: required' },
  {
    kind: 'unreadable certificate file',
    break: (r, dir) => setAt('cert.clientCert', path.join(dir, 'missing.pem'))(r),
    expect: 'Butler-SOS.cert.clientCert: cannot read',
  },
  {
    kind: 'wrong key passphrase',
    break: setAt('cert.clientCertPassphrase', 'not-the-passphrase'),
    expect: 'Butler-SOS.cert.clientCertPassphrase: does not decrypt',
  },
  {
    kind: 'certificate file that is no certificate',
    break: (r, dir) => setAt('cert.clientCertCA', path.join(dir, 'config.yaml'))(r),
    expect: 'Butler-SOS.cert.clientCertCA:',
  },
  {
    kind: 'unreachable QPS host',
    break: setAt(`${S1}.userSessions.host`, 'no-such-qlik.invalid:4243'),
    expect:
      'Butler-SOS.serversToMonitor.servers[1].userSessions.host: QPS of sense2: host name no-such-qlik.invalid not found',
    args: ['--probe'],
  },
  { kind: 'YAML syntax error', break: () => {}, expect: 'YAML syntax error at line' },
];

function baseConfig(certs: CertificateSet, closedPort: number): Root {
  const config = butlerConfig({
    certs,
    pollingInterval: 5000,
    serverTagsDefinition: ['site'],
    excludeUser: [{ directory: 'LAB', userId: 'bot' }],
    servers: [
      {
        serverName: 'sense1',
        qpsHost: `127.0.0.1:${closedPort}`,
        virtualProxies: ['/', '/hdr'],
        serverTags: { site: 'Lund' },
      },
      {
        serverName: 'sense2',
        qpsHost: `127.0.0.1:${closedPort}`,
        virtualProxies: ['/sales'],
        serverTags: { site: 'Malmö' },
      },
    ],
    influx: { db: 'configs' },
    mqtt: { baseTopic: 'qsm-test/configs/' },
  });
  return config['Butler-SOS'] as Root;
}

describe('broken configs', () => {
  scenario(
    '8',
    `Broken configs (${CASES.length} kinds) and a bad reload under a running scheduler`,
    async (r) => {
      const certs: CertificateSet = await testCertificates('rel-configs', 'the-passphrase');
      const closed = await freePort();
      let clear = 0;
      for (const c of CASES) {
        const dir = tempDir('broken');
        const root = structuredClone(baseConfig(certs, closed));
        c.break(root, dir);
        const file = path.join(dir, 'config.yaml');
        writeFileSync(
          file,
          c.kind === 'YAML syntax error'
            ? 'Butler-SOS:\n  userSessions: [\n'
            : stringify({ 'Butler-SOS': root }),
        );
        const result = spawnSync(process.execPath, [CLI, file, ...(c.args ?? [])], { encoding: 'utf8' });
        expect(result.status, c.kind).toBe(1);
        expect(result.stderr, c.kind).toContain(c.expect);
        clear++;
      }
      r.did(`ran validate-config on ${CASES.length} broken configs: ${CASES.map((c) => c.kind).join(', ')}`);
      r.count(
        'broken configs refused with exit 1 and the expected path and message',
        `${clear} of ${CASES.length}`,
      );

      // A running scheduler keeps its schedules when the file turns bad.
      const dir = tempDir('reload');
      const configFile = path.join(dir, 'config.yaml');
      writeFileSync(configFile, stringify({ 'Butler-SOS': baseConfig(certs, closed) }));
      const scheduler = await startApp('scheduler', { configFile, prefix });
      const count = async () => {
        const connection = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 });
        const queue = openQueue({ connection, prefix }, QUEUE.poll);
        const n = (await listSchedulers(queue)).length;
        await queue.close();
        connection.disconnect();
        return n;
      };
      await waitUntil(async () => (await count()) === 3, 'three schedulers');
      const broken = structuredClone(baseConfig(certs, closed));
      setAt(`${S0}.userSessions.virtualProxies`, [])(broken);
      writeFileSync(configFile, stringify({ 'Butler-SOS': broken }));
      await scheduler.waitForLine((l) => l.includes('config change rejected'));
      expect(
        scheduler.lines.some((l) =>
          l.includes(
            'Butler-SOS.serversToMonitor.servers[0].userSessions.virtualProxies: must have at least 1 item',
          ),
        ),
      ).toBe(true);
      expect(await count()).toBe(3);
      r.did('broke the file under a running scheduler');
      r.count('schedules after the bad reload (before: 3)', await count());
    },
  );
});
