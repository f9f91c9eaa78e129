import {
  cleanupRedisPrefix,
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

const certs = await testCertificates('bench', 'bench-passphrase');
const prefixes = Array.from({ length: 40 }, (_, i) => (i === 0 ? '/' : `/vp${i}`));
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
  influx: { db: prefix },
  mqtt: { baseTopic: 'exp/' },
  servers: sim.servers.map((s) => ({ serverName: s.name, qpsHost: s.qpsHost, virtualProxies: prefixes })),
});
await startApp('influx-sink', { configFile, prefix });
await startApp('mqtt-sink', { configFile, prefix });
await startApp('poller', {
  configFile,
  prefix,
  name: 'p2',
  env: { POLLER_CONCURRENCY: '200', LOG_LEVEL: 'info' },
});
const poller = await startApp('poller', {
  configFile,
  prefix,
  env: { POLLER_CONCURRENCY: '200', LOG_LEVEL: 'info' },
});
await startApp('scheduler', { configFile, prefix });
for (let i = 0; i < 4; i++) {
  await sleep(2500);
  const st = await sim.state();
  const m = await poller.metrics();
  console.log(
    'connections',
    st.servers.map((s) => s.connections).join(','),
    'requests',
    st.servers.reduce((a, s) => a + s.proxies.reduce((b, p) => b + p.requests, 0), 0),
    'ok',
    metricValue(m, 'qsm_polls_total', { outcome: 'ok' }),
    'stale',
    metricValue(m, 'qsm_polls_total', { outcome: 'skipped_stale' }),
    'overlap',
    metricValue(m, 'qsm_polls_total', { outcome: 'skipped_overlap' }),
    'dur_sum',
    metricValue(m, 'qsm_poll_duration_seconds_sum').toFixed(1),
    'dur_count',
    metricValue(m, 'qsm_poll_duration_seconds_count'),
  );
}
await stopAll();
await cleanupRedisPrefix(prefix);
