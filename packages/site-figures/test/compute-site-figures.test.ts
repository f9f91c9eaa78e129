import type { ServerIdentity } from '@qsm/model';
import { siteFiguresRecordSchema } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import {
  computeSiteFigures,
  decodeProxySummary,
  encodeProxySummary,
  MAX_PLACES_LISTED_PER_USER,
  MAX_USERS_AT_LIMIT_LISTED,
  type ProxySummary,
  type SiteFiguresInput,
  summarizeSessions,
} from '../src/index.js';

const server = (name: string, tags: Record<string, string> = { env: 'prod' }) => ({
  serverName: name,
  serverDescription: `${name} description`,
  hostName: `${name}.corp`,
  serverTags: tags,
  qpsHost: `${name}.corp:4243`,
});

const proxy = (name: string, virtualProxy: string): ServerIdentity => ({ ...server(name), virtualProxy });

const key = (identity: ServerIdentity) =>
  `poll|${identity.serverName}|${encodeURIComponent(identity.virtualProxy)}`;

/** A summary of sessions given as "DIR\user" strings, one per session. */
function summary(identity: ServerIdentity, ...users: string[]): ProxySummary {
  return summarizeSessions(
    identity,
    users.map((u, i) => {
      const [userDirectory, userId] = u.split('\\') as [string, string];
      return { sessionId: `s${i}`, userDirectory, userId };
    }),
  );
}

function input(current: ProxySummary[], overrides: Partial<SiteFiguresInput> = {}): SiteFiguresInput {
  return {
    intervalStart: 60_000,
    intervalMs: 30_000,
    sessionLimitWarn: 4,
    excludeUser: [],
    expected: current.map((s) => key(s.identity)),
    current: new Map(current.map((s) => [key(s.identity), s])),
    previous: new Map(),
    ...overrides,
  };
}

const s1root = proxy('sense1', '/');
const s1hdr = proxy('sense1', '/hdr');
const s2root = proxy('sense2', '/');

describe('computeSiteFigures', () => {
  it('counts one user on several proxies of several servers once over the site and once per server', () => {
    const { mqtt } = computeSiteFigures(
      input([
        summary(s1root, 'LAB\\anna', 'LAB\\bob'),
        summary(s1hdr, 'LAB\\anna', 'LAB\\anna'),
        summary(s2root, 'LAB\\anna', 'LAB\\carl'),
      ]),
    );
    expect(siteFiguresRecordSchema.parse(mqtt)).toEqual(mqtt);
    expect(mqtt.site).toEqual({
      uniqueUsers: 3,
      sessionCount: 6,
      maxSessionsPerUser: 4,
      usersAtLimit: 1,
      proxiesPolled: 3,
      proxiesFailed: 0,
    });
    expect(mqtt.servers).toEqual([
      { ...withoutQps(server('sense1')), uniqueUsers: 2, sessionCount: 4 },
      { ...withoutQps(server('sense2')), uniqueUsers: 2, sessionCount: 2 },
    ]);
    expect(mqtt).toMatchObject({ v: 1, kind: 'site_figures', intervalStart: 60_000, intervalMs: 30_000 });
    expect(mqtt.sessionLimitWarn).toBe(4);
  });

  it('lists the users at or above the limit with where their sessions are, the most sessions first', () => {
    const { mqtt } = computeSiteFigures(
      input([
        summary(s1root, 'LAB\\anna', 'LAB\\anna', 'LAB\\bob', 'LAB\\bob', 'LAB\\bob'),
        summary(s1hdr, 'LAB\\anna', 'LAB\\carl', 'LAB\\carl', 'LAB\\carl'),
        summary(s2root, 'LAB\\anna', 'LAB\\bob', 'LAB\\bob'),
      ]),
    );
    expect(mqtt.site.usersAtLimit).toBe(2);
    expect(mqtt.site.maxSessionsPerUser).toBe(5);
    expect(mqtt.usersAtLimit).toEqual([
      {
        userDirectory: 'LAB',
        userId: 'bob',
        sessions: 5,
        proxyCount: 2,
        proxies: [
          { serverName: 'sense1', qpsHost: 'sense1.corp:4243', virtualProxy: '/', sessions: 3 },
          { serverName: 'sense2', qpsHost: 'sense2.corp:4243', virtualProxy: '/', sessions: 2 },
        ],
      },
      {
        userDirectory: 'LAB',
        userId: 'anna',
        sessions: 4,
        proxyCount: 3,
        proxies: [
          { serverName: 'sense1', qpsHost: 'sense1.corp:4243', virtualProxy: '/', sessions: 2 },
          { serverName: 'sense1', qpsHost: 'sense1.corp:4243', virtualProxy: '/hdr', sessions: 1 },
          { serverName: 'sense2', qpsHost: 'sense2.corp:4243', virtualProxy: '/', sessions: 1 },
        ],
      },
    ]);
  });

  it('lists at most 100 users at the limit, the most sessions first, and counts them all', () => {
    expect(MAX_USERS_AT_LIMIT_LISTED).toBe(100);
    // 150 users at the limit: 50 with 6 sessions, 50 with 5, 50 with 4; and one below it.
    const users = Array.from({ length: 150 }, (_, i) => ({
      id: `u${String(i).padStart(3, '0')}`,
      sessions: 4 + (i % 3),
    }));
    const sessions = users.flatMap((u) => Array.from({ length: u.sessions }, () => `LAB\\${u.id}`));
    const { influx, mqtt } = computeSiteFigures(input([summary(s1root, ...sessions, 'LAB\\below')]));
    const sixes = users.filter((u) => u.sessions === 6).map((u) => u.id);
    const fives = users.filter((u) => u.sessions === 5).map((u) => u.id);
    for (const record of [influx, mqtt]) {
      expect(siteFiguresRecordSchema.parse(record)).toEqual(record);
      expect(record.site).toMatchObject({ uniqueUsers: 151, usersAtLimit: 150, maxSessionsPerUser: 6 });
      expect(record.usersAtLimit).toHaveLength(100);
      expect(record.usersAtLimit.map((u) => u.userId)).toEqual([...sixes, ...fives]);
      expect(record.usersAtLimit[99]).toEqual({
        userDirectory: 'LAB',
        userId: 'u148',
        sessions: 5,
        proxyCount: 1,
        proxies: [{ serverName: 'sense1', qpsHost: 'sense1.corp:4243', virtualProxy: '/', sessions: 5 }],
      });
    }
  });

  it('lists at most 20 places of a user, the most sessions first, with the number of places in all', () => {
    expect(MAX_PLACES_LISTED_PER_USER).toBe(20);
    // /vp00-/vp04 one session each (first in place order, but the fewest), /vp05-/vp24 two, except
    // /vp20 and /vp24 with three.
    const sessionsOn = (i: number) => (i < 5 ? 1 : i === 20 || i === 24 ? 3 : 2);
    const vp = (i: number) => `/vp${String(i).padStart(2, '0')}`;
    const summaries = Array.from({ length: 25 }, (_, i) =>
      summary(proxy('sense1', vp(i)), ...Array.from({ length: sessionsOn(i) }, () => 'LAB\\svc')),
    );
    const { mqtt } = computeSiteFigures(input(summaries));
    expect(siteFiguresRecordSchema.parse(mqtt)).toEqual(mqtt);
    expect(mqtt.site).toMatchObject({ sessionCount: 47, usersAtLimit: 1, proxiesPolled: 25 });
    const [svc] = mqtt.usersAtLimit;
    expect(svc).toMatchObject({ userDirectory: 'LAB', userId: 'svc', sessions: 47, proxyCount: 25 });
    expect(svc!.proxies.map((p) => [p.virtualProxy, p.sessions])).toEqual([
      ['/vp20', 3],
      ['/vp24', 3],
      ...[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23].map((i) => [vp(i), 2]),
    ]);
  });

  it('takes the same 16 users on each of 10,000 proxies', () => {
    const svc = Array.from({ length: 16 }, (_, i) => `svc${String(i).padStart(2, '0')}`);
    const places = Array.from({ length: 10_000 }, (_, i) =>
      proxy(`sense${i % 10}`, `/vp${String(Math.floor(i / 10)).padStart(4, '0')}`),
    );
    // svc00 has a second session, on the last proxy: that place comes first in its list.
    const summaries = places.map((identity, i) =>
      summary(identity, ...svc.map((id) => `SVC\\${id}`), ...(i === 9_999 ? ['svc\\SVC00'] : [])),
    );
    const { influx, mqtt } = computeSiteFigures(
      input(summaries, { excludeUser: [{ directory: 'SVC', userId: 'svc15' }] }),
    );
    expect(mqtt.site).toEqual({
      uniqueUsers: 16,
      sessionCount: 160_001,
      maxSessionsPerUser: 10_001,
      usersAtLimit: 16,
      proxiesPolled: 10_000,
      proxiesFailed: 0,
    });
    expect(mqtt.servers.map((s) => [s.serverName, s.uniqueUsers, s.sessionCount])).toEqual(
      Array.from({ length: 10 }, (_, i) => [`sense${i}`, 16, i === 9 ? 16_001 : 16_000]),
    );
    expect(mqtt.usersAtLimit.map((u) => [u.userId, u.sessions, u.proxyCount, u.proxies.length])).toEqual(
      svc.map((id, i) => [id, i === 0 ? 10_001 : 10_000, 10_000, 20]),
    );
    const firstPlaces = (n: number) =>
      Array.from({ length: n }, (_, i) => ['sense0', `/vp${String(i).padStart(4, '0')}`, 1]);
    expect(mqtt.usersAtLimit[0]!.proxies.map((p) => [p.serverName, p.virtualProxy, p.sessions])).toEqual([
      ['sense9', '/vp0999', 2],
      ...firstPlaces(19),
    ]);
    expect(mqtt.usersAtLimit[1]!.proxies.map((p) => [p.serverName, p.virtualProxy, p.sessions])).toEqual(
      firstPlaces(20),
    );
    expect(influx.site).toMatchObject({ uniqueUsers: 15, sessionCount: 150_001, usersAtLimit: 15 });
    expect(influx.usersAtLimit.map((u) => u.userId)).toEqual(svc.slice(0, 15));
  });

  it('takes the limit from SESSION_LIMIT_WARN: exactly at it counts, one below does not', () => {
    const sessions = [summary(s1root, 'LAB\\anna', 'LAB\\anna', 'LAB\\bob')];
    expect(computeSiteFigures(input(sessions, { sessionLimitWarn: 2 })).mqtt.site.usersAtLimit).toBe(1);
    expect(computeSiteFigures(input(sessions, { sessionLimitWarn: 3 })).mqtt.site.usersAtLimit).toBe(0);
    expect(computeSiteFigures(input(sessions, { sessionLimitWarn: 1 })).mqtt.site.usersAtLimit).toBe(2);
  });

  it('counts a proxy without a result as failed, and adds its previous interval summary', () => {
    const { mqtt } = computeSiteFigures(
      input([summary(s1root, 'LAB\\anna')], {
        expected: [key(s1root), key(s1hdr), key(s2root)],
        previous: new Map([
          [key(s1root), summary(s1root, 'LAB\\old', 'LAB\\old')],
          [key(s1hdr), summary(s1hdr, 'LAB\\anna', 'LAB\\bob')],
        ]),
      }),
    );
    expect(mqtt.site).toEqual({
      uniqueUsers: 2,
      sessionCount: 3,
      maxSessionsPerUser: 2,
      usersAtLimit: 0,
      proxiesPolled: 1,
      proxiesFailed: 2,
    });
    // sense2 failed with no previous summary: no data, so no server entry; sense1's current result wins.
    expect(mqtt.servers.map((s) => [s.serverName, s.uniqueUsers, s.sessionCount])).toEqual([
      ['sense1', 2, 3],
    ]);
  });

  it('counts a failed proxy without a previous summary, contributing nothing', () => {
    const { influx, mqtt } = computeSiteFigures(
      input([], { expected: [key(s1root)], previous: new Map([[key(s2root), summary(s2root, 'LAB\\x')]]) }),
    );
    for (const record of [influx, mqtt]) {
      expect(record.site).toEqual({
        uniqueUsers: 0,
        sessionCount: 0,
        maxSessionsPerUser: 0,
        usersAtLimit: 0,
        proxiesPolled: 0,
        proxiesFailed: 1,
      });
      expect(record.servers).toEqual([]);
      expect(record.usersAtLimit).toEqual([]);
    }
  });

  it('counts a proxy that reported but is no longer expected as polled, with its sessions', () => {
    const { mqtt } = computeSiteFigures(
      input([summary(s1root, 'LAB\\anna'), summary(s1hdr, 'LAB\\bob')], {
        expected: [key(s1root)],
      }),
    );
    expect(mqtt.site).toMatchObject({ uniqueUsers: 2, proxiesPolled: 2, proxiesFailed: 0 });
  });

  it('lists a server whose polled proxies have no sessions with zero users', () => {
    const { mqtt } = computeSiteFigures(input([summary(s1root), summary(s2root, 'LAB\\anna')]));
    expect(mqtt.servers.map((s) => [s.serverName, s.uniqueUsers, s.sessionCount])).toEqual([
      ['sense1', 0, 0],
      ['sense2', 1, 1],
    ]);
  });

  it('leaves the blacklisted users out of the InfluxDB copy entirely, and keeps them in the MQTT copy', () => {
    const result = computeSiteFigures(
      input(
        [
          summary(s1root, 'INTERNAL\\sa_scheduler', 'INTERNAL\\sa_scheduler', 'LAB\\anna'),
          summary(s2root, 'INTERNAL\\sa_scheduler', 'INTERNAL\\sa_scheduler', 'LAB\\anna'),
        ],
        { excludeUser: [{ directory: 'INTERNAL', userId: 'sa_scheduler' }] },
      ),
    );
    expect(result.mqtt.site).toMatchObject({
      uniqueUsers: 2,
      sessionCount: 6,
      maxSessionsPerUser: 4,
      usersAtLimit: 1,
    });
    expect(result.mqtt.usersAtLimit.map((u) => u.userId)).toEqual(['sa_scheduler']);
    expect(result.influx.site).toEqual({
      uniqueUsers: 1,
      sessionCount: 2,
      maxSessionsPerUser: 2,
      usersAtLimit: 0,
      proxiesPolled: 2,
      proxiesFailed: 0,
    });
    expect(result.influx.usersAtLimit).toEqual([]);
    expect(result.influx.servers.map((s) => [s.serverName, s.uniqueUsers, s.sessionCount])).toEqual([
      ['sense1', 1, 1],
      ['sense2', 1, 1],
    ]);
  });

  it('applies the blacklist to a failed proxy previous summary too', () => {
    const { influx, mqtt } = computeSiteFigures(
      input([], {
        expected: [key(s1root)],
        previous: new Map([[key(s1root), summary(s1root, 'INTERNAL\\sa_repository', 'LAB\\anna')]]),
        excludeUser: [{ directory: 'INTERNAL', userId: 'sa_repository' }],
      }),
    );
    expect([influx.site.uniqueUsers, mqtt.site.uniqueUsers]).toEqual([1, 2]);
  });

  it('compares users case-insensitively over the site; the blacklist matches exact spellings', () => {
    const sessions = [
      summary(s1root, 'LAB\\Anna', 'lab\\anna'),
      summary(s1hdr, 'Lab\\ANNA'),
      summary(s2root, 'LAB\\anna', 'LAB\\bob'),
    ];
    const { mqtt } = computeSiteFigures(input(sessions));
    expect(mqtt.site).toMatchObject({
      uniqueUsers: 2,
      sessionCount: 5,
      maxSessionsPerUser: 4,
      usersAtLimit: 1,
    });
    // Shown as first spelled, in the order of the target keys; two spellings on one proxy are one place.
    expect(mqtt.usersAtLimit).toEqual([
      {
        userDirectory: 'LAB',
        userId: 'Anna',
        sessions: 4,
        proxyCount: 3,
        proxies: [
          { serverName: 'sense1', qpsHost: 'sense1.corp:4243', virtualProxy: '/', sessions: 2 },
          { serverName: 'sense1', qpsHost: 'sense1.corp:4243', virtualProxy: '/hdr', sessions: 1 },
          { serverName: 'sense2', qpsHost: 'sense2.corp:4243', virtualProxy: '/', sessions: 1 },
        ],
      },
    ]);
    expect(mqtt.servers.map((s) => [s.serverName, s.uniqueUsers])).toEqual([
      ['sense1', 1],
      ['sense2', 2],
    ]);

    const { influx } = computeSiteFigures(
      input(sessions, { excludeUser: [{ directory: 'LAB', userId: 'anna' }] }),
    );
    // Only the exact spelling LAB\anna goes: one of anna's four sessions.
    expect(influx.site).toMatchObject({ uniqueUsers: 2, sessionCount: 4, maxSessionsPerUser: 3 });
  });

  it('does not take a directory boundary for part of a name', () => {
    const { mqtt } = computeSiteFigures(
      input([
        summarizeSessions(s1root, [
          { sessionId: 'a', userDirectory: 'A\\B', userId: 'c' },
          { sessionId: 'b', userDirectory: 'A', userId: 'B\\c' },
        ]),
      ]),
    );
    expect(mqtt.site.uniqueUsers).toBe(2);
  });

  it('is the same whatever the order of its inputs', () => {
    const summaries = [
      summary(s2root, 'lab\\anna'),
      summary(s1hdr, 'LAB\\Anna', 'LAB\\bob'),
      summary(s1root, 'LAB\\bob'),
    ];
    const forward = computeSiteFigures(input(summaries, { sessionLimitWarn: 1 }));
    const backward = computeSiteFigures(input([...summaries].reverse(), { sessionLimitWarn: 1 }));
    expect(backward).toEqual(forward);
  });

  it('takes a site of 200,000 users', () => {
    const many = summarizeSessions(
      s1root,
      Array.from({ length: 200_000 }, (_, i) => ({
        sessionId: `s${i}`,
        userDirectory: 'LAB',
        userId: `u${i}`,
      })),
    );
    const { mqtt } = computeSiteFigures(input([many]));
    expect(mqtt.site).toMatchObject({ uniqueUsers: 200_000, sessionCount: 200_000, maxSessionsPerUser: 1 });
  });

  it('gives an empty site zeros', () => {
    const { mqtt } = computeSiteFigures(input([]));
    expect(mqtt.site).toEqual({
      uniqueUsers: 0,
      sessionCount: 0,
      maxSessionsPerUser: 0,
      usersAtLimit: 0,
      proxiesPolled: 0,
      proxiesFailed: 0,
    });
  });
});

describe('proxy summaries', () => {
  it('count sessions per exactly spelled user and keep only the identity', () => {
    const withExtras = { ...s1root, polledAt: 5 } as ServerIdentity;
    expect(summary(withExtras, 'LAB\\anna', 'LAB\\anna', 'lab\\anna')).toEqual({
      identity: s1root,
      users: [
        { userDirectory: 'LAB', userId: 'anna', sessions: 2 },
        { userDirectory: 'lab', userId: 'anna', sessions: 1 },
      ],
    });
  });

  it('read back as stored, hostile names included', () => {
    const hostile = summary(
      { ...s1root, serverTags: { 'a "b"': 'x\ny' } },
      'LAB\\"; drop',
      'Ünï\\𝒜nna',
      'x\\y',
    );
    const decoded = decodeProxySummary(encodeProxySummary(hostile));
    expect(decoded).toEqual({ ok: true, summary: hostile });
  });

  it('say what is wrong with a stored summary they cannot read', () => {
    expect(decodeProxySummary('{"i":')).toEqual({ ok: false, problem: expect.stringContaining('not JSON') });
    const bad = decodeProxySummary(JSON.stringify({ i: s1root, u: [['LAB', 'anna', 0]] }));
    expect(bad).toEqual({ ok: false, problem: expect.stringContaining('u[0][2]') });
    const noIdentity = decodeProxySummary(JSON.stringify({ u: [] }));
    expect(noIdentity).toEqual({ ok: false, problem: expect.stringContaining('i') });
  });
});

function withoutQps({ qpsHost: _, ...rest }: ReturnType<typeof server>) {
  return rest;
}
