import type { CertificateSet } from '@qsm/dev-certs';
import type { PollResult } from '@qsm/model';
import { createResultDelivery, openQueue, QUEUE, resultJobId } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  collectMqtt,
  metricValue,
  type OwnService,
  type RunningApp,
  services,
  startApp,
  startOwnMosquitto,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollResult, sendResults } from './support/sink-results.js';

/* The MQTT sink on its own: results are added to its queue by the test, as a poller would. */

const prefix = uniqueName('mqtt_sink');
/** Poll times of the results the tests send: recent, as a poller's are. */
const t0 = Date.now();
const baseTopic = `qsm-test/${prefix}/`;
let certs: CertificateSet;
let broker: OwnService;
let sink: RunningApp;
let redis: Redis;
let delivery: ReturnType<typeof createResultDelivery>;

const send = (r: PollResult) => sendResults(delivery, QUEUE.mqtt, [r]);

beforeAll(async () => {
  certs = await testCertificates('mqtt-sink');
  broker = await startOwnMosquitto({ persistence: true });
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  delivery = createResultDelivery({ connection: redis, prefix });
  const configFile = writeButlerConfig(tempDir('mqtt-sink'), {
    certs,
    servers: [{ serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxies: ['/'] }],
    mqtt: { baseTopic },
  });
  sink = await startApp('mqtt-sink', {
    configFile,
    prefix,
    env: { MQTT_URL: broker.url, MQTT_PUBLISH_TIMEOUT_MS: '15000', SINK_MAX_BACKOFF_MS: '1000' },
  });
});

afterAll(async () => {
  await delivery?.close();
  redis?.disconnect();
  await stopAll();
  await broker?.stop();
  await cleanupRedisPrefix(prefix);
});

describe('the MQTT sink', () => {
  it("publishes the session array to Butler SOS's topic with QoS 1", async () => {
    const subscriber = await collectMqtt(`${baseTopic}#`, broker.url);
    await send(pollResult('/hdr', t0 + 1000, ['anna', 'bob']));
    await waitUntil(() => subscriber.messages.length === 1, 'one message');
    const [message] = subscriber.messages;
    expect(message?.topic).toBe(`${baseTopic}sense1.lab/usersession/hdr`);
    expect(message?.qos).toBe(1);
    expect(message?.retain).toBe(false);
    expect(JSON.parse(message!.payload)).toEqual(pollResult('/hdr', t0 + 1000, ['anna', 'bob']).sessions);
    expect(message?.payload).toBe(
      JSON.stringify(pollResult('/hdr', t0 + 1000, ['anna', 'bob']).sessions, null, 2),
    );
    await subscriber.close();
  });

  it('never publishes a snapshot older than one already published on its topic', async () => {
    const subscriber = await collectMqtt(`${baseTopic}#`, broker.url);
    await send(pollResult('/order', t0 + 5000, ['new']));
    await waitUntil(() => subscriber.messages.length === 1, 'the newer snapshot');
    await send(pollResult('/order', t0 + 4000, ['old']));
    await waitUntil(
      async () => metricValue(await sink.metrics(), 'qsm_mqtt_snapshots_superseded_total') >= 1,
      'superseded count',
    );
    expect(subscriber.messages.map((m) => JSON.parse(m.payload)[0].UserId)).toEqual(['new']);
    await subscriber.close();
  });

  it('keeps topics valid when a virtual proxy prefix contains MQTT wildcards', async () => {
    const subscriber = await collectMqtt(`${baseTopic}#`, broker.url);
    await send(pollResult('/a+b#c', t0 + 1000, ['x']));
    await waitUntil(() => subscriber.messages.length === 1, 'the message');
    expect(subscriber.messages[0]?.topic).toBe(`${baseTopic}sense1.lab/usersession/a%2Bb%23c`);
    await subscriber.close();
  });

  it('waits while the broker is away, reports unready, and delivers everything in order once it is back', async () => {
    // A subscriber with a persistent session: the broker keeps what it missed while both were away.
    const subscriber = await collectMqtt(`${baseTopic}#`, broker.url, { clientId: `${prefix}-subscriber` });
    const supersededBefore = metricValue(await sink.metrics(), 'qsm_mqtt_snapshots_superseded_total');
    await broker.stop();
    await waitUntil(async () => (await sink.ready()).status === 503, 'unready while the broker is away');
    const now = Date.now();
    for (let i = 1; i <= 5; i++) await send(pollResult('/outage', now + i, [`user${i}`]));
    await new Promise((r) => setTimeout(r, 3000));
    await broker.restart();
    await waitUntil(() => subscriber.messages.length >= 1, 'messages after the outage', {
      timeoutMs: 20_000,
    });
    await waitUntil(async () => (await sink.ready()).status === 200, 'ready again');
    await new Promise((r) => setTimeout(r, 3000));
    const users = subscriber.messages
      .filter((m) => m.topic.endsWith('/outage'))
      .map((m) => JSON.parse(m.payload)[0].UserId);
    // Every snapshot arrives, in order: the jobs waited for the broker instead of failing and overtaking.
    expect(users).toEqual(['user1', 'user2', 'user3', 'user4', 'user5']);
    expect(metricValue(await sink.metrics(), 'qsm_mqtt_snapshots_superseded_total')).toBe(supersededBefore);
    expect(sink.lines.filter((l) => l.includes('mqtt broker unavailable')).length).toBe(1);
    expect(sink.lines.some((l) => l.includes('gave up'))).toBe(false);
    await subscriber.close();
  });

  it('gives up a result older than SINK_MAX_AGE_MS (a broker away for longer) instead of publishing it as current', async () => {
    const subscriber = await collectMqtt(`${baseTopic}#`, broker.url);
    const dayAndMore = 24 * 3600 * 1000 + 60_000;
    const stale = pollResult('/stale', Date.now() - dayAndMore, ['yesterday']);
    await send(stale);
    await waitUntil(
      async () =>
        metricValue(await sink.metrics(), 'qsm_sink_results_given_up_total', { sink: 'mqtt' }) === 1,
      'the stale result given up',
    );
    await send(pollResult('/stale', Date.now(), ['now']));
    await waitUntil(() => subscriber.messages.length === 1, 'the current snapshot');
    expect(subscriber.messages.map((m) => JSON.parse(m.payload)[0].UserId)).toEqual(['now']);

    const queue = openQueue({ connection: redis, prefix }, QUEUE.mqtt);
    const failed = await queue.getJob(resultJobId(stale, stale.polledAt));
    await queue.close();
    expect(await failed?.getState()).toBe('failed');
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(
      /^result_too_old: polled 86\d{3} s ago, longer than SINK_MAX_AGE_MS/,
    );
    expect(
      sink.lines.filter((l) =>
        l.includes('gave up on a result not delivered within SINK_MAX_AGE_MS (86400000 ms)'),
      ),
    ).toHaveLength(1);
    await subscriber.close();
  });
});
