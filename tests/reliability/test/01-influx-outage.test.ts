import type { CertificateSet } from '@qsm/dev-certs';
import { QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  collectMqtt,
  influxQuery,
  type OwnService,
  type RunningApp,
  rows,
  type Simulator,
  sleep,
  startApp,
  startOwnInfluxd,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { afterAll, describe, expect } from 'vitest';
import { queueDrained } from './support/queue-state.js';
import { scenario } from './support/report.js';

const OUTAGE_S = Number(process.env.QSM_OUTAGE_SECONDS ?? 60);
const prefix = uniqueName('rel_influx');
const db = 'outage';
const baseTopic = `qsm-test/${prefix}/`;
let influx: OwnService | undefined;
let sim: Simulator | undefined;

afterAll(async () => {
  await stopAll();
  await influx?.stop();
  await cleanupRedisPrefix(prefix);
});

describe('outages of InfluxDB', () => {
  scenario(
    '1',
    `InfluxDB stopped for ${OUTAGE_S} s while polling every second`,
    async (r) => {
      const certs: CertificateSet = await testCertificates('rel-influx');
      influx = await startOwnInfluxd();
      sim = await startSimulator(certs, [
        '--servers',
        '1',
        '--prefixes',
        '/,/hdr',
        '--sessions',
        '4',
        '--churn',
        '0.2',
      ]);
      const configFile = writeButlerConfig(tempDir('rel-influx'), {
        certs,
        pollingInterval: 1000,
        servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/', '/hdr'] }],
        influx: { db, port: influx.port },
        mqtt: { baseTopic },
      });
      const mqtt = await collectMqtt(`${baseTopic}#`);
      const env = { SINK_MAX_BACKOFF_MS: '3000' };
      const sink: RunningApp = await startApp('influx-sink', { configFile, prefix, env });
      await startApp('mqtt-sink', { configFile, prefix });
      const poller = await startApp('poller', { configFile, prefix });
      const scheduler = await startApp('scheduler', { configFile, prefix });
      r.did('polled 2 proxies every second; InfluxDB (its own influxd) ran for 5 s');
      await sleep(5000);
      await influx.stop();
      r.did(`stopped InfluxDB for ${OUTAGE_S} s`);
      await waitUntil(async () => (await sink.ready()).status === 503, 'the sink unready');
      await sleep(OUTAGE_S * 1000);
      await influx.restart();
      r.did(
        'started InfluxDB again, polled 5 s more, then stopped polling and waited for the queue to drain',
      );
      await sleep(5000);
      expect(await scheduler.stop()).toBe(0);
      expect(await poller.stop()).toBe(0);
      await waitUntil(() => queueDrained(prefix, QUEUE.influx), 'sink-influx drained', {
        timeoutMs: 60_000,
        intervalMs: 500,
      });
      await waitUntil(() => queueDrained(prefix, QUEUE.mqtt), 'sink-mqtt drained', { timeoutMs: 30_000 });

      const state = await sim.state();
      const polled = Object.fromEntries(state.servers[0]!.proxies.map((p) => [p.prefix, p.requests]));
      const stored = Object.fromEntries(
        rows(
          await influxQuery(
            db,
            'SELECT count(session_count) FROM user_session_summary GROUP BY user_session_virtual_proxy',
            influx.url,
          ),
        ).map((row) => [row.user_session_virtual_proxy, Number(row.count)]),
      );
      const published: Record<string, number> = {};
      for (const m of mqtt.messages) {
        const vp = m.topic.endsWith('/usersession/') ? '/' : `/${m.topic.split('/usersession/')[1]}`;
        published[vp] = (published[vp] ?? 0) + 1;
      }
      for (const vp of ['/', '/hdr']) {
        r.count(`polls of ${vp}`, polled[vp]!);
        r.count(`summary points of ${vp} in InfluxDB`, stored[vp] ?? 0);
        r.count(`MQTT messages of ${vp}`, published[vp] ?? 0);
      }
      const details = rows(
        await influxQuery(db, 'SELECT count(session_id) FROM user_session_details', influx.url),
      )[0];
      r.count('detail points', Number(details?.count ?? 0));
      expect(stored).toEqual(polled);
      expect(published).toEqual(polled);
      // One line when InfluxDB went away, one when it came back.
      expect(sink.lines.filter((l) => l.includes('influxdb unavailable')).length).toBe(1);
      expect(sink.lines.filter((l) => l.includes('influxdb is back')).length).toBe(1);
      expect(sink.lines.some((l) => l.includes('gave up'))).toBe(false);
      r.count('log lines about the outage', 2);
      await mqtt.close();
    },
    (OUTAGE_S + 120) * 1000,
  );
});
