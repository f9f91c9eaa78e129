import { readFileSync } from 'node:fs';
import {
  cleanupRedisPrefix,
  dropInfluxDatabase,
  sleep,
  startApp,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  writeButlerConfig,
} from '@qsm/testkit';

const hwm = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const certs = await testCertificates('bench', 'bench-passphrase');
const prefixes = Array.from({ length: 100 }, (_, i) => (i === 0 ? '/' : `/vp${i}`));
const sim = await startSimulator(certs, [
  '--servers',
  '10',
  '--prefixes',
  prefixes.join(','),
  '--sessions',
  '20',
  '--latency',
  '50',
  '--churn',
  '0',
  '--spread-addresses',
]);
const prefix = uniqueName('exp4');
const configFile = writeButlerConfig(tempDir('exp4'), {
  certs,
  pollingInterval: 10000,
  influx: { db: prefix },
  mqtt: { baseTopic: 'exp4/' },
  servers: sim.servers.map((s) => ({ serverName: s.name, qpsHost: s.qpsHost, virtualProxies: prefixes })),
});
await startApp('influx-sink', { configFile, prefix });
await startApp('mqtt-sink', { configFile, prefix });
const poller = await startApp('poller', {
  configFile,
  prefix,
  env: {
    POLLER_CONCURRENCY: process.env.CONC ?? '200',
    QPS_MAX_SOCKETS_PER_SERVER: process.env.SOCKETS ?? '8',
  },
});
await startApp('scheduler', { configFile, prefix });
console.log('poller rss at start', Math.round(hwm(poller.child.pid)));
await sleep(42000);
const st = await sim.state();
const times = st.servers.flatMap((s) => s.proxies.flatMap((p) => p.times));
const slots = new Map();
for (const t of times) {
  const k = Math.floor((t - 1) / 10000);
  slots.set(k, [...(slots.get(k) ?? []), t]);
}
console.log(
  'cycles',
  [...slots.values()]
    .filter((v) => v.length >= 1000)
    .map((v) => ((Math.max(...v) - Math.min(...v)) / 1000).toFixed(2))
    .join(' '),
  'poller peak',
  Math.round(hwm(poller.child.pid)),
  'MB',
  'connections',
  st.servers.map((s) => s.connections).join(','),
);
await stopAll();
await cleanupRedisPrefix(prefix);
await dropInfluxDatabase(prefix);
