import { Point } from '@influxdata/influxdb-client';
import type { PollResult } from '@qsm/model';
import { sessionIdentity } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { toLineProtocol } from './line-protocol.js';
import {
  buildSessionLines,
  type InfluxVersion,
  proxyTags,
  sessionIdHasher,
  uniqueUserList,
} from './session-lines.js';
import { tagValue } from './tag-value.js';

/**
 * The session points built one by one through the client library's Point, as the sink did before it
 * wrote lines from templates: the reference the templates must match byte for byte.
 */
function linesThroughPoint(result: PollResult, version: InfluxVersion, hashKey?: string): string[] {
  const tags = Object.entries(proxyTags(result));
  const withTags = (measurement: string) => {
    const point = new Point(measurement).timestamp(result.polledAt);
    for (const [name, value] of tags) point.tag(name, value);
    return point;
  };
  const sessions = result.sessions.map((s) => sessionIdentity(s)!);
  const n = sessions.length;
  const users = uniqueUserList(sessions);
  const count = (p: Point) =>
    version === 2 ? p.uintField('session_count', n) : p.intField('session_count', n);
  const summary = count(withTags('user_session_summary')).stringField('session_user_id_list', users);
  const list = withTags('user_session_list');
  if (version !== 1) count(list);
  list.stringField('session_user_id_list', users);
  const hash = hashKey ? sessionIdHasher(hashKey) : (id: string) => id;
  const details = sessions.map((s) =>
    withTags('user_session_details')
      .tag('user_session_id', tagValue(hash(s.sessionId)))
      .tag('user_session_user_directory', tagValue(s.directory))
      .tag('user_session_user_id', tagValue(s.userId))
      .stringField('session_id', hash(s.sessionId))
      .stringField('user_directory', s.directory)
      .stringField('user_id', s.userId),
  );
  return toLineProtocol([summary, list, ...details]);
}

const NASTY = [
  '',
  'plain',
  'a b,c=d"e\\f\ng\th\rj',
  'trailing\\',
  '😀 ünï 東京',
  '"quoted" \\ back',
  '=',
  ',',
  ' ',
  '\\',
  'x'.repeat(300),
];

const result = (serverTags: Record<string, string>, values: string[], virtualProxy = '/hdr'): PollResult => ({
  v: 1,
  kind: 'sessions',
  serverName: values[1] ?? 'sense1',
  serverDescription: values[2] ?? 'Central node',
  hostName: values[3] ?? 'sense1.lab',
  serverTags,
  qpsHost: 'sense1.lab:4243',
  virtualProxy,
  polledAt: 1_700_000_000_123,
  durationMs: 12,
  sessions: values.map((value, i) => ({
    UserDirectory: NASTY[(i * 3) % NASTY.length]!,
    UserId: value,
    SessionId: NASTY[(i * 7 + 1) % NASTY.length]! + String(i),
    Attributes: [],
  })),
});

describe('lines from templates', () => {
  const serverTagSets: Array<Record<string, string>> = [
    {},
    { server_group: 'PROD' },
    // Server tags that sort before, between and after the built-in ones, with values that need escaping.
    { aaa: 'x y', m_tag: 'a,b', zzz: 'q=r', 'key with space': 'v' },
    // Server tags named like a built-in tag or a session tag: the later tag of a name wins, as in Point.
    { host: 'overridden', user_session_id: 'from-config', user_session_virtual_proxy: '/other' },
    // Empty key and empty value are left out.
    { '': 'no key', empty: '' },
  ];

  it('are byte for byte what the client library Point writes, for every version and nasty value', () => {
    for (const serverTags of serverTagSets) {
      for (const virtualProxy of ['/', '/hdr', 'a b']) {
        const r = result(serverTags, NASTY, virtualProxy);
        for (const version of [1, 2, 3] as const) {
          expect(buildSessionLines(r, { version, excludeUser: [] })).toEqual(linesThroughPoint(r, version));
        }
        expect(
          buildSessionLines(r, {
            version: 1,
            excludeUser: [],
            sessionIdHashKey: 'a-long-secret-key-for-hmac',
          }),
        ).toEqual(linesThroughPoint(r, 1, 'a-long-secret-key-for-hmac'));
      }
    }
  });

  it('give a result without sessions its summary and list only', () => {
    const r = result({ server_group: 'PROD' }, []);
    expect(buildSessionLines(r, { version: 1, excludeUser: [] })).toEqual(linesThroughPoint(r, 1));
    expect(buildSessionLines(r, { version: 1, excludeUser: [] })).toHaveLength(2);
  });
});
