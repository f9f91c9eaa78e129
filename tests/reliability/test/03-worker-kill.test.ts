import type { CertificateSet } from '@qsm/dev-certs';
import { QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  collectMqtt,
  dropInfluxDatabase,
  influxQuery,
  rows,
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
import { afterAll, describe, expect } from 'vitest';
import { queueCounts, queueDrained } from './support/queue-state.js';
import { scenario } from './support/report.js';

const prefix = uniqueName('rel_kill');
const db = uniqueName('qsm_rel_kill');
const baseTopic = `qsm-test/${prefix}/`;

afterAll(async () => {
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
});

describe('workers killed in the middle of work', () => {
  scenario('3', 'A poller and an InfluxDB sink killed with SIGKILL mid-work', async (r) => {
    const certs: CertificateSet = await testCertificates('rel-kill');
    const proxies = ['/', '/a', '/b', '/c', '/d', '/e'];
    // Latency keeps polls in flight; a slow flush keeps points in the sink's hands.
    const sim = await startSimulator(certs, [
      '--servers',
      '1',
      '--prefixes',
      proxies.join(','),
      '--sessions',
      '5',
      '--latency',
      '400',
    ]);
    const configFile = writeButlerConfig(tempDir('rel-kill'), {
      certs,
      pollingInterval: 1000,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: proxies }],
      influx: { db },
      mqtt: { baseTopic },
    });
    const mqtt = await collectMqtt(`${baseTopic}#`);
    const env = { WORKER_LOCK_DURATION_MS: '3000' };
    const sinkEnv = { ...env, INFLUX_FLUSH_INTERVAL_MS: '600' };
    const sinks = [
      await startApp('influx-sink', { configFile, prefix, env: sinkEnv, name: 'influx-sink-1' }),
      await startApp('influx-sink', { configFile, prefix, env: sinkEnv, name: 'influx-sink-2' }),
    ];
    await startApp('mqtt-sink', { configFile, prefix, env });
    const pollers = [
      await startApp('poller', { configFile, prefix, env, name: 'poller-1' }),
      await startApp('poller', { configFile, prefix, env, name: 'poller-2' }),
    ];
    const scheduler = await startApp('scheduler', { configFile, prefix, env });
    r.did(
      'polled 6 proxies every second (400 ms QPS latency) with 2 pollers and 2 InfluxDB sinks (lock 3 s)',
    );
    await sleep(4000);
    await waitUntil(async () => (await queueCounts(prefix, QUEUE.influx)).active > 0, 'sink jobs in hand', {
      intervalMs: 10,
    });
    pollers[0]!.child.kill('SIGKILL');
    sinks[0]!.child.kill('SIGKILL');
    r.did('killed poller-1 and influx-sink-1 with SIGKILL while they held jobs');
    await sleep(8000);
    await scheduler.stop();
    await pollers[1]!.stop();
    r.did('let the survivors run 8 s, stopped polling, waited for the queues to drain');
    await waitUntil(() => queueDrained(prefix, QUEUE.influx), 'sink-influx drained', {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await waitUntil(() => queueDrained(prefix, QUEUE.mqtt), 'sink-mqtt drained', { timeoutMs: 30_000 });
    await sleep(500);

    // Every result that reached the queues (MQTT got each once) is in InfluxDB once.
    const published: Record<string, number> = {};
    for (const m of mqtt.messages) {
      const vp = m.topic.endsWith('/usersession/') ? '/' : `/${m.topic.split('/usersession/')[1]}`;
      published[vp] = (published[vp] ?? 0) + 1;
    }
    const stored = Object.fromEntries(
      rows(
        await influxQuery(
          db,
          'SELECT count(session_count) FROM user_session_summary GROUP BY user_session_virtual_proxy',
        ),
      ).map((row) => [row.user_session_virtual_proxy, Number(row.count)]),
    );
    const results = Object.values(published).reduce((a, b) => a + b, 0);
    const points = Object.values(stored as Record<string, number>).reduce((a, b) => a + b, 0);
    r.count('poll results delivered to the queues', results);
    r.count('summary points in InfluxDB', points);
    const counts = await queueCounts(prefix, QUEUE.influx);
    r.count('sink-influx jobs failed', counts.failed);
    expect(counts.failed).toBe(0);
    expect(stored).toEqual(published);
    const details = rows(await influxQuery(db, 'SELECT count(session_id) FROM user_session_details'))[0];
    const expectedDetails = results * 5;
    r.count('detail points (5 sessions per result)', Number(details?.count ?? 0));
    expect(Number(details?.count)).toBe(expectedDetails);
    const simState = await sim.state();
    r.count(
      'polls served by QPS',
      simState.servers[0]!.proxies.reduce((a, p) => a + p.requests, 0),
    );
    expect(simState.servers[0]!.proxies.every((p) => p.maxActive === 1)).toBe(true);
    await mqtt.close();
  });
});
