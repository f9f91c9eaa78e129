import { describe, expect, it } from 'vitest';
import { type PollResult, pollResultSchema } from './payloads.js';

const resultWith = (sessions: unknown[]): PollResult =>
  ({
    v: 1,
    kind: 'sessions',
    serverName: 'sense1',
    serverDescription: 'Central',
    hostName: 'sense1.lab',
    serverTags: {},
    qpsHost: 'sense1.lab:4243',
    virtualProxy: '/',
    polledAt: 1_700_000_000_000,
    durationMs: 12,
    sessions,
  }) as PollResult;

describe('the PollResult payload', () => {
  it('refuses a session without an identity, naming the session and the field', () => {
    const parsed = pollResultSchema.safeParse(resultWith([{ UserDirectory: 'LAB', SessionId: 's1' }]));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['sessions', 0],
      message: 'UserId must be a string, got nothing',
    });
  });
});
