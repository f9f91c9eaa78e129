import { listPollTargets, type SchedulerEnv, type Settings } from '@qsm/config';
import {
  applySchedulerPlan,
  describePlan,
  desiredSchedulers,
  listSchedulers,
  openQueue,
  planSchedulers,
  QUEUE,
  type SchedulerPlan,
} from '@qsm/queues';
import type { RoleContext, RunningRole } from './role.js';

export interface SchedulerRole extends RunningRole {
  /** Makes the job schedulers in Redis match `settings`; resolves with what was done. */
  reconcile(settings: Settings, reason: string): Promise<SchedulerPlan>;
}

/**
 * Keeps one BullMQ job scheduler per polled (server, virtual proxy) in Redis, every `pollingInterval`.
 * Reconciles at start and whenever a new valid config arrives; reconciles never overlap.
 */
export async function startScheduler(
  context: RoleContext,
  env: SchedulerEnv = { SCHEDULE_SPREAD_MS: 0 },
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
    logger.info(
      {
        reason,
        added: plan.add.length,
        changed: plan.change.length,
        removed: plan.remove.length,
        unchanged: plan.unchanged,
      },
      `schedulers reconciled (${reason}): ${describePlan(plan)}`,
    );
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
      if (retryTimer) clearTimeout(retryTimer);
      await chain.catch(() => {});
      await pollQueue.close();
    },
  };
}
