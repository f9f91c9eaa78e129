import type { SiteFiguresRecord } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { buildSiteFigureLines } from './site-figure-lines.js';

const START = 1_700_000_040_000;

const record: SiteFiguresRecord = {
  v: 1,
  kind: 'site_figures',
  intervalStart: START,
  intervalMs: 30_000,
  sessionLimitWarn: 4,
  site: {
    uniqueUsers: 12,
    sessionCount: 20,
    maxSessionsPerUser: 5,
    usersAtLimit: 1,
    proxiesPolled: 4,
    proxiesFailed: 1,
  },
  servers: [
    {
      serverName: 'sense1',
      serverDescription: 'Central node',
      hostName: 'sense1.lab',
      serverTags: { server_group: 'PROD' },
      uniqueUsers: 9,
      sessionCount: 14,
    },
    {
      serverName: 'rim, "2"',
      serverDescription: 'a=b\nc',
      hostName: 'rim2.lab',
      serverTags: { scope: 'hijack' },
      uniqueUsers: 4,
      sessionCount: 6,
    },
  ],
  usersAtLimit: [
    {
      userDirectory: 'LAB',
      userId: 'svc',
      sessions: 5,
      proxyCount: 1,
      proxies: [{ serverName: 'sense1', qpsHost: 'sense1.lab:4243', virtualProxy: '/', sessions: 5 }],
    },
  ],
};

describe('user_session_site points', () => {
  it('are one site point with every figure and one point per server, at the interval start', () => {
    for (const version of [1, 2, 3] as const) {
      expect(buildSiteFigureLines(record, version)).toEqual([
        `user_session_site,scope=site max_sessions_per_user=5i,proxies_failed=1i,proxies_polled=4i,session_count=20i,unique_users=12i,users_at_limit=1i ${START}000000`,
        `user_session_site,host=sense1.lab,scope=server,server_description=Central\\ node,server_group=PROD,server_name=sense1 session_count=14i,unique_users=9i ${START}000000`,
        `user_session_site,host=rim2.lab,scope=server,server_description=a\\=b\\nc,server_name=rim\\,\\ "2" session_count=6i,unique_users=4i ${START}000000`,
      ]);
    }
  });

  it('are the site point alone when no server reported', () => {
    expect(buildSiteFigureLines({ ...record, servers: [] }, 1)).toHaveLength(1);
  });
});
