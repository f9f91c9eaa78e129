import type { Settings } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import {
  applySchedulerPlan,
  changedSchedulers,
  describePlan,
  desiredSchedulers,
  listSchedulers,
  planSchedulers,
  type Queue,
  type SchedulerPlan,
} from '@qsm/queues';
import type { PollTargetSource } from './poll-targets.js';

/** Reasons to reconcile that are checks: the config did not change, so finding work to do is news. */
const CHECKS = new Set(['redis reconnected', 'periodic check']);

export interface ReconcileDeps {
  pollQueue: Queue;
  logger: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** SCHEDULE_SPREAD_MS. */
  spreadMs: number;
  /** What to poll: the config's targets, and with discovery those found in the repository. */
  targets: PollTargetSource;
  /**
   * Told of the schedulers about to be removed (the proxy left the config, or discovery no longer finds
   * it), before they are: with SESSION_TRACKING, the tracker ends their open sessions (not_monitored).
   */
  retire?: (schedulerIds: string[]) => Promise<void>;
  /**
   * Throws when this scheduler must not touch the queue's schedulers (another queue shard's prefix):
   * checked at each reconcile, since Redis may have lost the record since start.
   */
  guard?: () => Promise<void>;
}

/**
 * One reconcile: makes the job schedulers in Redis match `settings` and says what it did. A check that
 * finds schedulers or their next polls missing warns: Redis lost them (restarted without persistence,
 * flushed, failed over).
 */
export async function reconcileSchedulers(
  deps: ReconcileDeps,
  settings: Settings,
  reason: string,
): Promise<SchedulerPlan> {
  const { pollQueue, logger } = deps;
  await deps.guard?.();
  const desired = desiredSchedulers(
    await deps.targets(settings),
    settings.userSessions.pollingInterval,
    deps.spreadMs,
  );
  const plan = planSchedulers(desired, await listSchedulers(pollQueue));
  // Before the removal: a reconcile that fails after it would not find the removed schedulers again.
  if (plan.remove.length > 0) await deps.retire?.(plan.remove);
  await applySchedulerPlan(pollQueue, plan);
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
}

/** How the last reconcile went. */
export type ReconcileState =
  | { state: 'not_yet' }
  | { state: 'ok'; at: number }
  | { state: 'failed'; at: number; error: string };

/** What a reconcile came to: it never rejects, a failure is recorded and retried by the reconciler. */
export type ReconcileOutcome = { ok: true; plan: SchedulerPlan } | { ok: false; error: Error };

export interface ReconcilerDeps {
  /** One reconcile (reconcileSchedulers with its dependencies). */
  apply(settings: Settings, reason: string): Promise<SchedulerPlan>;
  logger: Pick<Logger, 'error'>;
  /** How long after a failure to try again. */
  retryMs?: number;
  now?: () => number;
}

export interface Reconciler {
  /** Reconciles after the reconciles already asked for (they never overlap). */
  reconcile(settings: Settings, reason: string): Promise<ReconcileOutcome>;
  state(): ReconcileState;
  /** The settings of the latest request: a retry and a periodic check use them. */
  latest(): Settings | undefined;
  /** Stops retrying and resolves when the reconcile in progress, if any, is done. */
  stop(): Promise<void>;
}

/**
 * Serializes reconciles and keeps their state. After a failure (Redis away) it tries again every `retryMs`
 * with the newest settings, until one works; the first failure in a row is logged as an error.
 */
export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const retryMs = deps.retryMs ?? 5000;
  const now = deps.now ?? Date.now;
  let chain: Promise<unknown> = Promise.resolve();
  let state: ReconcileState = { state: 'not_yet' };
  let latest: Settings | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const runOnce = async (settings: Settings, reason: string): Promise<ReconcileOutcome> => {
    try {
      const plan = await deps.apply(settings, reason);
      state = { state: 'ok', at: now() };
      return { ok: true, plan };
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      if (state.state !== 'failed')
        deps.logger.error({ err: error, reason }, 'reconciling schedulers failed; trying again every 5 s');
      state = { state: 'failed', at: now(), error: error.message };
      if (!stopped) {
        // Redis may be away: try again until it works, with the newest settings.
        retryTimer = setTimeout(() => void reconcile(latest ?? settings, 'retry'), retryMs);
        retryTimer.unref();
      }
      return { ok: false, error };
    }
  };

  const reconcile = (settings: Settings, reason: string): Promise<ReconcileOutcome> => {
    latest = settings;
    if (retryTimer) clearTimeout(retryTimer);
    const next = chain.then(() => runOnce(settings, reason));
    chain = next;
    return next;
  };

  return {
    reconcile,
    state: () => state,
    latest: () => latest,
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      await chain;
    },
  };
}

/** The scheduler's readiness check: `up`, `not yet`, or `failed: <reason>`. */
export function describeReconcileState(state: ReconcileState): string {
  switch (state.state) {
    case 'ok':
      return 'up';
    case 'not_yet':
      return 'not yet';
    case 'failed':
      return `failed: ${state.error}`;
  }
}
