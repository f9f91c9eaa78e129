import type { SiteFiguresRecord } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { buildSiteFiguresMessage, buildSiteFiguresTopic } from './site-figures-message.js';

const START = Date.UTC(2026, 11, 4, 9, 30, 0);

const record: SiteFiguresRecord = {
  v: 1,
  kind: 'site_figures',
  intervalStart: START,
  intervalMs: 30_000,
  sessionLimitWarn: 4,
  site: {
    uniqueUsers: 3,
    sessionCount: 8,
    maxSessionsPerUser: 5,
    usersAtLimit: 1,
    proxiesPolled: 2,
    proxiesFailed: 1,
  },
  servers: [
    {
      serverName: 'sense1',
      serverDescription: 'Central',
      hostName: 'sense1.lab',
      serverTags: { site: 'HQ' },
      uniqueUsers: 3,
      sessionCount: 8,
    },
  ],
  usersAtLimit: [
    {
      userDirectory: 'LAB',
      userId: 'svc "x"',
      sessions: 5,
      proxyCount: 2,
      proxies: [
        { serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxy: '/', sessions: 3 },
        { serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxy: '/hdr', sessions: 2 },
      ],
    },
  ],
};

describe('the site figures message', () => {
  it('goes to <baseTopic>usersessionsite', () => {
    expect(buildSiteFiguresTopic('butler-sos/')).toBe('butler-sos/usersessionsite');
    expect(buildSiteFiguresTopic('a#/')).toBe('a%23/usersessionsite');
  });

  it('carries the interval, the site figures, each server and the users at the limit with their proxies', () => {
    expect(JSON.parse(buildSiteFiguresMessage(record))).toEqual({
      intervalStart: '2026-12-04T09:30:00.000Z',
      intervalMs: 30_000,
      sessionLimitWarn: 4,
      site: {
        uniqueUsers: 3,
        sessionCount: 8,
        maxSessionsPerUser: 5,
        usersAtLimit: 1,
        proxiesPolled: 2,
        proxiesFailed: 1,
      },
      usersAtLimit: [
        {
          userDirectory: 'LAB',
          userId: 'svc "x"',
          sessions: 5,
          proxyCount: 2,
          proxies: [
            { serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxy: '/', sessions: 3 },
            { serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxy: '/hdr', sessions: 2 },
          ],
        },
      ],
      servers: [
        {
          serverName: 'sense1',
          serverDescription: 'Central',
          hostName: 'sense1.lab',
          uniqueUsers: 3,
          sessionCount: 8,
        },
      ],
    });
  });
});
