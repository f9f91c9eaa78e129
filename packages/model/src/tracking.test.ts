import { describe, expect, it } from 'vitest';
import { siteFiguresRecordSchema } from './tracking.js';

const record = (userAtLimit: Record<string, unknown>) => ({
  v: 1,
  kind: 'site_figures',
  intervalStart: 60_000,
  intervalMs: 30_000,
  sessionLimitWarn: 4,
  site: {
    uniqueUsers: 1,
    sessionCount: 30,
    maxSessionsPerUser: 30,
    usersAtLimit: 1,
    proxiesPolled: 25,
    proxiesFailed: 0,
  },
  servers: [],
  usersAtLimit: [userAtLimit],
});

const place = { serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxy: '/', sessions: 6 };

describe('site figures records', () => {
  it('keep the number of places of a user at the limit apart from the places listed', () => {
    const user = { userDirectory: 'LAB', userId: 'svc', sessions: 30, proxyCount: 25, proxies: [place] };
    expect(siteFiguresRecordSchema.parse(record(user)).usersAtLimit).toEqual([user]);
  });

  it('read a record of an older release, which listed every place, with that number of places', () => {
    const user = { userDirectory: 'LAB', userId: 'svc', sessions: 12, proxies: [place, place] };
    expect(siteFiguresRecordSchema.parse(record(user)).usersAtLimit).toEqual([{ ...user, proxyCount: 2 }]);
  });

  it('refuse a user at the limit without a place counted', () => {
    const user = { userDirectory: 'LAB', userId: 'svc', sessions: 6, proxyCount: 0, proxies: [] };
    expect(siteFiguresRecordSchema.safeParse(record(user)).success).toBe(false);
  });
});
