#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { certificateSetPaths, generateCertificateSet, hasCertificateSet } from '@qsm/dev-certs';
import { formatHostPort } from '@qsm/net';
import { createControlApi } from './control-api.js';
import { createProxyPopulation } from './population.js';
import { createQpsServer, type SimulatedProxy, type SimulatedServer } from './qps-server.js';
import { createSimRepository } from './repository.js';
import { createRepositoryServer } from './repository-server.js';
import {
  type Fault,
  generateSimConfig,
  loadSimConfigFile,
  type ProxyConfig,
  type ProxyDefaults,
  resolveProxy,
  type SimConfig,
} from './sim-config.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    servers: { type: 'string', default: '2' },
    proxies: { type: 'string', default: '3' },
    prefixes: { type: 'string' },
    sessions: { type: 'string', default: '10' },
    users: { type: 'string', default: '8' },
    latency: { type: 'string', default: '0' },
    churn: { type: 'string', default: '0.05' },
    'churn-interval': { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    hostile: { type: 'boolean', default: false },
    stamp: { type: 'boolean', default: false },
    'spread-addresses': { type: 'boolean', default: false },
    'port-base': { type: 'string', default: '0' },
    repository: { type: 'boolean', default: false },
    'repository-port': { type: 'string', default: '0' },
    'unlinked-prefixes': { type: 'string' },
    certs: { type: 'string', default: '.dev-certs' },
    'control-host': { type: 'string', default: '127.0.0.1' },
    'control-port': { type: 'string', default: '0' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(`qps-sim: a Qlik Sense QPS look-alike (mutual TLS, Xrfkey, virtual proxies, churn, faults)
  --config sim.yaml            population from a file (example: infra/config/qps-sim.yaml), or generate one:
  --servers 2 --proxies 3      servers and virtual proxies per server ("/", "/vp1", ...)
  --prefixes /,/hdr            or exactly these virtual proxies on every server
  --sessions 10 --users 8      sessions per proxy, distinct users they belong to
  --latency 0 --churn 0.05     response latency (ms), share of sessions replaced per churn step
  --churn-interval 1000        ms between churn steps (0: only on request)
  --seed 1 --hostile           reproducible population; hostile user ids and directories
  --stamp                      add "Served": <request number> to every session (ordering tests)
  --spread-addresses           server i listens on 127.0.0.(i+1)
  --port-base 0                first port (0: random ports)
  --repository                 simulate the Qlik repository (QRS) too, on 127.0.0.1
  --repository-port 0          its port (0: a random one)
  --unlinked-prefixes /a,/b    virtual proxies the repository knows but no server links
  --certs .dev-certs           root.pem, server.pem, server_key.pem (generated when missing)
  --control-port 0             HTTP control API on 127.0.0.1
`);
  process.exit(0);
}

const int = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number (got "${text}")`);
  return n;
};

const config: SimConfig = values.config
  ? loadSimConfigFile(values.config)
  : generateSimConfig(
      {
        servers: int('servers', values.servers),
        proxiesPerServer: int('proxies', values.proxies),
        spreadAddresses: values['spread-addresses'],
        portBase: int('port-base', values['port-base']),
        ...(values.prefixes ? { prefixes: values.prefixes.split(',') } : {}),
        ...(values.repository ? { repositoryPort: int('repository-port', values['repository-port']) } : {}),
        ...(values['unlinked-prefixes'] ? { unlinkedPrefixes: values['unlinked-prefixes'].split(',') } : {}),
      },
      {
        sessions: int('sessions', values.sessions),
        users: int('users', values.users),
        latencyMs: int('latency', values.latency),
        churnRate: int('churn', values.churn),
        hostile: values.hostile,
      },
      int('seed', values.seed),
      int('churn-interval', values['churn-interval']),
    );

if (!hasCertificateSet(values.certs)) await generateCertificateSet({ dir: values.certs });
const certs = certificateSetPaths(values.certs);
const tls = {
  key: readFileSync(certs.serverKey),
  cert: readFileSync(certs.server),
  ca: readFileSync(certs.root),
};

let globalFault: Fault | undefined;
const simulatedProxy = (serverName: string, proxy: ProxyConfig): SimulatedProxy => ({
  population: createProxyPopulation(config.seed, serverName, proxy),
  latencyMs: proxy.latencyMs,
  fault: proxy.fault,
  stamp: values.stamp,
  stats: { requests: 0, active: 0, maxActive: 0, times: [], xrfkeys: [], abandoned: 0 },
});
const servers = config.servers.map((spec) => {
  const simulated: SimulatedServer = {
    name: spec.name,
    globalFault: () => globalFault,
    forbidden: { count: 0 },
    unknownPrefix: { count: 0 },
    connections: { count: 0 },
    proxies: new Map(
      spec.virtualProxies.map((vp) => {
        const proxy = resolveProxy(config, vp);
        return [proxy.prefix, simulatedProxy(spec.name, proxy)];
      }),
    ),
  };
  const https = createQpsServer(tls, simulated);
  return { spec, simulated, https };
});

await Promise.all(
  servers.map(
    ({ spec, https }) =>
      new Promise<void>((resolve, reject) => {
        https.once('error', reject);
        https.listen(spec.port, spec.listen, () => resolve());
      }),
  ),
);
const qpsHost = (https: (typeof servers)[number]['https'], listen: string) =>
  formatHostPort(listen, (https.address() as AddressInfo).port);

const serverNamed = (name: string) => servers.find((s) => s.spec.name === name) ?? servers[0]!;
const repository = createSimRepository(
  config,
  servers.map((s) => s.simulated),
  (name) => (serverNamed(name).https.address() as AddressInfo).port,
  (name) => serverNamed(name).spec.listen,
  (server, prefix, population: Partial<ProxyDefaults>) =>
    simulatedProxy(server.name, { ...config.defaults, ...population, prefix }),
);
const repositoryHttps = createRepositoryServer(tls, repository);
// The port the repository keeps across a stop and a start (a random one is picked on the first start).
let repositoryPort = config.repository?.port ?? 0;
const repositoryAddress = config.repository?.listen ?? '127.0.0.1';
const startRepository = () =>
  new Promise<void>((resolve, reject) => {
    if (repositoryHttps.listening) return resolve();
    repositoryHttps.once('error', reject);
    repositoryHttps.listen(repositoryPort, repositoryAddress, () => {
      repositoryHttps.off('error', reject);
      repositoryPort = (repositoryHttps.address() as AddressInfo).port;
      resolve();
    });
  });
const stopRepository = () =>
  new Promise<void>((resolve) => {
    if (!repositoryHttps.listening) return resolve();
    repositoryHttps.close(() => resolve());
    repositoryHttps.closeAllConnections();
  });
if (config.repository) await startRepository();
const repositoryHost = () =>
  config.repository ? formatHostPort(repositoryAddress, repositoryPort) : undefined;

const step = (count: number) => {
  for (let i = 0; i < count; i++)
    for (const { simulated } of servers)
      for (const proxy of simulated.proxies.values()) proxy.population.step();
};
const control = createControlApi({
  servers: servers.map(({ simulated, https, spec }) =>
    Object.assign(simulated, { qpsHost: () => qpsHost(https, spec.listen) }),
  ),
  setGlobalFault: (fault) => {
    globalFault = fault;
  },
  step,
  repository,
  repositoryListener: {
    host: repositoryHost,
    listening: () => repositoryHttps.listening,
    start: startRepository,
    stop: stopRepository,
  },
});
await new Promise<void>((resolve) =>
  control.listen(int('control-port', values['control-port']), values['control-host'], resolve),
);
const churnTimer =
  config.churnIntervalMs > 0 ? setInterval(() => step(1), config.churnIntervalMs) : undefined;

process.stdout.write(
  `${JSON.stringify({
    event: 'listening',
    control: `http://${values['control-host']}:${(control.address() as AddressInfo).port}`,
    servers: servers.map(({ spec, https }) => ({
      name: spec.name,
      qpsHost: qpsHost(https, spec.listen),
      proxies: spec.virtualProxies.map((vp) => vp.prefix),
      ...(config.repository
        ? { nodeName: spec.nodeName ?? spec.name, hostName: spec.hostName ?? spec.listen }
        : {}),
    })),
    ...(config.repository ? { repository: repositoryHost() } : {}),
  })}\n`,
);

let stopping = false;
const stop = () => {
  if (stopping) process.exit(0);
  stopping = true;
  if (churnTimer) clearInterval(churnTimer);
  control.close();
  void stopRepository();
  for (const { https } of servers) {
    https.close();
    https.closeAllConnections();
  }
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
