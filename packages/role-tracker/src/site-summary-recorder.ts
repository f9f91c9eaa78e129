import type { TrackResultJob } from '@qsm/model';
import { schedulerIdFor } from '@qsm/queues';
import type { SiteIntervals } from '@qsm/redis';
import { encodeProxySummary, summarizeSessions } from '@qsm/site-figures';
import type { PollInterval } from './site-interval-jobs.js';

export interface SiteSummaryRecorderDeps {
  intervals: Pick<SiteIntervals, 'record'>;
  /** Adds the interval's job (a no-op when it is there already). */
  scheduleInterval(interval: PollInterval): Promise<void>;
}

/** Interval starts this process has added a job for; older ones are forgotten. */
const REMEMBERED_INTERVALS = 16;

export interface SiteSummaryRecorder {
  /** Records what an applied result (or a retry of it) contributes to its interval's site figures. */
  record(result: TrackResultJob): Promise<void>;
}

/**
 * Records each applied result's per-user counts for its interval, and makes sure the interval's figures
 * job exists. The job is added by the first result of the interval this process sees, and remembered, so
 * that the other results of the interval cost no Redis call for it (another tracker adding the same job
 * id changes nothing).
 */
export function createSiteSummaryRecorder(deps: SiteSummaryRecorderDeps): SiteSummaryRecorder {
  const scheduled = new Set<number>();
  return {
    async record(result) {
      const interval = { start: result.intervalStart, ms: result.intervalMs };
      const summary = encodeProxySummary(summarizeSessions(result, result.sessions));
      await deps.intervals.record(interval, schedulerIdFor(result), result.polledAt, summary);
      if (scheduled.has(interval.start)) return;
      await deps.scheduleInterval(interval);
      scheduled.add(interval.start);
      if (scheduled.size > REMEMBERED_INTERVALS) scheduled.delete(Math.min(...scheduled));
    },
  };
}
