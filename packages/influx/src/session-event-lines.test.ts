import type { SessionEvent, SessionEventsRecord } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { buildSessionEventLines } from './session-event-lines.js';
import { sessionIdHasher } from './session-lines.js';

const T = 1_700_000_000_123;

const record = (events: SessionEvent[]): SessionEventsRecord => ({
  v: 1,
  kind: 'session_events',
  serverName: 'sense1',
  serverDescription: 'Central node',
  hostName: 'sense1.lab',
  serverTags: { server_group: 'PROD' },
  qpsHost: 'sense1.lab:4243',
  virtualProxy: '/hdr',
  time: T,
  pollIntervalMs: 30_000,
  events,
});

const start = (userDirectory: string, userId: string, sessionId: string): SessionEvent => ({
  event: 'start',
  sessionId,
  userDirectory,
  userId,
  firstSeen: T,
  lastSeen: T,
  startKnown: true,
});

const end = (userDirectory: string, userId: string, sessionId: string): SessionEvent => ({
  event: 'end',
  sessionId,
  userDirectory,
  userId,
  firstSeen: T - 600_000,
  lastSeen: T - 30_000,
  startKnown: false,
  reason: 'gone',
});

const SERVER =
  'host=sense1.lab,server_description=Central\\ node,server_group=PROD,server_name=sense1,user_session_host=sense1.lab:4243';

describe('user_session_events points', () => {
  it('carry the server tags, who and which event as tags, and the times as integer fields', () => {
    const lines = buildSessionEventLines(record([start('LAB', 'anna', 's1'), end('LAB', 'goran', 's2')]), {
      version: 1,
      excludeUser: [],
    });
    expect(lines).toEqual([
      `user_session_events,event=start,${SERVER},user_session_user_directory=LAB,user_session_user_id=anna,user_session_virtual_proxy=/hdr first_seen_ms=${T}i,last_seen_ms=${T}i,session_id="s1",start_known=true,user_directory="LAB",user_id="anna" ${T}000000`,
      `user_session_events,event=end,${SERVER},user_session_user_directory=LAB,user_session_user_id=goran,user_session_virtual_proxy=/hdr duration_ms=570000i,first_seen_ms=${T - 600_000}i,last_seen_ms=${T - 30_000}i,reason="gone",session_id="s2",start_known=false,user_directory="LAB",user_id="goran" ${T}000001`,
    ]);
  });

  it('are the same on every version, integers included', () => {
    const events = record([end('LAB', 'goran', 's2')]);
    const v1 = buildSessionEventLines(events, { version: 1, excludeUser: [] });
    for (const version of [2, 3] as const) {
      expect(buildSessionEventLines(events, { version, excludeUser: [] })).toEqual(v1);
    }
  });

  it("give a user's two sessions starting in one poll two timestamps within the poll's millisecond", () => {
    const lines = buildSessionEventLines(
      record([start('LAB', 'anna', 's1'), start('LAB', 'anna', 's2'), start('LAB', 'anna', 's3')]),
      { version: 1, excludeUser: [] },
    );
    const times = lines.map((l) => l.slice(l.lastIndexOf(' ') + 1));
    expect(times).toEqual([`${T}000000`, `${T}000001`, `${T}000002`]);
    // Everything but the session id and the time is the same: only the time keeps them apart.
    const tagSets = new Set(lines.map((l) => l.slice(0, l.indexOf(' first_seen_ms'))));
    expect(tagSets.size).toBe(1);
  });

  it("keep each event's offset when a blacklisted user's event before it is left out", () => {
    const lines = buildSessionEventLines(
      record([start('LAB', 'sa_scheduler', 's0'), start('LAB', 'anna', 's1')]),
      { version: 1, excludeUser: [{ directory: 'LAB', userId: 'sa_scheduler' }] },
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`user_id="anna" ${T}000001$`));
    expect(lines.join('\n')).not.toContain('sa_scheduler');
  });

  it('leave out the events of excluded users only when directory and user id both match', () => {
    const events = record([start('LAB', 'anna', 's1'), end('LAB', 'goran', 's2')]);
    const only = (excludeUser: Array<{ directory: string; userId: string }>) =>
      buildSessionEventLines(events, { version: 1, excludeUser });
    expect(only([{ directory: 'LAB', userId: 'goran' }])).toHaveLength(1);
    expect(only([{ directory: 'OTHER', userId: 'goran' }])).toHaveLength(2);
    expect(only([{ directory: 'LAB', userId: 'Goran' }])).toHaveLength(2);
  });

  it('hash the session id when a key is set', () => {
    const key = 'a-long-secret-key-for-hmac';
    const [line] = buildSessionEventLines(record([start('LAB', 'anna', 'cookie-1')]), {
      version: 1,
      excludeUser: [],
      sessionIdHashKey: key,
    });
    expect(line).toContain(`session_id="${sessionIdHasher(key)('cookie-1')}"`);
    expect(line).not.toContain('cookie-1');
  });

  it('keep the default virtual proxy as "/"', () => {
    const [line] = buildSessionEventLines(
      { ...record([start('LAB', 'anna', 's1')]), virtualProxy: '/' },
      { version: 1, excludeUser: [] },
    );
    expect(line).toContain(',user_session_virtual_proxy=/ ');
  });
});

describe('user_session_events with hostile identities', () => {
  const hostile = [
    start('dir with space', 'user,with=comma', 'a'),
    start('dir"quote', 'back\\slash', 'b'),
    start('LAB', 'new\nline\ttab\rcr', 'c'),
    start('', '😀 ünï', 'd'),
    start('LAB', 'trailing\\', 'e'),
  ];
  const lines = (version: 1 | 2 | 3) => buildSessionEventLines(record(hostile), { version, excludeUser: [] });

  it('escape spaces, commas and equals signs in tags, and quotes and backslashes in fields', () => {
    const [comma, quote] = lines(1);
    expect(comma).toContain(
      'user_session_user_directory=dir\\ with\\ space,user_session_user_id=user\\,with\\=comma,',
    );
    expect(comma).toContain('user_directory="dir with space",user_id="user,with=comma"');
    expect(quote).toContain('user_session_user_directory=dir"quote,user_session_user_id=back\\slash,');
    expect(quote).toContain('user_directory="dir\\"quote",user_id="back\\\\slash"');
  });

  it('write a newline as an escape in tags and exactly in fields; a TAB raw on 1.x, escaped on 2.x and 3.x', () => {
    expect(lines(1)[2]).toContain('user_session_user_id=new\\nline\ttab\\rcr,');
    expect(lines(1)[2]).toContain('user_id="new\nline\ttab\rcr"');
    for (const version of [2, 3] as const) {
      expect(lines(version)[2]).toContain('user_session_user_id=new\\nline\\ttab\\rcr,');
    }
  });

  it('leave an empty tag out, keep unicode, and append a space to a tag ending in a backslash', () => {
    expect(lines(1)[3]).not.toContain('user_session_user_directory=');
    expect(lines(1)[3]).toContain('user_session_user_id=😀\\ ünï,');
    expect(lines(1)[3]).toContain('user_directory="",user_id="😀 ünï"');
    expect(lines(1)[4]).toContain('user_session_user_id=trailing\\\\ ,');
    expect(lines(1)[4]).toContain('user_id="trailing\\\\"');
  });
});
