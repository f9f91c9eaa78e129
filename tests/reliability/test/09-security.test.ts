import { readFileSync, writeFileSync } from 'node:fs';
import type { CertificateSet } from '@qsm/dev-certs';
import {
  cleanupRedisPrefix,
  dropInfluxDatabase,
  influxQuery,
  type RunningApp,
  rows,
  services,
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
import { Redis } from 'ioredis';
import { afterAll, describe, expect } from 'vitest';
import { parse, stringify } from 'yaml';
import { scenario } from './support/report.js';

const prefix = uniqueName('rel_secrets');
const db = uniqueName('qsm_rel_secrets');
const hashedDb = uniqueName('qsm_rel_hashed');
const SECRETS = {
  influxPassword: 'PLANTED-influx-Pa55word',
  mqttPassword: 'PLANTED-mqtt-Pa55word',
  passphrase: 'PLANTED-key-passphrase',
  boardPassword: 'PLANTED-board-Pa55word',
  hashKey: 'PLANTED-session-hash-key-0123456789',
};

afterAll(async () => {
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
  await dropInfluxDatabase(hashedDb);
});

/** Every value stored under the prefix in Redis, whatever the key type. */
async function redisText(): Promise<string> {
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 });
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') parts.push((await redis.get(key)) ?? '');
      else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, '0', '-1')));
      else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      parts.push(key);
    }
  } while (cursor !== '0');
  redis.disconnect();
  return parts.join('\n');
}

describe('secrets and session ids', () => {
  let apps: RunningApp[] = [];

  scenario('9', 'Secrets never reach logs or Bull Board job data', async (r) => {
    const certs: CertificateSet = await testCertificates('rel-secrets', SECRETS.passphrase);
    const sim = await startSimulator(certs, [
      '--servers',
      '1',
      '--prefixes',
      '/,/denied',
      '--sessions',
      '4',
      '--churn',
      '0',
    ]);
    await sim.setFault('sense1', '/denied', { mode: 'status', status: 403 });
    const dir = tempDir('rel-secrets');
    const configFile = writeButlerConfig(dir, {
      certs,
      pollingInterval: 1000,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/', '/denied'] }],
      influx: { db },
      mqtt: { baseTopic: `qsm-test/${prefix}/` },
    });
    // The InfluxDB password in the file (auth on: sent, and ignored by the test InfluxDB).
    const config = parse(readFileSync(configFile, 'utf8'));
    config['Butler-SOS'].influxdbConfig.v1Config.auth = {
      enable: true,
      username: 'qsm',
      password: SECRETS.influxPassword,
    };
    writeFileSync(configFile, stringify(config));
    const env = {
      LOG_LEVEL: 'trace',
      MQTT_USERNAME: 'qsm',
      MQTT_PASSWORD: SECRETS.mqttPassword,
      BOARD_USERNAME: 'operator',
      BOARD_PASSWORD: SECRETS.boardPassword,
      BOARD_PORT: '0',
    };
    apps = [
      await startApp('influx-sink', { configFile, prefix, env }),
      await startApp('mqtt-sink', { configFile, prefix, env }),
      await startApp('poller', { configFile, prefix, env }),
      await startApp('scheduler', { configFile, prefix, env }),
      await startApp('board', { configFile, prefix, env }),
    ];
    r.did(
      'planted an InfluxDB password (file), a key passphrase (file), an MQTT and a board password (environment); ran every app at LOG_LEVEL=trace with a failing proxy',
    );
    await waitUntil(
      async () =>
        rows(await influxQuery(db, 'SELECT count(session_count) FROM user_session_summary')).length > 0,
      'results',
    );
    await sleep(3000);
    const boardLine = apps[4]!.lines.find((l) => l.includes('Bull Board listening'))!;
    const boardUrl = (JSON.parse(boardLine) as { url: string }).url.replace(/\/$/, '');
    const auth = {
      authorization: `Basic ${Buffer.from(`operator:${SECRETS.boardPassword}`).toString('base64')}`,
    };
    const boardJson = await Promise.all(
      ['poll', 'sink-influx', 'sink-mqtt'].map(async (q) =>
        (await fetch(`${boardUrl}/api/queues?activeQueue=${q}&status=latest`, { headers: auth })).text(),
      ),
    );
    for (const app of apps) await app.stop();
    const logs = apps.flatMap((a) => a.lines).join('\n');
    const redisDump = await redisText();
    r.count(
      'log lines searched',
      apps.reduce((n, a) => n + a.lines.length, 0),
    );
    r.count('Redis bytes searched', redisDump.length);
    r.count('Bull Board API bytes searched', boardJson.join('').length);
    let found = 0;
    for (const secret of [
      SECRETS.influxPassword,
      SECRETS.mqttPassword,
      SECRETS.passphrase,
      SECRETS.boardPassword,
    ]) {
      for (const [where, text] of [
        ['logs', logs],
        ['redis', redisDump],
        ['board', boardJson.join('')],
      ] as const) {
        if (text.includes(secret)) found++;
        expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
      }
    }
    expect(boardJson.join('')).toContain('sense1');
    r.count('planted secrets found', found);
  });

  scenario('10', 'A keyed hash instead of the raw SessionId in InfluxDB', async (r) => {
    const certs: CertificateSet = await testCertificates('rel-hash');
    const sim = await startSimulator(certs, [
      '--servers',
      '1',
      '--prefixes',
      '/',
      '--sessions',
      '6',
      '--users',
      '3',
      '--churn',
      '0',
    ]);
    const served = await sim.sessions('sense1', '/');
    const configFile = writeButlerConfig(tempDir('rel-hash'), {
      certs,
      pollingInterval: 1000,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/'] }],
      influx: { db: hashedDb },
    });
    await startApp('influx-sink', {
      configFile,
      prefix: `${prefix}h`,
      env: { SESSION_ID_HASH_KEY: SECRETS.hashKey },
    });
    await startApp('poller', { configFile, prefix: `${prefix}h` });
    await startApp('scheduler', { configFile, prefix: `${prefix}h` });
    r.did('ran the pipeline with SESSION_ID_HASH_KEY set; 6 sessions of 3 users');
    await waitUntil(
      async () =>
        Number(
          rows(await influxQuery(hashedDb, 'SELECT count(session_count) FROM user_session_summary'))[0]
            ?.count ?? 0,
        ) >= 3,
      'three results',
    );
    const details = rows(await influxQuery(hashedDb, 'SELECT * FROM user_session_details'));
    const stored = details.map((d) => String(d.session_id));
    const raw = served.map((s) => s.SessionId);
    r.count(
      'raw session ids found in InfluxDB (tags or fields)',
      stored.filter((id) => raw.includes(id)).length +
        details.filter((d) => raw.includes(String(d.user_session_id))).length,
    );
    expect(stored.some((id) => raw.includes(id))).toBe(false);
    expect(details.some((d) => raw.includes(String(d.user_session_id)))).toBe(false);
    const distinct = rows(
      await influxQuery(hashedDb, 'SELECT count(distinct(session_id)) FROM user_session_details'),
    )[0];
    r.count('count(distinct(session_id)) (6 sessions served)', Number(distinct?.count));
    expect(Number(distinct?.count)).toBe(6);
    await cleanupRedisPrefix(`${prefix}h`);
  });

  scenario('11', 'Bull Board refuses requests without valid credentials, API routes included', async (r) => {
    const configFile = writeButlerConfig(tempDir('rel-board'), {
      certs: await testCertificates('rel-board'),
      servers: [{ serverName: 'sense1', qpsHost: '127.0.0.1:4243', virtualProxies: ['/'] }],
    });
    const board = await startApp('board', {
      configFile,
      prefix,
      env: { BOARD_USERNAME: 'operator', BOARD_PASSWORD: SECRETS.boardPassword, BOARD_PORT: '0' },
    });
    const url = (
      JSON.parse(board.lines.find((l) => l.includes('Bull Board listening'))!) as { url: string }
    ).url.replace(/\/$/, '');
    const routes = [
      '/',
      '/queue/poll',
      '/api/queues',
      '/api/queues/poll/retry/failed',
      '/api/queues/poll/clean/completed',
      '/api/redis/stats',
    ];
    const wrong = { authorization: `Basic ${Buffer.from('operator:guess').toString('base64')}` };
    let refused = 0;
    for (const route of routes) {
      for (const headers of [{}, wrong]) {
        for (const method of ['GET', 'PUT']) {
          const status = (await fetch(`${url}${route}`, { method, headers })).status;
          expect(status, `${method} ${route}`).toBe(401);
          refused++;
        }
      }
    }
    r.did(`sent GET and PUT to ${routes.length} board routes without credentials and with a wrong password`);
    r.count('requests refused with 401', `${refused} of ${routes.length * 4}`);
    await board.stop();
  });
});
