import type { SessionEventsRecord, SiteFiguresRecord } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { type RecordLineSettings, recordLines } from '../src/record-lines.js';

const events: SessionEventsRecord = {
  v: 1,
  kind: 'session_events',
  serverName: 'sense1',
  serverDescription: 'Central',
  hostName: 'sense1.lab',
  serverTags: {},
  qpsHost: 'sense1.lab:4243',
  virtualProxy: '/',
  time: 1_700_000_000_000,
  pollIntervalMs: 30_000,
  events: [
    {
      event: 'start',
      sessionId: 's1',
      userDirectory: 'LAB',
      userId: 'anna',
      firstSeen: 1_700_000_000_000,
      lastSeen: 1_700_000_000_000,
      startKnown: true,
    },
    {
      event: 'start',
      sessionId: 's2',
      userDirectory: 'LAB',
      userId: 'svc',
      firstSeen: 1_700_000_000_000,
      lastSeen: 1_700_000_000_000,
      startKnown: true,
    },
  ],
};

const figures: SiteFiguresRecord = {
  v: 1,
  kind: 'site_figures',
  intervalStart: 1_700_000_010_000,
  intervalMs: 30_000,
  sessionLimitWarn: 4,
  site: {
    uniqueUsers: 1,
    sessionCount: 1,
    maxSessionsPerUser: 1,
    usersAtLimit: 0,
    proxiesPolled: 1,
    proxiesFailed: 0,
  },
  servers: [],
  usersAtLimit: [],
};

const settings = (more: Partial<RecordLineSettings> = {}): RecordLineSettings => ({
  version: 1,
  excludeUser: [{ directory: 'LAB', userId: 'svc' }],
  errorTracking: { influxdb: false, measurementName: 'butler_sos_errors' },
  ...more,
});

const measurements = (lines: string[]) => lines.map((l) => l.slice(0, l.indexOf(',')));

describe("the InfluxDB sink's lines for the tracker's records", () => {
  it('writes session events to user_session_events, without the blacklisted users', () => {
    const { aggregates, details } = recordLines(events, settings());
    expect(measurements(aggregates)).toEqual(['user_session_events']);
    expect(details).toEqual([]);
  });

  it("also writes them to Butler SOS's user_events with SESSION_EVENTS_AS_USER_EVENTS", () => {
    const { aggregates, details } = recordLines(events, settings({ sessionEventsAsUserEvents: true }));
    expect(measurements(aggregates)).toEqual(['user_session_events']);
    // Apart: InfluxDB refusing Butler SOS's measurement must not take user_session_events with it.
    expect(measurements(details)).toEqual(['user_events']);
  });

  it('writes site figures to user_session_site whatever error tracking says', () => {
    expect(measurements(recordLines(figures, settings()).aggregates)).toEqual(['user_session_site']);
  });
});
