import type { SchedulerEnv, Settings } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import { openQueue, QUEUE, type SchedulerPlan } from '@qsm/queues';
import { onRedisStateChange } from '@qsm/redis';
import { createReconciler, describeReconcileState, reconcileSchedulers } from './reconciler.js';

export interface SchedulerRole extends RunningRole {
  /** Makes the job schedulers in Redis match `settings`; resolves with what was done. */
  reconcile(settings: Settings, reason: string): Promise<SchedulerPlan>;
}

/**
 * Keeps one BullMQ job scheduler per polled (server, virtual proxy) in Redis, every `pollingInterval`.
 * Reconciles at start, whenever a new valid config arrives, whenever Redis comes back and every
 * SCHEDULE_CHECK_INTERVAL_MS: Redis may come back without the schedulers (no persistence, flushed, a
 * failover to a replica that missed writes), and nothing would poll again. Reconciles never overlap; a
 * failed one is logged and retried by the reconciler, so the triggers below need not wait for it.
 */
export async function startScheduler(
  context: RoleContext,
  env: SchedulerEnv = { SCHEDULE_SPREAD_MS: 0, SCHEDULE_CHECK_INTERVAL_MS: 60_000 },
): Promise<SchedulerRole> {
  const { logger } = context;
  const pollQueue = openQueue(context.queues, QUEUE.poll);
  const reconciler = createReconciler({
    apply: (settings, reason) =>
      reconcileSchedulers({ pollQueue, logger, spreadMs: env.SCHEDULE_SPREAD_MS }, settings, reason),
    logger,
  });
  const latest = () => reconciler.latest() ?? context.settings;

  await reconciler.reconcile(context.settings, 'start');
  const stopWatchingRedis = onRedisStateChange(context.queues.connection, (state) => {
    if (state === 'up') void reconciler.reconcile(latest(), 'redis reconnected');
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
      await reconciler.reconcile(settings, 'config changed');
    },
    async stop() {
      stopWatchingRedis();
      clearInterval(checkTimer);
      await reconciler.stop();
      await pollQueue.close();
    },
  };
}
