import { listPollTargets, type SchedulerEnv, type Settings } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import {
  applySchedulerPlan,
  changedSchedulers,
  describePlan,
  desiredSchedulers,
  listSchedulers,
  openQueue,
  planSchedulers,
  QUEUE,
  type SchedulerPlan,
} from '@qsm/queues';
import { onRedisStateChange } from '@qsm/redis';

export interface SchedulerRole extends RunningRole {
  /** Makes the job schedulers in Redis match `settings`; resolves with what was done. */
  reconcile(settings: Settings, reason: string): Promise<SchedulerPlan>;
}

/** Reasons to reconcile that are checks: the config did not change, so finding work to do is news. */
const CHECKS = new Set(['redis reconnected', 'periodic check']);

/**
 * Keeps one BullMQ job scheduler per polled (server, virtual proxy) in Redis, every `pollingInterval`.
 * Reconciles at start, whenever a new valid config arrives, whenever Redis comes back and every
 * SCHEDULE_CHECK_INTERVAL_MS: Redis may come back without the schedulers (no persistence, flushed, a
 * failover to a replica that missed writes), and nothing would poll again. Reconciles never overlap.
 */
export async function startScheduler(
  context: RoleContext,
  env: SchedulerEnv = { SCHEDULE_SPREAD_MS: 0, SCHEDULE_CHECK_INTERVAL_MS: 60_000 },
): Promise<SchedulerRole> {
  const { logger } = context;
  const pollQueue = openQueue(context.queues, QUEUE.poll);
  let chain: Promise<unknown> = Promise.resolve();
  let lastReconcile = 'not yet';
  let latest = context.settings;
  let retryTimer: NodeJS.Timeout | undefined;

  const reconcileNow = async (settings: Settings, reason: string): Promise<SchedulerPlan> => {
    const desired = desiredSchedulers(
      listPollTargets(settings),
      settings.userSessions.pollingInterval,
      env.SCHEDULE_SPREAD_MS,
    );
    const plan = planSchedulers(desired, await listSchedulers(pollQueue));
    await applySchedulerPlan(pollQueue, plan);
    lastReconcile = 'ok';
    const fields = {
      reason,
      added: plan.add.length,
      changed: changedSchedulers(plan).length,
      repaired: plan.repair.length,
      removed: plan.remove.length,
      unchanged: plan.unchanged,
    };
    const check = CHECKS.has(reason);
    const changed = fields.added + fields.changed + fields.repaired + fields.removed > 0;
    if (check && plan.add.length + plan.repair.length > 0) {
      const lost = [
        ...(plan.add.length
          ? [`${plan.add.length} of ${desired.length} job schedulers were missing from Redis`]
          : []),
        ...(plan.repair.length ? [`${plan.repair.length} had lost their next poll`] : []),
      ];
      logger.warn(
        fields,
        `${lost.join(' and ')} (Redis restarted without persistence, flushed, or failed over?); set up again: ${describePlan(plan)}`,
      );
    } else if (check && !changed) {
      logger.debug(fields, `schedulers checked (${reason}): all ${plan.unchanged} in place`);
    } else logger.info(fields, `schedulers reconciled (${reason}): ${describePlan(plan)}`);
    return plan;
  };

  const reconcile = (settings: Settings, reason: string) => {
    latest = settings;
    if (retryTimer) clearTimeout(retryTimer);
    const next = chain.then(() => reconcileNow(settings, reason));
    chain = next.catch((error: unknown) => {
      const first = !lastReconcile.startsWith('failed');
      lastReconcile = `failed: ${(error as Error).message}`;
      if (first)
        logger.error({ err: error, reason }, 'reconciling schedulers failed; trying again every 5 s');
      // Redis may be away: try again until it works, with the newest settings.
      retryTimer = setTimeout(() => void reconcile(latest, 'retry').catch(() => {}), 5000);
      retryTimer.unref();
    });
    return next;
  };

  await reconcile(context.settings, 'start').catch(() => {});
  const stopWatchingRedis = onRedisStateChange(context.queues.connection, (state) => {
    if (state === 'up') void reconcile(latest, 'redis reconnected').catch(() => {});
  });
  // While Redis is away there is nothing to check; its return triggers a check of its own.
  const checkTimer = setInterval(() => {
    if (context.queues.connection.status === 'ready')
      void reconcile(latest, 'periodic check').catch(() => {});
  }, env.SCHEDULE_CHECK_INTERVAL_MS);
  checkTimer.unref();

  return {
    name: 'scheduler',
    reconcile,
    async checks() {
      return { schedulers: lastReconcile === 'ok' ? 'up' : lastReconcile };
    },
    async applySettings(settings) {
      await reconcile(settings, 'config changed').catch(() => {});
    },
    async stop() {
      stopWatchingRedis();
      clearInterval(checkTimer);
      if (retryTimer) clearTimeout(retryTimer);
      await chain.catch(() => {});
      await pollQueue.close();
    },
  };
}
