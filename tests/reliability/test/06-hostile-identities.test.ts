import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CertificateSet } from '@qsm/dev-certs';
import {
  cleanupRedisPrefix,
  collectMqtt,
  dropInfluxDatabase,
  influxQuery,
  rows,
  type SimSessionInput,
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
import { stringify } from 'yaml';
import { scenario } from './support/report.js';

const prefix = uniqueName('rel_hostile');
const db = uniqueName('qsm_rel_hostile');
const baseTopic = `qsm-test/${prefix}/`;
const PROXIES = ['/', '/ä-b.c', '/a+b', '/x=y,z'];

afterAll(async () => {
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
});

/**
 * How a tag reads back from InfluxDB 1.x: README "InfluxDB schema" documents these substitutions (a TAB
 * reads back unchanged); fields are exact.
 */
function expectedTag(value: string): string | null {
  if (value === '') return null;
  const tag = value.replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return tag.endsWith('\\') ? `${tag} ` : tag;
}

describe('hostile identities', () => {
  scenario('6', 'User ids, directories and virtual proxy prefixes that break naive escaping', async (r) => {
    const certs: CertificateSet = await testCertificates('rel-hostile');
    const dir = tempDir('rel-hostile');
    const simConfig = path.join(dir, 'sim.yaml');
    writeFileSync(
      simConfig,
      stringify({
        seed: 7,
        churnIntervalMs: 0,
        defaults: { sessions: 60, users: 40, hostile: true, churnRate: 0 },
        servers: [{ name: 'sense1', virtualProxies: PROXIES.map((p) => ({ prefix: p })) }],
      }),
    );
    const sim = await startSimulator(certs, ['--config', simConfig]);
    const served: Record<string, SimSessionInput[]> = {};
    for (const vp of PROXIES) served[vp] = await sim.sessions('sense1', vp);
    const configFile = writeButlerConfig(dir, {
      certs,
      pollingInterval: 1000,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: PROXIES }],
      influx: { db },
      mqtt: { baseTopic },
    });
    const mqtt = await collectMqtt(`${baseTopic}#`);
    await startApp('influx-sink', { configFile, prefix });
    await startApp('mqtt-sink', { configFile, prefix });
    await startApp('poller', { configFile, prefix });
    await startApp('scheduler', { configFile, prefix });
    r.did(
      `served 60 sessions of 40 hostile identities (spaces, commas, =, quotes, backslashes, newlines, tabs, emoji, empty, 300 characters) on proxies ${PROXIES.join(' ')}`,
    );
    await waitUntil(
      async () =>
        rows(
          await influxQuery(
            db,
            'SELECT count(session_count) FROM user_session_summary GROUP BY user_session_virtual_proxy',
          ),
        ).length === PROXIES.length,
      'results of every proxy',
      { timeoutMs: 20_000 },
    );
    await sleep(2500);

    const details = rows(await influxQuery(db, 'SELECT * FROM user_session_details'));
    let exactFields = 0;
    let exactTags = 0;
    let substitutedTags = 0;
    for (const vp of PROXIES) {
      const stored = details.filter((d) => d.user_session_virtual_proxy === vp);
      const expected = served[vp]!;
      const key = (dir: unknown, user: unknown, session: unknown) => JSON.stringify([dir, user, session]);
      expect(new Set(stored.map((d) => key(d.user_directory, d.user_id, d.session_id))), vp).toEqual(
        new Set(expected.map((s) => key(s.UserDirectory, s.UserId, s.SessionId))),
      );
      for (const s of expected) {
        const row = stored.find((d) => d.session_id === s.SessionId)!;
        expect(row.user_id).toBe(s.UserId);
        expect(row.user_directory).toBe(s.UserDirectory);
        exactFields++;
        expect(row.user_session_user_id ?? null).toBe(expectedTag(s.UserId));
        expect(row.user_session_user_directory ?? null).toBe(expectedTag(s.UserDirectory));
        if (expectedTag(s.UserId) === s.UserId) exactTags++;
        else substitutedTags++;
      }
    }
    r.count('sessions read back with exact fields', exactFields);
    r.count('user id tags read back exactly', exactTags);
    r.count('user id tags substituted as documented (empty, newline, trailing backslash)', substitutedTags);

    const topics = [...new Set(mqtt.messages.map((m) => m.topic))].sort();
    r.count('MQTT topics', topics.join(' '));
    expect(topics.every((t) => !/[+#\u0000]/.test(t))).toBe(true);
    expect(topics).toContain(`${baseTopic}127.0.0.1/usersession/a%2Bb`);
    for (const vp of PROXIES) {
      const topic = `${baseTopic}127.0.0.1/usersession${vp.replace('+', '%2B')}`;
      const message = mqtt.messages.find((m) => m.topic === topic);
      expect(message, topic).toBeDefined();
      expect(JSON.parse(message!.payload)).toEqual(served[vp]);
    }
    r.count('MQTT payloads equal to what QPS served', PROXIES.length);
    await mqtt.close();
  });
});
