import type { CertificateSet } from '@qsm/dev-certs';
import { QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  collectMqtt,
  type OwnService,
  sleep,
  startApp,
  startOwnMosquitto,
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

const prefix = uniqueName('rel_broker');
const baseTopic = `qsm-test/${prefix}/`;
let broker: OwnService | undefined;

afterAll(async () => {
  await stopAll();
  await broker?.stop();
  await cleanupRedisPrefix(prefix);
});

describe('broker restarts', () => {
  scenario('2', 'MQTT broker restarted while publishing with QoS 1', async (r) => {
    const certs: CertificateSet = await testCertificates('rel-broker');
    broker = await startOwnMosquitto({ persistence: true });
    // --stamp: every answer carries its request number, so the subscriber can check order and gaps.
    const sim = await startSimulator(certs, [
      '--servers',
      '1',
      '--prefixes',
      '/,/hdr,/sales',
      '--sessions',
      '3',
      '--stamp',
    ]);
    const configFile = writeButlerConfig(tempDir('rel-broker'), {
      certs,
      pollingInterval: 1000,
      servers: [
        { serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/', '/hdr', '/sales'] },
      ],
      mqtt: { baseTopic, port: broker.port },
    });
    const subscriber = await collectMqtt(`${baseTopic}#`, broker.url, { clientId: `${prefix}-subscriber` });
    const sink = await startApp('mqtt-sink', { configFile, prefix });
    const poller = await startApp('poller', { configFile, prefix });
    const scheduler = await startApp('scheduler', { configFile, prefix });
    r.did('polled 3 proxies every second, published with QoS 1 to a broker with persistence');
    await sleep(4000);
    await broker.stop();
    r.did('stopped the broker for 8 s (polling went on), started it again');
    await sleep(8000);
    await broker.restart();
    await sleep(4000);
    r.did('stopped polling and waited until every snapshot was out');
    await scheduler.stop();
    await poller.stop();
    await waitUntil(() => queueDrained(prefix, QUEUE.mqtt), 'sink-mqtt drained', {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await sleep(1000);

    const state = await sim.state();
    let outOfOrder = 0;
    let duplicates = 0;
    for (const proxy of state.servers[0]!.proxies) {
      const topic =
        proxy.prefix === '/'
          ? `${baseTopic}127.0.0.1/usersession/`
          : `${baseTopic}127.0.0.1/usersession${proxy.prefix}`;
      const served = subscriber.messages
        .filter((m) => m.topic === topic)
        .map((m) => JSON.parse(m.payload)[0].Served as number);
      r.count(`${proxy.prefix}: polls`, proxy.requests);
      r.count(`${proxy.prefix}: snapshots received`, served.length);
      // Every snapshot, in the order QPS served them. QoS 1 is "at least once": a message in flight when the
      // broker went down may arrive twice, right after itself (counted; MQTT_QOS=2 avoids it).
      expect([...new Set(served)]).toEqual(Array.from({ length: proxy.requests }, (_, i) => i + 1));
      outOfOrder += served.filter((n, i) => i > 0 && n < served[i - 1]!).length;
      duplicates += served.length - new Set(served).size;
    }
    r.count('snapshots missing', 0);
    r.count('snapshots out of order', outOfOrder);
    r.count('QoS 1 redeliveries (same snapshot twice in a row)', duplicates);
    expect(outOfOrder).toBe(0);
    expect(sink.lines.filter((l) => l.includes('mqtt broker unavailable')).length).toBe(1);
    await subscriber.close();
  });
});
