import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  cleanupRedisPrefix,
  dropInfluxDatabase,
  metricValue,
  sleep,
  startApp,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  writeButlerConfig,
} from '@qsm/testkit';

const cpu = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const pidOf = (name) => Number(execSync(`pgrep -x ${name} | head -1`).toString().trim());
const N = Number(process.env.N ?? 400),
  POLLERS = Number(process.env.POLLERS ?? 1),
  SINKS = process.env.SINKS !== '0';
const certs = await testCertificates('bench', 'bench-passphrase');
const prefixes = Array.from({ length: N / 10 }, (_, i) => (i === 0 ? '/' : `/vp${i}`));
const sim = await startSimulator(certs, [
  '--servers',
  '10',
  '--prefixes',
  prefixes.join(','),
  '--sessions',
  '10',
  '--latency',
  '0',
  '--churn',
  '0',
  '--spread-addresses',
]);
const prefix = uniqueName('exp');
const configFile = writeButlerConfig(tempDir('exp'), {
  certs,
  pollingInterval: 2000,
  ...(SINKS ? { influx: { db: prefix }, mqtt: { baseTopic: 'exp/' } } : {}),
  servers: sim.servers.map((s) => ({ serverName: s.name, qpsHost: s.qpsHost, virtualProxies: prefixes })),
});
const procs = { sim: sim.process };
if (SINKS) {
  procs.influx = await startApp('influx-sink', { configFile, prefix });
  procs.mqtt = await startApp('mqtt-sink', { configFile, prefix });
}
for (let i = 0; i < POLLERS; i++)
  procs['poller' + i] = await startApp('poller', {
    configFile,
    prefix,
    name: 'p' + i,
    env: { POLLER_CONCURRENCY: '200' },
  });
procs.scheduler = await startApp('scheduler', { configFile, prefix });
const ext = { redis: pidOf('redis-server'), influxd: pidOf('influxd'), mosquitto: pidOf('mosquitto') };
await sleep(8000);
const take = () =>
  Object.fromEntries([
    ...Object.entries(procs).map(([k, p]) => [k, cpu(p.child.pid)]),
    ...Object.entries(ext).map(([k, pid]) => [k, cpu(pid)]),
  ]);
const okCount = async () => {
  let n = 0;
  for (const [k, p] of Object.entries(procs))
    if (k.startsWith('poller')) n += metricValue(await p.metrics(), 'qsm_polls_total', { outcome: 'ok' });
  return n;
};
const c0 = take();
const o0 = await okCount();
const t0 = Date.now();
await sleep(20000);
const c1 = take();
const o1 = await okCount();
const secs = (Date.now() - t0) / 1000;
const polls = o1 - o0;
console.log(
  `N=${N} pollers=${POLLERS} sinks=${SINKS}: ${Math.round(polls / secs)} ok polls/s (offered ${N / 2}/s)`,
);
let total = 0;
for (const k of Object.keys(c1)) {
  const d = c1[k] - c0[k];
  total += d;
  console.log(
    `  ${k.padEnd(10)} ${((d / secs) * 100).toFixed(0).padStart(4)}% cpu  ${((d / polls) * 1000).toFixed(2)} ms/poll`,
  );
}
console.log(
  `  total      ${((total / secs) * 100).toFixed(0)}% cpu  ${((total / polls) * 1000).toFixed(2)} ms/poll`,
);
await stopAll();
await cleanupRedisPrefix(prefix);
if (SINKS) await dropInfluxDatabase(prefix);
