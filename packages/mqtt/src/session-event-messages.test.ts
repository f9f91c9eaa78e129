import type { SessionEventsRecord } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { buildSessionEventMessages, buildSessionEventTopic } from './session-event-messages.js';

const T = Date.UTC(2026, 11, 4, 9, 30, 0, 123);

const record: SessionEventsRecord = {
  v: 1,
  kind: 'session_events',
  serverName: 'sense1',
  serverDescription: 'Central node',
  hostName: 'sense1.lab',
  serverTags: { site: 'HQ' },
  qpsHost: 'sense1.lab:4243',
  virtualProxy: '/hdr',
  time: T,
  pollIntervalMs: 30_000,
  events: [
    {
      event: 'start',
      sessionId: 's1',
      userDirectory: 'LAB',
      userId: 'anna',
      firstSeen: T,
      lastSeen: T,
      startKnown: false,
    },
    {
      event: 'end',
      sessionId: 's2',
      userDirectory: 'dir "q"',
      userId: 'new\nline,=😀',
      firstSeen: T - 90_000,
      lastSeen: T - 30_000,
      startKnown: true,
      reason: 'proxy_restart',
    },
  ],
};

describe('the session event topic', () => {
  it("is the session list's topic with usersessionevent, host without port, virtual proxy as is", () => {
    expect(buildSessionEventTopic('butler-sos/', 'sense1.lab:4243', '/hdr')).toBe(
      'butler-sos/sense1.lab/usersessionevent/hdr',
    );
    expect(buildSessionEventTopic('butler-sos/', 'sense1.lab:4243', '/')).toBe(
      'butler-sos/sense1.lab/usersessionevent/',
    );
    expect(buildSessionEventTopic('butler-sos/', '[fe80::1]:4243', '/a+b#')).toBe(
      'butler-sos/fe80::1/usersessionevent/a%2Bb%23',
    );
  });
});

describe('the session event messages', () => {
  it('are one JSON object per event, times in ISO 8601, duration and reason for ends only', () => {
    const messages = buildSessionEventMessages(record).map((m) => JSON.parse(m));
    expect(messages).toEqual([
      {
        event: 'start',
        serverName: 'sense1',
        qpsHost: 'sense1.lab:4243',
        virtualProxy: '/hdr',
        userDirectory: 'LAB',
        userId: 'anna',
        sessionId: 's1',
        firstSeen: '2026-12-04T09:30:00.123Z',
        lastSeen: '2026-12-04T09:30:00.123Z',
        time: '2026-12-04T09:30:00.123Z',
        startKnown: false,
        pollIntervalMs: 30_000,
      },
      {
        event: 'end',
        serverName: 'sense1',
        qpsHost: 'sense1.lab:4243',
        virtualProxy: '/hdr',
        userDirectory: 'dir "q"',
        userId: 'new\nline,=😀',
        sessionId: 's2',
        firstSeen: '2026-12-04T09:28:30.123Z',
        lastSeen: '2026-12-04T09:29:30.123Z',
        time: '2026-12-04T09:30:00.123Z',
        durationMs: 60_000,
        startKnown: true,
        reason: 'proxy_restart',
        pollIntervalMs: 30_000,
      },
    ]);
  });
});
