import { readFileSync } from 'node:fs';
import type { CertificateSet } from '@qsm/dev-certs';
import {
  appMain,
  collectMqtt,
  dropInfluxDatabase,
  influxQuery,
  type OwnService,
  rows,
  type Simulator,
  startApp,
  startOwnMosquitto,
  startOwnRedis,
  startProcess,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * Redis and the broker as a careful site runs them: Redis over TLS with a password, asking every client
 * for a certificate (Redis's default once TLS is on), the broker over TLS with a password per user and a
 * client certificate. The certificates come from a private CA, which Node does not know.
 */

const prefix = uniqueName('tls');
const db = uniqueName('qsm_tls');
const baseTopic = `qsm-test/${prefix}/`;
const REDIS_PASSWORD = 'redis pass/word';
const MQTT_USER = { name: 'qsm', password: 'mqtt-pass' };
let certs: CertificateSet;
let sim: Simulator;
let redis: OwnService;
let broker: OwnService;
let configFile: string;

beforeAll(async () => {
  certs = await testCertificates('tls-transports');
  const tls = { cert: certs.server, key: certs.serverKey, ca: certs.root };
  redis = await startOwnRedis({ tls, password: REDIS_PASSWORD });
  broker = await startOwnMosquitto({
    tls: { ...tls, requireClientCertificate: true },
    users: { [MQTT_USER.name]: MQTT_USER.password },
  });
  sim = await startSimulator(certs, ['--servers', '1', '--prefixes', '/', '--sessions', '3', '--churn', '0']);
  configFile = writeButlerConfig(tempDir('tls-transports'), {
    certs,
    pollingInterval: 1000,
    servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/'] }],
    influx: { db },
    mqtt: { baseTopic },
  });
});

afterAll(async () => {
  await stopAll();
  await redis?.stop();
  await broker?.stop();
  await dropInfluxDatabase(db);
});

describe('Redis and the MQTT broker over TLS', () => {
  it('every app works through a TLS Redis that wants a password and a client certificate, and the MQTT sink through a TLS broker that wants a password and a client certificate', async () => {
    const redisEnv = {
      REDIS_URL: redis.url,
      REDIS_CA_FILE: certs.root,
      REDIS_CERT_FILE: certs.client,
      REDIS_KEY_FILE: certs.clientKey,
    };
    const subscriber = await collectMqtt(`${baseTopic}#`, broker.url, undefined, {
      ca: readFileSync(certs.root),
      cert: readFileSync(certs.client),
      key: readFileSync(certs.clientKey),
      username: MQTT_USER.name,
      password: MQTT_USER.password,
    });
    const apps = [
      await startApp('scheduler', { configFile, prefix, env: redisEnv }),
      await startApp('poller', { configFile, prefix, env: redisEnv }),
      await startApp('influx-sink', { configFile, prefix, env: redisEnv }),
      await startApp('mqtt-sink', {
        configFile,
        prefix,
        env: {
          ...redisEnv,
          MQTT_URL: broker.url,
          MQTT_CA_FILE: certs.root,
          MQTT_CERT_FILE: certs.client,
          MQTT_KEY_FILE: certs.clientKey,
          MQTT_USERNAME: MQTT_USER.name,
          MQTT_PASSWORD: MQTT_USER.password,
        },
      }),
      await startApp('board', {
        configFile,
        prefix,
        env: { ...redisEnv, BOARD_PORT: '0', BOARD_ALLOW_OPEN: 'true' },
      }),
    ];

    await waitUntil(
      async () =>
        rows(await influxQuery(db, 'SELECT count(session_id) FROM user_session_details')).length > 0,
      'session details in InfluxDB',
    );
    await waitUntil(() => subscriber.messages.length > 0, 'a snapshot on MQTT');
    expect(subscriber.messages[0]?.topic).toBe(
      `${baseTopic}${sim.qpsHost('sense1').split(':')[0]}/usersession/`,
    );
    expect(JSON.parse(subscriber.messages[0]!.payload)).toHaveLength(3);
    for (const app of apps) {
      const ready = await app.ready();
      expect(ready.status, `${app.name} ready: ${JSON.stringify(ready.body)}`).toBe(200);
      expect(app.lines.some((l) => l.includes('redis unavailable'))).toBe(false);
    }
    await subscriber.close();
  });

  it('without a client certificate, says that the TLS Redis wants one', async () => {
    // Not startApp: a scheduler that cannot reach Redis never says it started.
    const scheduler = startProcess(
      'scheduler-without-certificate',
      process.execPath,
      [appMain('scheduler')],
      {
        env: {
          CONFIG_FILE: configFile,
          QUEUE_PREFIX: prefix,
          HTTP_PORT: '0',
          LOG_FORMAT: 'json',
          REDIS_URL: redis.url,
          REDIS_CA_FILE: certs.root,
        },
      },
    );
    const line = await scheduler.waitForLine((l) => l.includes('redis unavailable'), 10_000);
    expect(JSON.parse(line)).toMatchObject({
      hint: expect.stringContaining('set REDIS_CERT_FILE and REDIS_KEY_FILE'),
    });
    expect(line).not.toContain(REDIS_PASSWORD);
  });
});
