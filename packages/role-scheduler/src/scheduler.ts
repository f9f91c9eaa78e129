import { formatQueueShard, type SchedulerEnv, type Settings, type TrackingEnv } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import {
  type DiscoveredPollTarget,
  PAYLOAD_VERSION,
  type RepositoryTopology,
  type TrackRetireJob,
} from '@qsm/model';
import {
  JOB_CATALOG,
  openQueue,
  QUEUE,
  type Queue,
  type SchedulerPlan,
  targetOfSchedulerId,
} from '@qsm/queues';
import { claimQueueShard, createDiscoveryStore, onRedisStateChange, QueueShardConflict } from '@qsm/redis';
import { discoveryMetrics } from './discovery-metrics.js';
import {
  type DiscoveryRunner,
  removeDiscoverySchedule,
  type SchedulerDiscovery,
  startDiscoveryRunner,
} from './discovery-runner.js';
import { configuredTargets, createDiscoveredTargetSource } from './poll-targets.js';
import { createReconciler, describeReconcileState, reconcileSchedulers } from './reconciler.js';

export interface SchedulerRole extends RunningRole {
  /** Makes the job schedulers in Redis match `settings`; resolves with what was done. */
  reconcile(settings: Settings, reason: string): Promise<SchedulerPlan>;
}

/** Discovery of virtual proxies in the Qlik repository, for the settings in force. */
export interface DiscoverySetup {
  /** Discovery for these settings; throws a ConfigError that names what is missing or wrong. */
  create(settings: Settings): ResolvingDiscovery;
}

export interface ResolvingDiscovery extends SchedulerDiscovery {
  /** The discovered targets the config does not list, and why others were left out. */
  resolve(
    settings: Settings,
    topology: RepositoryTopology,
  ): { targets: DiscoveredPollTarget[]; notes: string[] };
}

/**
 * Keeps one BullMQ job scheduler per polled (server, virtual proxy) in Redis, every `pollingInterval`.
 * Reconciles at start, whenever a new valid config arrives, whenever Redis comes back, every
 * SCHEDULE_CHECK_INTERVAL_MS (Redis may come back without the schedulers: no persistence, flushed, a
 * failover to a replica that missed writes, and nothing would poll again) and, with discovery, after every
 * good read of the Qlik repository. Reconciles never overlap; a failed one is logged and retried by the
 * reconciler, so the triggers below need not wait for it.
 */
export async function startScheduler(
  context: RoleContext,
  env: SchedulerEnv & Partial<Pick<TrackingEnv, 'SESSION_TRACKING'>> = {
    SCHEDULE_SPREAD_MS: 0,
    SCHEDULE_CHECK_INTERVAL_MS: 60_000,
  },
  discoverySetup?: DiscoverySetup,
): Promise<SchedulerRole> {
  const { logger } = context;
  const shard = formatQueueShard(context.settings.queueShard?.shard);
  const claimShard = () => claimQueueShard(context.queues.connection, context.queues.prefix, shard);
  try {
    await claimShard();
  } catch (error) {
    // Another shard's prefix: refuse to start. Redis away: every reconcile checks again before it acts.
    if (error instanceof QueueShardConflict) throw error;
    logger.debug({ err: error }, 'queue shard not recorded yet; Redis is away');
  }
  const pollQueue = openQueue(context.queues, QUEUE.poll);
  const trackQueue = env.SESSION_TRACKING ? openQueue(context.queues, QUEUE.track) : undefined;
  const store = createDiscoveryStore(context.queues.connection, context.queues.prefix);
  const metrics = discoveryMetrics(context.registry);
  // A ConfigError here stops the app with its message, as a bad config file does.
  let discovery = discoverySetup?.create(context.settings);
  const targets = discovery
    ? createDiscoveredTargetSource({
        store,
        resolve: (settings, topology) => discovery!.resolve(settings, topology),
        metrics,
        logger,
      })
    : configuredTargets;
  const reconciler = createReconciler({
    apply: (settings, reason) =>
      reconcileSchedulers(
        {
          pollQueue,
          logger,
          spreadMs: env.SCHEDULE_SPREAD_MS,
          targets,
          guard: claimShard,
          ...(trackQueue ? { retire: (ids: string[]) => retireTargets(trackQueue, ids) } : {}),
        },
        settings,
        reason,
      ),
    logger,
  });
  const latest = () => reconciler.latest() ?? context.settings;

  await reconciler.reconcile(context.settings, 'start');
  let runner: DiscoveryRunner | undefined;
  const influxQueue = discovery ? openQueue(context.queues, QUEUE.influx) : undefined;
  if (discovery && influxQueue) {
    runner = await startDiscoveryRunner({
      context,
      discovery: () => discovery!,
      store,
      reconcile: (reason) => reconciler.reconcile(latest(), reason),
      async recordFailure(failure) {
        const { influxdbConfig, errorTracking } = latest();
        if (!influxdbConfig.enable || !errorTracking.influxdb) return;
        await influxQueue.add('repository-error', failure, {
          ...JOB_CATALOG[QUEUE.influx].options,
          jobId: `discovery|${failure.failedAt}|error`,
        });
      },
      metrics,
    });
  } else {
    await forgetDiscovery(context, store).catch((error: unknown) => {
      logger.debug({ err: error }, 'discovery state not cleared; Redis is away');
    });
  }

  const stopWatchingRedis = onRedisStateChange(context.queues.connection, (state) => {
    if (state !== 'up') return;
    void reconciler.reconcile(latest(), 'redis reconnected');
    // Redis may have come back without the last read of the repository.
    runner?.requestRead().catch((error: unknown) => {
      logger.debug({ err: error }, 'discovery read not requested after Redis came back');
    });
  });
  // While Redis is away there is nothing to check; its return triggers a check of its own.
  const checkTimer = setInterval(() => {
    if (context.queues.connection.status === 'ready') void reconciler.reconcile(latest(), 'periodic check');
  }, env.SCHEDULE_CHECK_INTERVAL_MS);
  checkTimer.unref();

  return {
    name: 'scheduler',
    async reconcile(settings, reason) {
      const outcome = await reconciler.reconcile(settings, reason);
      if (!outcome.ok) throw outcome.error;
      return outcome.plan;
    },
    async checks() {
      return { schedulers: describeReconcileState(reconciler.state()) };
    },
    async applySettings(settings) {
      if (discoverySetup && discovery) {
        try {
          const next = discoverySetup.create(settings);
          discovery.close();
          discovery = next;
        } catch (error) {
          logger.error({ err: error }, 'discovery keeps its settings: the new config does not allow them');
        }
      }
      await reconciler.reconcile(settings, 'config changed');
    },
    async stop() {
      stopWatchingRedis();
      clearInterval(checkTimer);
      await runner?.stop();
      await influxQueue?.close();
      await reconciler.stop();
      await trackQueue?.close();
      discovery?.close();
      await pollQueue.close();
    },
  };
}

/**
 * Tells the tracker that these schedulers' proxies are no longer polled: their open sessions end with
 * reason not_monitored now. One job per proxy and removal (replicas removing the same scheduler at once
 * add one each: the second finds nothing left to end).
 */
async function retireTargets(trackQueue: Queue, schedulerIds: string[], now = Date.now()): Promise<void> {
  const jobs = schedulerIds.flatMap((id) => {
    const target = targetOfSchedulerId(id);
    if (!target) return [];
    const data: TrackRetireJob = { v: PAYLOAD_VERSION, kind: 'track_retire', ...target, retiredAt: now };
    return [
      {
        name: 'track-retire',
        data,
        opts: { ...JOB_CATALOG[QUEUE.track].options, jobId: `retire|${id}|${now}` },
      },
    ];
  });
  if (jobs.length > 0) await trackQueue.addBulk(jobs);
}

/** Discovery is off: no replica reads the repository, and no session gauge shows what it found. */
async function forgetDiscovery(context: RoleContext, store: ReturnType<typeof createDiscoveryStore>) {
  await removeDiscoverySchedule(context);
  const targets = await store.loadTargets();
  if (targets !== null && targets !== '[]') await store.saveTargets('[]');
}
