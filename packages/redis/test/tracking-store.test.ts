import { cleanupRedisPrefix, services, uniqueName } from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrackingStore, type TrackedIdentity, type TrackOutcome } from '../src/index.js';

const prefix = uniqueName('track-store');
let connection: Redis;

beforeAll(() => {
  connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  connection.disconnect();
  await cleanupRedisPrefix(prefix);
});

const identity = { serverName: 'sense1', virtualProxy: '/' };
const session = (id: string, userId = `u${id}`, userDirectory = 'CORP'): TrackedIdentity => ({
  sessionId: id,
  userDirectory,
  userId,
});

interface Events {
  identity: unknown;
  time: number;
  intervalMs: number;
  events: Array<Record<string, unknown>>;
}
const events = (outcome: TrackOutcome): Events | undefined =>
  outcome.outcome === 'older' || !outcome.outbox ? undefined : (JSON.parse(outcome.outbox) as Events);

function proxy(targetId: string) {
  const store = createTrackingStore(connection, prefix);
  return {
    store,
    apply: (polledAt: number, sessions: TrackedIdentity[]) =>
      store.apply({
        targetId,
        outboxId: `${targetId}|${polledAt}`,
        polledAt,
        identityJson: JSON.stringify(identity),
        intervalMs: 1000,
        sessions,
      }),
    retire: (retiredAt: number) =>
      store.retire({ targetId, outboxId: `${targetId}|retire${retiredAt}`, retiredAt }),
  };
}

describe('the tracking store', () => {
  it('starts the sessions of the first poll with startKnown=false, later ones with true, and ends the gone ones', async () => {
    const p = proxy('a');
    const first = events(await p.apply(1000, [session('s1'), session('s2')]));
    expect(first?.identity).toEqual(identity);
    expect(first?.time).toBe(1000);
    expect(first?.events).toEqual([
      {
        event: 'start',
        sessionId: 's1',
        userDirectory: 'CORP',
        userId: 'us1',
        firstSeen: 1000,
        lastSeen: 1000,
        startKnown: false,
      },
      {
        event: 'start',
        sessionId: 's2',
        userDirectory: 'CORP',
        userId: 'us2',
        firstSeen: 1000,
        lastSeen: 1000,
        startKnown: false,
      },
    ]);
    expect(await p.apply(2000, [session('s1'), session('s2')])).toEqual({
      outcome: 'applied',
      outbox: undefined,
    });
    const third = events(await p.apply(3000, [session('s2'), session('s3')]));
    expect(third?.events).toEqual([
      {
        event: 'start',
        sessionId: 's3',
        userDirectory: 'CORP',
        userId: 'us3',
        firstSeen: 3000,
        lastSeen: 3000,
        startKnown: true,
      },
      {
        event: 'end',
        sessionId: 's1',
        userDirectory: 'CORP',
        userId: 'us1',
        firstSeen: 1000,
        lastSeen: 2000,
        startKnown: false,
        reason: 'gone',
      },
    ]);
  });

  it('changes nothing for an older result, and gives a retry of the same poll its outbox until cleared', async () => {
    const p = proxy('b');
    await p.apply(1000, [session('s1')]);
    await p.store.clearOutbox('b|1000');
    const applied = await p.apply(3000, [session('s2')]);
    expect(await p.apply(2000, [])).toEqual({ outcome: 'older' });
    expect(await p.apply(1000, [])).toEqual({ outcome: 'older' });
    const retry = await p.apply(3000, [session('s2')]);
    expect(retry).toEqual({ ...applied, outcome: 'retry' });
    // Still undelivered when a newer result was applied (its tracker died before delivering): still there.
    await p.apply(3500, [session('s2')]);
    expect(await p.apply(3000, [session('s2')])).toEqual({ ...applied, outcome: 'retry' });
    await p.store.clearOutbox('b|3000');
    expect(await p.apply(3500, [session('s2')])).toEqual({ outcome: 'retry', outbox: undefined });
    expect(await p.apply(3000, [session('s2')])).toEqual({ outcome: 'older' });
    // The older result did not end s2.
    expect(events(await p.apply(4000, []))?.events.map((e) => [e.event, e.sessionId, e.reason])).toEqual([
      ['end', 's2', 'gone'],
    ]);
  });

  it('ends every session with proxy_restart when all of at least 3 disappear at once', async () => {
    const p = proxy('c');
    await p.apply(1000, [session('1'), session('2'), session('3')]);
    const restart = events(await p.apply(2000, [session('4')]));
    expect(restart?.events.map((e) => [e.event, e.sessionId, e.reason ?? ''])).toEqual([
      ['start', '4', ''],
      ['end', '1', 'proxy_restart'],
      ['end', '2', 'proxy_restart'],
      ['end', '3', 'proxy_restart'],
    ]);
    await p.apply(3000, [session('4'), session('5')]);
    // Two of three gone, one kept: gone.
    const q = proxy('c2');
    await q.apply(1000, [session('1'), session('2'), session('3')]);
    expect((events(await q.apply(2000, [session('3')]))?.events ?? []).map((e) => e.reason)).toEqual([
      'gone',
      'gone',
    ]);
    // Fewer than 3: gone.
    expect((events(await q.apply(3000, []))?.events ?? []).map((e) => e.reason)).toEqual(['gone']);
  });

  it('retires a proxy: not_monitored ends at the retirement, state deleted, earlier results kept out', async () => {
    const p = proxy('d');
    await p.apply(1000, [session('s1'), session('s2')]);
    await p.apply(2000, [session('s1'), session('s2')]);
    const retired = await p.retire(2500);
    expect(events(retired)?.time).toBe(2500);
    expect(events(retired)?.identity).toEqual(identity);
    expect(events(retired)?.events.map((e) => [e.sessionId, e.lastSeen, e.reason])).toEqual([
      ['s1', 2000, 'not_monitored'],
      ['s2', 2000, 'not_monitored'],
    ]);
    // A retried retirement finds its outbox, then nothing once it is cleared.
    expect(await p.retire(2500)).toEqual({ ...retired, outcome: 'retry' });
    await p.store.clearOutbox('d|retire2500');
    expect(await p.retire(2500)).toEqual({ outcome: 'applied', outbox: undefined });
    expect(await connection.exists(`${prefix}:qsm:track:state:d`, `${prefix}:qsm:track:meta:d`)).toBe(0);
    expect(await p.apply(2400, [session('s1')])).toEqual({ outcome: 'older' });
    // A poll under way when the proxy was removed (within an interval of it) is kept out too.
    expect(await p.apply(3500, [session('s1')])).toEqual({ outcome: 'older' });
    // Polled again later (the proxy is back): a first poll.
    const back = events(await p.apply(5000, [session('s1')]));
    expect(back?.events.map((e) => [e.event, e.startKnown])).toEqual([['start', false]]);
  });

  it('keeps hostile identities intact', async () => {
    const p = proxy('e');
    const odd = [
      session('a|b|3|c', 'user|with|bars', 'DIR\\with\\backslash'),
      session('ünïcødé "quoted" \n newline', '', ''),
      session('{"json":true}', 'x'.repeat(300), '12|'),
    ];
    const started = events(await p.apply(1000, odd));
    expect(started?.events.map((e) => [e.sessionId, e.userDirectory, e.userId])).toEqual(
      odd.map((s) => [s.sessionId, s.userDirectory, s.userId]),
    );
    const ended = events(await p.apply(2000, []));
    // Ends come in the hash's order.
    const byId = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(ended?.events.map((e) => [e.sessionId, e.userDirectory, e.userId]).sort(byId)).toEqual(
      odd.map((s) => [s.sessionId, s.userDirectory, s.userId]).sort(byId),
    );
  });

  it('keeps an open session in at most 200 bytes of Redis', async () => {
    const p = proxy('f');
    const count = 2000;
    const sessions = Array.from({ length: count }, (_, i) =>
      session(`${i.toString(16).padStart(8, '0')}-1c2d-4e5f-8a9b-0c1d2e3f4a5b`, `user${i}`, 'CORPDOMAIN'),
    );
    await p.apply(1_733_000_000_000, sessions);
    const bytes = Number(await connection.memory('USAGE', `${prefix}:qsm:track:state:f`, 'SAMPLES', '0'));
    expect(bytes / count).toBeGreaterThan(50);
    expect(bytes / count).toBeLessThanOrEqual(200);
  });
});
