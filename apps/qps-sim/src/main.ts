#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { certificateSetPaths, generateCertificateSet, hasCertificateSet } from '@qsm/dev-certs';
import { formatHostPort } from '@qsm/net';
import { createControlApi } from './control-api.js';
import { createProxyPopulation } from './population.js';
import { createQpsServer, type SimulatedServer } from './qps-server.js';
import {
  type Fault,
  generateSimConfig,
  loadSimConfigFile,
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
        return [
          proxy.prefix,
          {
            population: createProxyPopulation(config.seed, spec.name, proxy),
            latencyMs: proxy.latencyMs,
            fault: proxy.fault,
            stamp: values.stamp,
            stats: { requests: 0, active: 0, maxActive: 0, times: [], xrfkeys: [], abandoned: 0 },
          },
        ];
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
    })),
  })}\n`,
);

let stopping = false;
const stop = () => {
  if (stopping) process.exit(0);
  stopping = true;
  if (churnTimer) clearInterval(churnTimer);
  control.close();
  for (const { https } of servers) {
    https.close();
    https.closeAllConnections();
  }
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
