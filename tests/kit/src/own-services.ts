import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { type RunningProcess, startProcess } from '@qsm/child-process';
import { probeTcp } from '@qsm/net';
import { tempDir } from './paths.js';

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface OwnService {
  port: number;
  url: string;
  process: RunningProcess;
  /** Stops the service (as an outage would), keeping its port for restart(). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
}

/** The server side of TLS for a service of the test's own (PEM files). */
export interface ServerTls {
  cert: string;
  key: string;
  /** The CA that client certificates must chain to. */
  ca: string;
  /** Mosquitto: let in only clients with a certificate from `ca` (Redis always asks for one). */
  requireClientCertificate?: boolean;
}

/**
 * A Mosquitto broker of the test's own, on a free port, for tests that stop and restart the broker
 * without disturbing the shared one. With `tls` it speaks only MQTT over TLS (`mqtts://`); with `users`
 * it lets in only those users, by password.
 */
export async function startOwnMosquitto(
  options: { persistence?: boolean; tls?: ServerTls; users?: Record<string, string> } = {},
): Promise<OwnService> {
  const port = await freePort();
  const dir = tempDir('mosquitto');
  const conf = path.join(dir, 'mosquitto.conf');
  // With persistence, sessions of subscribers (clean: false) and their queued messages survive a restart.
  const persistence = options.persistence
    ? `persistence true\npersistence_location ${dir}/\nautosave_interval 1\n`
    : 'persistence false\n';
  const tls = options.tls
    ? `certfile ${options.tls.cert}\nkeyfile ${options.tls.key}\ncafile ${options.tls.ca}\n` +
      `require_certificate ${options.tls.requireClientCertificate ? 'true' : 'false'}\n`
    : '';
  let access = 'allow_anonymous true\n';
  if (options.users) {
    const passwords = path.join(dir, 'passwords');
    for (const [i, [user, password]] of Object.entries(options.users).entries()) {
      execFileSync('mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', passwords, user, password]);
    }
    access = `allow_anonymous false\npassword_file ${passwords}\n`;
  }
  // Started as root, it stays root (instead of becoming `mosquitto`): it reads the test's key files and
  // writes its persistence folder as the test's own user.
  writeFileSync(
    conf,
    `user root\nlistener ${port} 127.0.0.1\n${tls}${access}${persistence}log_dest stderr\n`,
  );
  let proc = await launch(conf, port);
  return {
    port,
    url: `${options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    get process() {
      return proc;
    },
    async stop(signal = 'SIGTERM') {
      await proc.stop(signal);
    },
    async restart() {
      proc = await launch(conf, port);
    },
  };
}

async function launch(conf: string, port: number): Promise<RunningProcess> {
  const proc = startProcess(`mosquitto:${port}`, 'mosquitto', ['-c', conf]);
  await waitForPort(port);
  return proc;
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await probeTcp('127.0.0.1', port)).reachable) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A Redis of the test's own, on a free port, with AOF persistence when asked: for tests that stop and
 * restart Redis under running apps. `maxmemory` and `evictionPolicy` make it one that may evict keys.
 * With `tls` it speaks only TLS and, as Redis does by default, asks every client for a certificate;
 * with `password` it wants that password.
 */
export async function startOwnRedis(
  options: {
    persistence?: boolean;
    maxmemory?: string;
    evictionPolicy?: string;
    tls?: ServerTls;
    password?: string;
  } = {},
): Promise<OwnService> {
  const port = await freePort();
  const dir = tempDir('redis');
  const listen = options.tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        options.tls.cert,
        '--tls-key-file',
        options.tls.key,
        '--tls-ca-cert-file',
        options.tls.ca,
      ]
    : ['--port', String(port)];
  const args = [
    ...listen,
    ...(options.password ? ['--requirepass', options.password] : []),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    options.persistence ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--maxmemory',
    options.maxmemory ?? '0',
    '--maxmemory-policy',
    options.evictionPolicy ?? 'noeviction',
    '--dir',
    dir,
  ];
  const launchRedis = async () => {
    const proc = startProcess(`redis:${port}`, 'redis-server', args);
    await waitForPort(port);
    return proc;
  };
  let proc = await launchRedis();
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `${options.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    get process() {
      return proc;
    },
    async stop(signal = 'SIGTERM') {
      await proc.stop(signal);
    },
    async restart() {
      proc = await launchRedis();
    },
  };
}

/**
 * An InfluxDB 1.x of the test's own (Debian's influxd), on a free port, keeping its data across
 * stop/restart. `maxValuesPerTag` sets InfluxDB's per-tag value limit (0: none), to provoke partial writes;
 * `tls` serves HTTPS with that certificate; `auth` turns authentication on (InfluxDB then lets anyone
 * create the first admin user, and nothing else).
 */
export async function startOwnInfluxd(
  options: { maxValuesPerTag?: number; tls?: { certFile: string; keyFile: string }; auth?: boolean } = {},
): Promise<OwnService> {
  const port = await freePort();
  const rpcPort = await freePort();
  const dir = tempDir('influxd');
  const conf = path.join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  max-values-per-tag = ${options.maxValuesPerTag ?? 0}
  max-series-per-database = 0
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
  auth-enabled = ${options.auth ? 'true' : 'false'}
${options.tls ? `  https-enabled = true\n  https-certificate = "${options.tls.certFile}"\n  https-private-key = "${options.tls.keyFile}"\n` : ''}[monitor]
  store-enabled = false
`,
  );
  const launchInflux = async () => {
    const proc = startProcess(`influxd:${port}`, 'influxd', ['-config', conf]);
    await waitForPort(port, 20_000);
    return proc;
  };
  let proc = await launchInflux();
  return {
    port,
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    get process() {
      return proc;
    },
    async stop(signal = 'SIGTERM') {
      await proc.stop(signal);
    },
    async restart() {
      proc = await launchInflux();
    },
  };
}

export interface OwnRedisCluster {
  /** `redis://127.0.0.1:<port>` (`rediss://` with TLS) of every node. */
  urls: string[];
  /** The URL of a node that does not hold `key`'s slot: a seed that only works if the client follows the cluster. */
  urlAwayFrom(key: string): string;
  /** The URL of the primary that holds `key`'s slot (`{tag}` for a hash-tag prefix's keys). */
  primaryUrlOf(key: string): string;
  /** Kills (SIGKILL) the primary holding `key`'s slot and waits until its replica has taken over. */
  failPrimaryOf(key: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of the test's own: `masters` primaries with `replicas` replicas each, on free ports, no
 * persistence, tuned for quick failovers. With `tls`, the nodes speak only TLS, to
 * clients and to each other, and ask every client for a certificate.
 */
export async function startOwnRedisCluster(
  options: {
    masters?: number;
    replicas?: number;
    tls?: ServerTls & { clientCert: string; clientKey: string };
  } = {},
): Promise<OwnRedisCluster> {
  const { masters = 3, replicas = 0, tls } = options;
  /**
   * One node on free ports. The cluster bus gets a port of its own: Redis's default, the client port plus
   * 10,000, may be any other process's ephemeral port. A port taken between freePort and the node's bind
   * (or a node that does not come up for any other reason) gets fresh ports, twice at most.
   */
  const startNode = async (): Promise<readonly [number, RunningProcess]> => {
    for (let attempt = 1; ; attempt++) {
      const [port, busPort] = [await freePort(), await freePort()];
      const dir = tempDir('redis-cluster');
      const listen = tls
        ? [
            ...[
              '--port',
              '0',
              '--tls-port',
              String(port),
              '--tls-cluster',
              'yes',
              '--tls-replication',
              'yes',
            ],
            ...['--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca],
            // A node is a client of the others on the cluster bus, and they want a client certificate.
            ...['--tls-client-cert-file', tls.clientCert, '--tls-client-key-file', tls.clientKey],
          ]
        : ['--port', String(port)];
      const proc = startProcess(`redis-cluster:${port}`, 'redis-server', [
        ...listen,
        ...['--bind', '127.0.0.1', '--dir', dir],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf')],
        ...['--cluster-port', String(busPort)],
        // Quick failovers: a second to call a primary dead, replicas synced at once and always allowed
        // to take over (Redis's own defaults wait for minutes in the worst case).
        ...['--cluster-node-timeout', '1000', '--cluster-replica-validity-factor', '0'],
        ...['--repl-diskless-sync-delay', '0'],
        ...['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
      ]);
      try {
        await waitForPort(port);
        return [port, proc] as const;
      } catch (error) {
        await proc.stop('SIGKILL');
        if (attempt >= 3) {
          throw new Error(
            `${(error as Error).message}; redis-server said: ${proc.lines.slice(-5).join(' | ')}`,
          );
        }
      }
    }
  };
  const nodes = new Map(await Promise.all(Array.from({ length: masters * (1 + replicas) }, startNode)));
  const ports = [...nodes.keys()];
  const tlsArgs = tls ? ['--tls', '--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey] : [];
  const cli = (port: number, ...args: string[]) =>
    execFileSync('redis-cli', [...tlsArgs, '-p', String(port), ...args], {
      encoding: 'utf8',
      timeout: 10_000,
    });
  execFileSync(
    'redis-cli',
    [
      ...tlsArgs,
      ...['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`)],
      ...['--cluster-replicas', String(replicas), '--cluster-yes'],
    ],
    { stdio: 'ignore', timeout: 30_000 },
  );
  const live = () =>
    ports.filter((p) => nodes.get(p)!.child.exitCode === null && nodes.get(p)!.child.signalCode === null);
  // Ready when every node sees the cluster ok and every replica has its primary's data (until then it
  // could not take over).
  const settled = (p: number) => {
    if (!cli(p, 'cluster', 'info').includes('cluster_state:ok')) return false;
    const replication = cli(p, 'info', 'replication');
    return replication.includes('role:master') || replication.includes('master_link_status:up');
  };
  const waitForClusterOk = async () => {
    const deadline = Date.now() + 20_000;
    while (!live().every(settled)) {
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitForClusterOk();
  /** The port of the primary that holds `key`'s slot, as a live node sees it. */
  const primaryOf = (key: string): number => {
    const asker = live()[0]!;
    const slot = Number(cli(asker, 'cluster', 'keyslot', key).trim());
    for (const line of cli(asker, 'cluster', 'nodes').split('\n')) {
      const fields = line.split(' ');
      if (!fields[2]?.includes('master') || fields[2].includes('fail')) continue;
      const holds = fields.slice(8).some((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return slot >= from! && slot <= to!;
      });
      if (holds) return Number(fields[1]!.split('@')[0]!.split(':').at(-1));
    }
    throw new Error(`no primary holds the slot of ${key}`);
  };
  const urlOf = (port: number) => `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`;
  return {
    urls: ports.map(urlOf),
    primaryUrlOf: (key) => urlOf(primaryOf(key)),
    urlAwayFrom(key) {
      const owner = primaryOf(key);
      return urlOf(ports.find((p) => p !== owner)!);
    },
    async failPrimaryOf(key) {
      const owner = primaryOf(key);
      await nodes.get(owner)!.stop('SIGKILL');
      const deadline = Date.now() + 20_000;
      const heldElsewhere = () => {
        try {
          return primaryOf(key) !== owner;
        } catch {
          return false; // no primary holds it yet: the replica has not taken over
        }
      };
      while (!heldElsewhere()) {
        if (Date.now() > deadline) {
          const view = cli(live()[0]!, 'cluster', 'nodes');
          throw new Error(`no replica took over from 127.0.0.1:${owner}; the cluster sees:\n${view}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitForClusterOk();
    },
    async stop() {
      await Promise.all([...nodes.values()].map((n) => n.stop()));
    },
  };
}
