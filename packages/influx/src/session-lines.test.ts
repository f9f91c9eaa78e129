import type { PollResult } from '@qsm/model';
import { sessionIdentity } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { buildSessionLines, sessionIdHasher, uniqueUserList } from './session-lines.js';

const result = (sessions: PollResult['sessions']): PollResult => ({
  v: 1,
  kind: 'sessions',
  serverName: 'sense1',
  serverDescription: 'Central node',
  hostName: 'sense1.lab',
  serverTags: { server_group: 'PROD' },
  qpsHost: 'sense1.lab:4243',
  virtualProxy: '/hdr',
  polledAt: 1_700_000_000_123,
  durationMs: 12,
  sessions,
});

const session = (UserDirectory: string, UserId: string, SessionId: string) => ({
  UserDirectory,
  UserId,
  SessionId,
  Attributes: [],
});

const sessions = [session('LAB', 'goran', 's1'), session('LAB', 'anna', 's2'), session('LAB', 'goran', 's3')];
// The client library writes tags in sorted order, as InfluxDB prefers.
const SERVER =
  'host=sense1.lab,server_description=Central\\ node,server_group=PROD,server_name=sense1,user_session_host=sense1.lab:4243';
const TAGS = `${SERVER},user_session_virtual_proxy=/hdr`;
const details = (id: string, dir: string, user: string) =>
  `user_session_details,${SERVER},user_session_id=${id},user_session_user_directory=${dir},user_session_user_id=${user},user_session_virtual_proxy=/hdr session_id="${id}",user_directory="${dir}",user_id="${user}" 1700000000123000000`;

describe('points for InfluxDB 1.x', () => {
  it("are Butler SOS's three measurements, stamped with the poll time", () => {
    const lines = buildSessionLines(result(sessions), { version: 1, excludeUser: [] });
    expect(lines).toEqual([
      `user_session_summary,${TAGS} session_count=3i,session_user_id_list="LAB\\\\goran,LAB\\\\anna" 1700000000123000000`,
      `user_session_list,${TAGS} session_user_id_list="LAB\\\\goran,LAB\\\\anna" 1700000000123000000`,
      details('s1', 'LAB', 'goran'),
      details('s2', 'LAB', 'anna'),
      details('s3', 'LAB', 'goran'),
    ]);
  });

  it("are the same when QPS names the fields in the OpenAPI's camelCase", () => {
    const camel = sessions.map((s) => ({
      userDirectory: s.UserDirectory,
      userId: s.UserId,
      sessionId: s.SessionId,
    }));
    expect(buildSessionLines(result(camel), { version: 1, excludeUser: [] })).toEqual(
      buildSessionLines(result(sessions), { version: 1, excludeUser: [] }),
    );
  });

  it('keep the default virtual proxy as "/" (never an empty tag)', () => {
    const lines = buildSessionLines({ ...result([]), virtualProxy: '/' }, { version: 1, excludeUser: [] });
    expect(lines[0]).toContain('user_session_virtual_proxy=/ ');
    expect(lines[0]).toContain('session_count=0i,session_user_id_list=""');
  });
});

describe('the session_count field type', () => {
  const countOf = (version: 1 | 2 | 3) =>
    /session_count=(\S+?),/.exec(buildSessionLines(result(sessions), { version, excludeUser: [] })[0]!)?.[1];

  it('is an integer for v1 and v3 and unsigned for v2, as existing data has it', () => {
    expect(countOf(1)).toBe('3i');
    expect(countOf(2)).toBe('3u');
    expect(countOf(3)).toBe('3i');
  });

  it('is also in user_session_list for v2 and v3, not v1', () => {
    for (const version of [2, 3] as const) {
      expect(buildSessionLines(result(sessions), { version, excludeUser: [] })[1]).toContain(
        'session_count=3',
      );
    }
    expect(buildSessionLines(result(sessions), { version: 1, excludeUser: [] })[1]).not.toContain(
      'session_count',
    );
  });

  it('carries the server tags on every version', () => {
    for (const version of [1, 2, 3] as const) {
      for (const line of buildSessionLines(result(sessions), { version, excludeUser: [] })) {
        expect(line).toContain(SERVER);
      }
    }
  });
});

describe('the blacklist', () => {
  const points = (excludeUser: Array<{ directory: string; userId: string }>) =>
    buildSessionLines(result(sessions), { version: 1, excludeUser });

  it('removes a blacklisted user from the details, the count and the user list', () => {
    const lines = points([{ directory: 'LAB', userId: 'goran' }]);
    expect(lines[0]).toContain('session_count=1i,session_user_id_list="LAB\\\\anna"');
    expect(lines[1]).toContain('session_user_id_list="LAB\\\\anna"');
    expect(lines.filter((l) => l.startsWith('user_session_details'))).toHaveLength(1);
    expect(lines.join('\n')).not.toContain('goran');
  });

  it('needs both directory and user id to match, exactly', () => {
    expect(points([{ directory: 'OTHER', userId: 'goran' }])).toHaveLength(5);
    expect(points([{ directory: 'LAB', userId: 'Goran' }])).toHaveLength(5);
  });
});

describe('hostile identities', () => {
  const hostile = [
    session('dir with space', 'user,with=comma', 'a'),
    session('dir"quote', 'back\\slash', 'b'),
    session('LAB', 'new\nline\ttab', 'c'),
    session('', '😀 ünï', 'd'),
    session('LAB', 'trailing\\', 'e'),
  ];
  const lines = buildSessionLines(result(hostile), { version: 1, excludeUser: [] });
  const hostileDetails = lines.filter((l) => l.startsWith('user_session_details'));

  it('escape spaces, commas and equals signs in tags, and quotes and backslashes in fields', () => {
    expect(hostileDetails[0]).toContain(
      'user_session_user_directory=dir\\ with\\ space,user_session_user_id=user\\,with\\=comma',
    );
    expect(hostileDetails[0]).toContain('user_directory="dir with space",user_id="user,with=comma"');
    expect(hostileDetails[1]).toContain('user_directory="dir\\"quote",user_id="back\\\\slash"');
  });

  it('carry newlines and tabs exactly in fields, and a newline as an escape sequence in tags', () => {
    expect(hostileDetails[2]).toContain('user_session_user_id=new\\nline\ttab');
    expect(hostileDetails[2]).toContain('user_id="new\nline\ttab"');
  });

  it('write a TAB in a tag raw on InfluxDB 1.x, and as `\\t` on 2.x and 3.x', () => {
    for (const version of [2, 3] as const) {
      const v2 = buildSessionLines(result(hostile), { version, excludeUser: [] })[4]!;
      expect(v2).toContain('user_session_user_id=new\\nline\\ttab');
    }
  });

  it('leave an empty tag out but keep the point and its empty field', () => {
    expect(hostileDetails[3]).not.toContain('user_session_user_directory=');
    expect(hostileDetails[3]).toContain('user_directory=""');
    expect(hostileDetails[3]).toContain('user_id="😀 ünï"');
  });

  it('append a space to a tag that ends in a backslash, which InfluxDB refuses otherwise', () => {
    expect(hostileDetails[4]).toContain(
      'user_session_user_id=trailing\\\\ ,user_session_virtual_proxy=/hdr session_id="e"',
    );
    expect(hostileDetails[4]).toContain('user_id="trailing\\\\"');
  });

  it('make the user list from the raw values', () => {
    expect(uniqueUserList(hostile.map((s) => sessionIdentity(s)!))).toBe(
      'dir with space\\user,with=comma,dir"quote\\back\\slash,LAB\\new\nline\ttab,\\😀 ünï,LAB\\trailing\\',
    );
  });
});

describe('hashing session ids', () => {
  it('replaces the session id in tag and field by a stable keyed hash', () => {
    const key = 'a-long-secret-key-for-hmac';
    const lines = buildSessionLines(result(sessions), { version: 1, excludeUser: [], sessionIdHashKey: key });
    const hashed = sessionIdHasher(key)('s1');
    expect(hashed).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[2]).toContain(`user_session_id=${hashed},`);
    expect(lines[2]).toContain(`session_id="${hashed}"`);
    expect(lines.join('\n')).not.toMatch(/session_id="s\d"/);
    expect(sessionIdHasher('another-key-entirely-xx')('s1')).not.toBe(hashed);
  });
});
