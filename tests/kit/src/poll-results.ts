import type { PollResult } from '@qsm/model';

/** A successful poll of server sense1 (QPS sense1.lab:4243) as a poller delivers it; fields can be replaced. */
export function samplePollResult(sessions: unknown[], fields: Partial<PollResult> = {}): PollResult {
  return {
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
    sessions: sessions as PollResult['sessions'],
    ...fields,
  };
}
