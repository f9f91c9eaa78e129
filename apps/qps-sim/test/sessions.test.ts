import type { CertificateSet } from '@qsm/dev-certs';
import { type Simulator, startSimulator, testCertificates } from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOverTls } from './tls-get.js';

let certs: CertificateSet;
let sim: Simulator;

const KEY = 'Ab3dEf6hIj9lMn0p';

/** What QPS serves for `prefix` on sense1 right now, read over mutual TLS like a poller does. */
async function served(prefix: string): Promise<Array<Record<string, unknown>>> {
  const segment = prefix === '/' ? '' : prefix;
  const answer = await getOverTls(
    `https://${sim.qpsHost('sense1')}/qps${segment}/session?Xrfkey=${KEY}`,
    certs,
    {
      headers: { 'X-Qlik-Xrfkey': KEY },
    },
  );
  if (answer.status !== 200) throw new Error(`QPS answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body) as Array<Record<string, unknown>>;
}

const ids = (sessions: ReadonlyArray<{ SessionId?: unknown }>) => sessions.map((s) => s.SessionId);
const session = (SessionId: string, UserId = 'alice') => ({
  UserDirectory: 'LAB',
  UserId,
  SessionId,
  Attributes: [],
});

beforeAll(async () => {
  certs = await testCertificates('sim-sessions');
  sim = await startSimulator(certs, [
    '--servers',
    '1',
    '--prefixes',
    '/,/hdr,/restart',
    '--sessions',
    '4',
    '--users',
    '2',
    '--churn',
    '0',
  ]);
});

afterAll(async () => {
  await sim?.stop();
});

describe('starting and ending sessions in the QPS simulator', () => {
  it('appends started sessions to what the proxy serves', async () => {
    await sim.setSessions('sense1', '/hdr', [session('a')]);
    await sim.startSessions('sense1', '/hdr', [session('b', 'bob'), { sessionId: 'c', userId: null }]);
    expect(await served('/hdr')).toEqual([
      session('a'),
      session('b', 'bob'),
      { sessionId: 'c', userId: null },
    ]);
  });

  it('answers 409 and changes nothing when a started SessionId is there already', async () => {
    await sim.setSessions('sense1', '/hdr', [session('a')]);
    await expect(sim.startSessions('sense1', '/hdr', [session('b'), session('a')])).rejects.toThrow(
      /: 409 .*session a already/,
    );
    await expect(sim.startSessions('sense1', '/hdr', [session('b'), session('b')])).rejects.toThrow(/: 409 /);
    expect(ids(await served('/hdr'))).toEqual(['a']);
  });

  it('answers 400 for a body that is not a list of sessions', async () => {
    await expect(sim.startSessions('sense1', '/hdr', 'a' as never)).rejects.toThrow(/: 400 /);
  });

  it('stops serving an ended session, its id percent-encoded', async () => {
    const odd = 'id/with %2F, "quotes" and ü';
    await sim.setSessions('sense1', '/hdr', [session('a'), session(odd), session('c')]);
    await sim.endSession('sense1', '/hdr', odd);
    expect(ids(await served('/hdr'))).toEqual(['a', 'c']);
    await sim.endSession('sense1', '/hdr', 'a');
    expect(ids(await served('/hdr'))).toEqual(['c']);
  });

  it('answers 404 when the ended session or the proxy is not there', async () => {
    await sim.setSessions('sense1', '/hdr', [session('a')]);
    await expect(sim.endSession('sense1', '/hdr', 'b')).rejects.toThrow(/: 404 .*no session b/);
    await expect(sim.endSession('sense1', '/sales', 'a')).rejects.toThrow(/: 404 /);
    await expect(sim.startSessions('sense1', '/sales', [session('a')])).rejects.toThrow(/: 404 /);
    expect(ids(await served('/hdr'))).toEqual(['a']);
  });
});

describe('restarting a proxy in the QPS simulator', () => {
  it('replaces every session by as many new ones, with new ids and the proxy’s users', async () => {
    const before = await served('/restart');
    expect(before).toHaveLength(4);
    const started = await sim.restartProxy('sense1', '/restart');
    expect(await served('/restart')).toEqual(started);
    expect(started).toHaveLength(4);
    const startedIds = ids(started);
    expect(new Set(startedIds).size).toBe(4);
    for (const id of startedIds) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(ids(before)).not.toContain(id);
    }
  });

  it('starts the given number of new sessions, none at all included', async () => {
    const started = await sim.restartProxy('sense1', '/restart', { sessions: 30 });
    expect(await served('/restart')).toEqual(started);
    expect(started).toHaveLength(30);
    // --users 2: every new session belongs to one of the proxy's two users.
    expect(new Set(started.map((s) => s.UserId))).toEqual(new Set(['user0001', 'user0002']));
    expect(await sim.restartProxy('sense1', '/restart', { sessions: 0 })).toEqual([]);
    expect(await served('/restart')).toEqual([]);
    await sim.restartProxy('sense1', '/restart', { sessions: 3 });
    expect(await served('/restart')).toHaveLength(3);
  });

  it('answers 400 for a bad session count and 404 for an unknown proxy', async () => {
    await expect(sim.restartProxy('sense1', '/restart', { sessions: -1 })).rejects.toThrow(/: 400 /);
    await expect(sim.restartProxy('sense1', '/sales')).rejects.toThrow(/: 404 /);
  });
});
