import type { ServerIdentity } from '@qsm/model';
import { siteFiguresRecordSchema } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import {
  computeSiteFigures,
  decodeProxySummary,
  encodeProxySummary,
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
        proxies: [
          { serverName: 'sense1', qpsHost: 'sense1.corp:4243', virtualProxy: '/', sessions: 3 },
          { serverName: 'sense2', qpsHost: 'sense2.corp:4243', virtualProxy: '/', sessions: 2 },
        ],
      },
      {
        userDirectory: 'LAB',
        userId: 'anna',
        sessions: 4,
        proxies: [
          { serverName: 'sense1', qpsHost: 'sense1.corp:4243', virtualProxy: '/', sessions: 2 },
          { serverName: 'sense1', qpsHost: 'sense1.corp:4243', virtualProxy: '/hdr', sessions: 1 },
          { serverName: 'sense2', qpsHost: 'sense2.corp:4243', virtualProxy: '/', sessions: 1 },
        ],
      },
    ]);
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
