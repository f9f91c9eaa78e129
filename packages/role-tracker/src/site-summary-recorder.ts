import type { Logger } from '@qsm/logging';
import type { TrackResultJob } from '@qsm/model';
import { schedulerIdFor } from '@qsm/queues';
import type { SiteIntervals } from '@qsm/redis';
import { encodeProxySummary, summarizeSessions } from '@qsm/site-figures';
import type { PollInterval } from './site-interval-jobs.js';

export interface SiteSummaryRecorderDeps {
  intervals: Pick<SiteIntervals, 'record' | 'reported'>;
  /** Adds the interval's job (a no-op when it is there already). */
  scheduleInterval(interval: PollInterval): Promise<void>;
  /** The target key of every (server, virtual proxy) polled now. */
  expectedTargets(): Promise<string[]>;
  /** Runs the interval's job now instead of at the interval's end (every proxy has reported). */
  computeNow(interval: PollInterval): Promise<void>;
  logger: Pick<Logger, 'debug'>;
}

/** Interval starts this process has seen results of; older ones are forgotten. */
const REMEMBERED_INTERVALS = 16;

export interface SiteSummaryRecorder {
  /** Records what an applied result (or a retry of it) contributes to its interval's site figures. */
  record(result: TrackResultJob): Promise<void>;
}

interface SeenInterval {
  /** The proxies polled when this process saw the interval's first result. */
  expected: string[];
  /** Whether the job was asked to run early already. */
  early: boolean;
}

/**
 * Records each applied result's per-user counts for its interval, and makes sure the interval's figures
 * job exists. The job is added by the first result of the interval this process sees, and remembered, so
 * that the other results of the interval cost no Redis call for it (another tracker adding the same job
 * id changes nothing). Once every expected proxy has reported, the job runs at once rather than at the
 * interval's end: nothing is left to wait for.
 */
export function createSiteSummaryRecorder(deps: SiteSummaryRecorderDeps): SiteSummaryRecorder {
  const seen = new Map<number, SeenInterval>();

  const intervalOf = async (interval: PollInterval): Promise<SeenInterval> => {
    const known = seen.get(interval.start);
    if (known) return known;
    const expected = await deps.expectedTargets();
    await deps.scheduleInterval(interval);
    const entry = { expected, early: false };
    seen.set(interval.start, entry);
    if (seen.size > REMEMBERED_INTERVALS) seen.delete(Math.min(...seen.keys()));
    return entry;
  };

  return {
    async record(result) {
      const interval = { start: result.intervalStart, ms: result.intervalMs };
      const summary = encodeProxySummary(summarizeSessions(result, result.sessions));
      const { reported } = await deps.intervals.record(
        interval,
        schedulerIdFor(result),
        result.polledAt,
        summary,
      );
      const entry = await intervalOf(interval);
      if (entry.early || entry.expected.length === 0 || reported < entry.expected.length) return;
      const keys = new Set(await deps.intervals.reported(interval.start));
      if (!entry.expected.every((key) => keys.has(key))) return;
      entry.early = true;
      deps.logger.debug({ intervalStart: interval.start }, 'every proxy reported: site figures computed now');
      await deps.computeNow(interval);
    },
  };
}
