import type { CertificateSet } from '@qsm/dev-certs';
import { QUEUE } from '@qsm/queues';
import {
  cleanupRedisPrefix,
  sleep,
  startApp,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { afterAll, describe, expect } from 'vitest';
import { queueCounts } from './support/queue-state.js';
import { scenario } from './support/report.js';
import { type DeliveredEvent, deliveredEvents } from './support/session-events.js';

const prefix = uniqueName('rel_tracker_kill');

afterAll(async () => {
  await stopAll();
  await cleanupRedisPrefix(prefix);
});

describe('trackers killed in the middle of work', () => {
  scenario('3b', 'A tracker killed with SIGKILL mid-work, sessions coming and going', async (r) => {
    const certs: CertificateSet = await testCertificates('rel-tracker-kill');
    const proxies = ['/', '/a', '/b', '/c'];
    // Churn on request only: the test steps it, then stops it, so that the last polls see the final lists.
    const sim = await startSimulator(certs, [
      '--servers',
      '1',
      '--prefixes',
      proxies.join(','),
      '--sessions',
      '8',
      '--churn',
      '0.25',
      '--churn-interval',
      '0',
    ]);
    const configFile = writeButlerConfig(tempDir('rel-tracker-kill'), {
      certs,
      pollingInterval: 1000,
      servers: [{ serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: proxies }],
      // The trackers deliver to both sink queues; no sink runs, the events wait there to be counted.
      influx: { db: `unused_${prefix}` },
      mqtt: { baseTopic: `qsm-test/${prefix}/` },
    });
    const env = { WORKER_LOCK_DURATION_MS: '2000' };
    const trackers = [
      await startApp('tracker', { configFile, prefix, env, name: 'tracker-1' }),
      await startApp('tracker', { configFile, prefix, env, name: 'tracker-2' }),
    ];
    await startApp('poller', { configFile, prefix, env });
    const scheduler = await startApp('scheduler', { configFile, prefix, env });
    let churning = true;
    const churn = (async () => {
      while (churning) {
        await sim.step();
        await sleep(700);
      }
    })();
    r.did(
      'polled 4 proxies every second, a quarter of their 8 sessions replaced every 0.7 s, 2 trackers (lock 2 s)',
    );
    await sleep(4000);
    await waitUntil(async () => (await queueCounts(prefix, QUEUE.track)).active > 0, 'track jobs in hand', {
      intervalMs: 5,
    });
    trackers[0]!.child.kill('SIGKILL');
    r.did('killed tracker-1 with SIGKILL while track jobs were in hand');
    await sleep(2000);
    await startApp('tracker', { configFile, prefix, env, name: 'tracker-3' });
    await sleep(4000);
    churning = false;
    await churn;
    r.did('started tracker-3 after 2 s, churned 4 s more, then stopped the churn');
    // Three more polls of the final lists, then no more polls; the trackers finish what is queued.
    await sleep(3000);
    await scheduler.stop();
    await sleep(1500);
    await waitUntil(
      async () => {
        const counts = await queueCounts(prefix, QUEUE.track);
        return counts.waiting + counts.active === 0;
      },
      'session-track worked off',
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const events = await deliveredEvents(prefix);
    const key = (e: DeliveredEvent) => `${e.virtualProxy} ${e.sessionId}`;
    const startsBy = new Map<string, DeliveredEvent[]>();
    const endsBy = new Map<string, DeliveredEvent[]>();
    for (const e of events) {
      const into = e.event === 'start' ? startsBy : endsBy;
      into.set(key(e), [...(into.get(key(e)) ?? []), e]);
    }
    const doubled = [...startsBy.values(), ...endsBy.values()].filter((list) => list.length > 1);
    r.count('session starts delivered', [...startsBy.values()].length);
    r.count('session ends delivered', [...endsBy.values()].length);
    r.count('events delivered twice', doubled.length);
    expect(doubled).toEqual([]);
    // Every end has its start, with that start's time as first_seen.
    const orphans = [...endsBy.entries()].filter(
      ([k, [end]]) => startsBy.get(k)?.[0]?.time !== end!.firstSeen,
    );
    r.count('ends without their start', orphans.length);
    expect(orphans).toEqual([]);
    // What is open (started, not ended) is exactly what QPS lists now: nothing lost.
    let mismatched = 0;
    for (const vp of proxies) {
      const listed = (await sim.sessions('sense1', vp)).map((s) => `${vp} ${s.SessionId}`).sort();
      const open = [...startsBy.keys()].filter((k) => k.startsWith(`${vp} `) && !endsBy.has(k)).sort();
      if (listed.join('\n') !== open.join('\n')) mismatched++;
      expect(open).toEqual(listed);
    }
    r.count('proxies whose open sessions differ from QPS', mismatched);
    expect(events.filter((e) => e.event === 'end').length).toBeGreaterThan(20);
  });
});
