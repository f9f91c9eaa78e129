import { mqttSinkJobSchema, pollResultSchema } from '@qsm/model';
import { samplePollResult } from '@qsm/testkit';
import { describe, expect, it } from 'vitest';
import { parseSessions } from './parse-sessions.js';

const resultWith = (sessions: unknown[]) => samplePollResult(sessions);

describe('a parsed session list in a PollResult', () => {
  // A session the poller took from QPS must never be refused by a sink as an invalid job: it would be lost.
  it('accepts every session list the poller accepts, and keeps it as served', () => {
    const served = [
      {
        UserDirectory: 'LAB',
        UserId: 'a',
        SessionId: 's1',
        Attributes: [{ Group: 'Sales' }],
        Extra: { x: 1 },
      },
      { userDirectory: 'LAB', userId: 'b', sessionId: 's2', userName: 'Bo', attributes: [] },
      { UserDirectory: 'LAB', UserId: 'c', SessionId: 's3', Attributes: null, UserName: null },
      { UserDirectory: 'LAB', UserId: 'd', SessionId: 's4', Attributes: ['Group=Sales', null, 3] },
    ];
    const sessions = parseSessions(JSON.stringify(served));
    for (const schema of [pollResultSchema, mqttSinkJobSchema]) {
      const parsed = schema.safeParse(JSON.parse(JSON.stringify(resultWith(sessions))));
      expect(parsed.success).toBe(true);
      expect(parsed.data?.kind === 'sessions' && parsed.data.sessions).toEqual(served);
    }
  });
});
