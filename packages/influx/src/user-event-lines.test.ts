import type { SessionEvent, SessionEventsRecord } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { buildUserEventLines } from './user-event-lines.js';

const T = 1_700_000_000_123;

const record = (
  events: SessionEvent[],
  serverTags: Record<string, string> = { site: 'HQ' },
): SessionEventsRecord => ({
  v: 1,
  kind: 'session_events',
  serverName: 'sense1',
  serverDescription: 'Central node',
  hostName: 'sense1.lab',
  serverTags,
  qpsHost: 'sense1.lab:4243',
  virtualProxy: '/hdr',
  time: T,
  pollIntervalMs: 30_000,
  events,
});

const event = (kind: 'start' | 'end', userDirectory: string, userId: string): SessionEvent => ({
  event: kind,
  sessionId: `${userId}-session`,
  userDirectory,
  userId,
  firstSeen: T - 60_000,
  lastSeen: kind === 'start' ? T - 60_000 : T - 30_000,
  startKnown: true,
  ...(kind === 'end' ? { reason: 'gone' as const } : {}),
});

describe("Butler SOS's user_events points", () => {
  it('are shaped as Butler SOS writes them, with origin session-poll and the custom tags', () => {
    const lines = buildUserEventLines(record([event('start', 'LAB', 'anna'), event('end', 'LAB', 'goran')]), {
      version: 1,
      excludeUser: [],
    });
    expect(lines).toEqual([
      `user_events,event_action=Start\\ session,host=sense1.lab,origin=session-poll,site=HQ,userDirectory=LAB,userFull=LAB\\anna,userId=anna userFull="LAB\\\\anna",userId="anna" ${T}000000`,
      `user_events,event_action=Stop\\ session,host=sense1.lab,origin=session-poll,site=HQ,userDirectory=LAB,userFull=LAB\\goran,userId=goran userFull="LAB\\\\goran",userId="goran" ${T}000001`,
    ]);
  });

  it('keep their own tags when a custom tag has the same name', () => {
    const [line] = buildUserEventLines(
      record([event('start', 'LAB', 'anna')], { host: 'other', origin: 'x' }),
      {
        version: 2,
        excludeUser: [],
      },
    );
    expect(line).toContain(',host=sense1.lab,origin=session-poll,');
    expect(line).not.toContain('other');
  });

  it('leave out excluded users', () => {
    const lines = buildUserEventLines(record([event('start', 'LAB', 'anna'), event('start', 'LAB', 'svc')]), {
      version: 1,
      excludeUser: [{ directory: 'LAB', userId: 'svc' }],
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`userId="anna" ${T}000000$`));
  });

  it('escape hostile identities in tags and fields', () => {
    const lines = buildUserEventLines(
      record([
        event('start', 'dir with space', 'user,with=comma'),
        event('start', 'd"q', 'new\nline\\'),
        event('start', 'LAB', '😀 ünï'),
      ]),
      { version: 3, excludeUser: [] },
    );
    expect(lines[0]).toContain(
      'userDirectory=dir\\ with\\ space,userFull=dir\\ with\\ space\\user\\,with\\=comma,userId=user\\,with\\=comma ',
    );
    expect(lines[0]).toContain('userFull="dir with space\\\\user,with=comma",userId="user,with=comma"');
    expect(lines[1]).toContain('userDirectory=d"q,userFull=d"q\\new\\nline\\\\ ,userId=new\\nline\\\\ ');
    expect(lines[1]).toContain('userFull="d\\"q\\\\new\nline\\\\",userId="new\nline\\\\"');
    expect(lines[2]).toContain('userId=😀\\ ünï userFull="LAB\\\\😀 ünï",userId="😀 ünï"');
  });
});
