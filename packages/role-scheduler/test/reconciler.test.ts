import path from 'node:path';
import { type Settings, validateConfig } from '@qsm/config';
import { listSchedulers, openQueue, QUEUE, type Queue, type SchedulerPlan } from '@qsm/queues';
import { claimQueueShard, QueueShardConflict } from '@qsm/redis';
import {
  butlerConfig,
  type CapturedLogs,
  captureLogs,
  cleanupRedisPrefix,
  services,
  testCertificates,
  uniqueName,
  waitUntil,
} from '@qsm/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configuredTargets } from '../src/poll-targets.js';
import { createReconciler, describeReconcileState, reconcileSchedulers } from '../src/reconciler.js';

const prefix = uniqueName('reconciler');
let redis: Redis;
let settings: Settings;
let logs: CapturedLogs;

const EMPTY_PLAN: SchedulerPlan = { add: [], change: [], move: [], repair: [], remove: [], unchanged: 0 };

beforeAll(async () => {
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  const certs = await testCertificates('reconciler');
  const config = butlerConfig({
    certs,
    pollingInterval: 60_000,
    servers: [{ serverName: 'sense1', qpsHost: 'localhost:4243', virtualProxies: ['/', '/hdr'] }],
  });
  settings = validateConfig(config, path.join(certs.dir, 'config.yaml')).settings;
});

afterAll(async () => {
  redis?.disconnect();
  await cleanupRedisPrefix(prefix);
});

beforeEach(() => {
  logs = captureLogs('scheduler');
});

/** A reconcile that fails while `failing` says so, counting its runs and any overlap between them. */
function scripted(failing: () => boolean) {
  const runs: Array<{ settings: Settings; reason: string }> = [];
  let running = 0;
  let overlapped = false;
  const apply = async (s: Settings, reason: string) => {
    running++;
    if (running > 1) overlapped = true;
    runs.push({ settings: s, reason });
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
    if (failing()) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    return EMPTY_PLAN;
  };
  return { apply, runs, overlapped: () => overlapped };
}

describe('the reconciler', () => {
  it('has not reconciled yet before the first run', () => {
    const reconciler = createReconciler({ apply: scripted(() => false).apply, logger: logs.logger });
    expect(reconciler.state()).toEqual({ state: 'not_yet' });
    expect(describeReconcileState(reconciler.state())).toBe('not yet');
  });

  it('is ok, with the time, after a reconcile that worked', async () => {
    const reconciler = createReconciler({
      apply: scripted(() => false).apply,
      logger: logs.logger,
      now: () => 1234,
    });
    expect(await reconciler.reconcile(settings, 'start')).toEqual({ ok: true, plan: EMPTY_PLAN });
    expect(reconciler.state()).toEqual({ state: 'ok', at: 1234 });
    expect(describeReconcileState(reconciler.state())).toBe('up');
  });

  it('records a failure with its reason, logs it once, and tries again with the newest settings', async () => {
    let failing = true;
    const script = scripted(() => failing);
    const reconciler = createReconciler({ apply: script.apply, logger: logs.logger, retryMs: 20 });
    const outcome = await reconciler.reconcile(settings, 'start');
    expect(outcome.ok).toBe(false);
    expect(reconciler.state()).toMatchObject({
      state: 'failed',
      error: 'connect ECONNREFUSED 127.0.0.1:6379',
    });
    expect(describeReconcileState(reconciler.state())).toBe('failed: connect ECONNREFUSED 127.0.0.1:6379');
    const newer = { ...settings };
    await reconciler.reconcile(newer, 'config changed');
    await waitUntil(() => script.runs.length >= 4, 'two retries', { timeoutMs: 2000, intervalMs: 5 });
    expect(logs.messages('error')).toEqual(['reconciling schedulers failed; trying again every 5 s']);
    expect(script.runs.at(-1)).toEqual({ settings: newer, reason: 'retry' });
    failing = false;
    await waitUntil(() => reconciler.state().state === 'ok', 'a retry that works', {
      timeoutMs: 2000,
      intervalMs: 5,
    });
    const settled = script.runs.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(script.runs.length).toBe(settled);
    await reconciler.stop();
  });

  it('never runs two reconciles at once, and runs them in the order asked', async () => {
    const script = scripted(() => false);
    const reconciler = createReconciler({ apply: script.apply, logger: logs.logger });
    await Promise.all(['a', 'b', 'c'].map((reason) => reconciler.reconcile(settings, reason)));
    expect(script.overlapped()).toBe(false);
    expect(script.runs.map((r) => r.reason)).toEqual(['a', 'b', 'c']);
  });

  it('stops retrying once stopped', async () => {
    const script = scripted(() => true);
    const reconciler = createReconciler({ apply: script.apply, logger: logs.logger, retryMs: 20 });
    await reconciler.reconcile(settings, 'start');
    await reconciler.stop();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(script.runs).toHaveLength(1);
  });
});

describe('one reconcile against Redis', () => {
  const open = (name: string): Queue =>
    openQueue({ connection: redis, prefix: `${prefix}:${name}` }, QUEUE.poll);

  it('adds the schedulers of the config and says so', async () => {
    const pollQueue = open('start');
    const plan = await reconcileSchedulers(
      { pollQueue, logger: logs.logger, spreadMs: 0, targets: configuredTargets },
      settings,
      'start',
    );
    expect(plan.add).toHaveLength(2);
    expect(await listSchedulers(pollQueue)).toHaveLength(2);
    await pollQueue.close();
    expect(logs.messages('info')).toEqual([
      'schedulers reconciled (start): 2 added (sense1/, sense1/hdr), 0 changed, 0 removed, 0 unchanged',
    ]);
  });

  it('says nothing above debug when a check finds everything in place', async () => {
    const pollQueue = open('quiet');
    const deps = { pollQueue, logger: logs.logger, spreadMs: 0, targets: configuredTargets };
    await reconcileSchedulers(deps, settings, 'start');
    logs.clear();
    const plan = await reconcileSchedulers(deps, settings, 'periodic check');
    await pollQueue.close();
    expect(plan.unchanged).toBe(2);
    expect(logs.messages('info')).toEqual([]);
    expect(logs.messages('debug')).toEqual(['schedulers checked (periodic check): all 2 in place']);
  });

  it('warns when a check finds schedulers missing from Redis, and sets them up again', async () => {
    const pollQueue = open('lost');
    const deps = { pollQueue, logger: logs.logger, spreadMs: 0, targets: configuredTargets };
    await reconcileSchedulers(deps, settings, 'start');
    await pollQueue.removeJobScheduler('poll|sense1|%2Fhdr');
    logs.clear();
    const plan = await reconcileSchedulers(deps, settings, 'redis reconnected');
    expect(await listSchedulers(pollQueue)).toHaveLength(2);
    await pollQueue.close();
    expect(plan.add.map((s) => s.id)).toEqual(['poll|sense1|%2Fhdr']);
    expect(logs.messages('warn')).toEqual([
      '1 of 2 job schedulers were missing from Redis (Redis restarted without persistence, flushed, or failed over?); set up again: 1 added (sense1/hdr), 0 changed, 0 removed, 1 unchanged',
    ]);
  });

  it('tells the tracker of the proxies it removes, before removing their schedulers', async () => {
    const pollQueue = open('retire');
    const retired: Array<{ ids: string[]; schedulersLeft: number }> = [];
    const deps = {
      pollQueue,
      logger: logs.logger,
      spreadMs: 0,
      targets: configuredTargets,
      async retire(ids: string[]) {
        retired.push({ ids, schedulersLeft: (await listSchedulers(pollQueue)).length });
      },
    };
    await reconcileSchedulers(deps, settings, 'start');
    expect(retired).toEqual([]);
    const fewer = {
      ...settings,
      serversToMonitor: {
        ...settings.serversToMonitor,
        servers: settings.serversToMonitor.servers.map((server) => ({
          ...server,
          userSessions: { ...server.userSessions, virtualProxies: ['/'] },
        })),
      },
    };
    await reconcileSchedulers(deps, fewer, 'config changed');
    expect(await listSchedulers(pollQueue)).toHaveLength(1);
    await pollQueue.close();
    expect(retired).toEqual([{ ids: ['poll|sense1|%2Fhdr'], schedulersLeft: 2 }]);
  });

  it('logs a config change as a reconcile, not as a loss', async () => {
    const pollQueue = open('changed');
    const deps = { pollQueue, logger: logs.logger, spreadMs: 0, targets: configuredTargets };
    await reconcileSchedulers(deps, settings, 'start');
    logs.clear();
    const faster = { ...settings, userSessions: { ...settings.userSessions, pollingInterval: 30_000 } };
    const plan = await reconcileSchedulers(deps, faster, 'config changed');
    await pollQueue.close();
    expect(plan.change).toHaveLength(2);
    expect(logs.messages('warn')).toEqual([]);
    expect(logs.messages('info')).toEqual([
      'schedulers reconciled (config changed): 0 added, 2 changed (sense1/, sense1/hdr), 0 removed, 0 unchanged',
    ]);
  });

  it("leaves another queue shard's schedulers alone: the shard check comes before any change", async () => {
    const shardPrefix = `${prefix}:shared`;
    const pollQueue = openQueue({ connection: redis, prefix: shardPrefix }, QUEUE.poll);
    const first = { pollQueue, logger: logs.logger, spreadMs: 0, targets: configuredTargets };
    await claimQueueShard(redis, shardPrefix, '1/2');
    await reconcileSchedulers(
      { ...first, guard: () => claimQueueShard(redis, shardPrefix, '1/2') },
      settings,
      'start',
    );
    const nothing = { ...settings, serversToMonitor: { ...settings.serversToMonitor, servers: [] } };
    await expect(
      reconcileSchedulers(
        { ...first, guard: () => claimQueueShard(redis, shardPrefix, '2/2') },
        nothing,
        'start',
      ),
    ).rejects.toThrow(QueueShardConflict);
    expect(await listSchedulers(pollQueue)).toHaveLength(2);
    await pollQueue.close();
  });
});
