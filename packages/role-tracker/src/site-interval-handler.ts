import type { Settings } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import { parseStoredJson, type SiteFiguresRecord, siteFiguresRecordSchema } from '@qsm/model';
import { PermanentJobError, QUEUE } from '@qsm/queues';
import type { SiteIntervals } from '@qsm/redis';
import { computeSiteFigures, decodeProxySummary, type ProxySummary } from '@qsm/site-figures';
import { z } from 'zod';
import { nextInterval, type PollInterval } from './site-interval-jobs.js';

/** A site figures record for one sink queue, with the id that makes it once per interval. */
export type SiteFiguresJob =
  | { queue: typeof QUEUE.influx; id: string; data: SiteFiguresRecord }
  | { queue: typeof QUEUE.mqtt; id: string; data: SiteFiguresRecord };

/** `site|<interval start>`, in each sink queue. */
export const siteFiguresJobId = (intervalStart: number) => `site|${intervalStart}`;

export interface SiteIntervalHandlerDeps {
  intervals: SiteIntervals;
  /** The target key of every (server, virtual proxy) polled now. */
  expectedTargets(): Promise<string[]>;
  settings(): Settings;
  sessionLimitWarn: number;
  /** Adds the jobs, all or none; a job id that is there already is left as it is. */
  deliver(jobs: SiteFiguresJob[]): Promise<void>;
  /** Adds an interval's job (a no-op when it is there). */
  scheduleInterval(interval: PollInterval): Promise<void>;
  now(): number;
  logger: Pick<Logger, 'warn' | 'debug'>;
  /**
   * Runs after this attempt claimed the interval and before it delivers: the fault tests kill the tracker
   * here (TRACKER_TEST_PAUSE_BEFORE_DELIVERY_MS).
   */
  beforeDelivery?: (intervalStart: number) => Promise<void>;
}

/** What an interval's claim stores until its records are on the sink queues. */
const outboxSchema = z.object({
  /** The MQTT copy (everyone): the figures the gauges show. */
  latest: siteFiguresRecordSchema,
  jobs: z.array(
    z.object({ queue: z.enum([QUEUE.influx, QUEUE.mqtt]), id: z.string(), data: siteFiguresRecordSchema }),
  ),
});
type Outbox = z.output<typeof outboxSchema>;

export type SiteIntervalOutcome = 'written' | 'written_on_retry' | 'already_written';

/**
 * The job at an interval's end: computes its figures from the summaries the results left (this interval's,
 * and the previous one's for a proxy that did not report), claims the interval and delivers the records
 * to the enabled sinks. Whoever claims first (any tracker, any attempt) decides the records; a later
 * attempt delivers the claimed ones again with the same job ids, or finds them delivered.
 */
export function createSiteIntervalHandler(deps: SiteIntervalHandlerDeps) {
  const summaries = async (intervalStart: number) => {
    const decoded = new Map<string, ProxySummary>();
    for (const [target, text] of await deps.intervals.summaries(intervalStart)) {
      const summary = decodeProxySummary(text);
      if (summary.ok) decoded.set(target, summary.summary);
      else
        deps.logger.warn(
          { target, intervalStart, problem: summary.problem },
          'a site summary in Redis is not understood: the proxy counts as failed in this interval',
        );
    }
    return decoded;
  };

  return async (interval: PollInterval): Promise<SiteIntervalOutcome> => {
    const settings = deps.settings();
    const expected = await deps.expectedTargets();
    // The chain of interval jobs goes on while something is polled, so an interval in which every proxy
    // failed (no result to add its job) still gets its figures. Only from a recent interval: a tracker
    // catching up on a backlog leaves the past intervals to the results that are in it.
    if (expected.length > 0 && interval.start + 2 * interval.ms >= deps.now())
      await deps.scheduleInterval(nextInterval(interval, settings.userSessions.pollingInterval));

    const figures = computeSiteFigures({
      intervalStart: interval.start,
      intervalMs: interval.ms,
      sessionLimitWarn: deps.sessionLimitWarn,
      excludeUser: settings.userSessions.excludeUser,
      expected,
      current: await summaries(interval.start),
      previous: await summaries(interval.start - interval.ms),
    });
    const id = siteFiguresJobId(interval.start);
    const jobs: SiteFiguresJob[] = [];
    if (settings.influxdbConfig.enable) jobs.push({ queue: QUEUE.influx, id, data: figures.influx });
    if (settings.mqttConfig.enable) jobs.push({ queue: QUEUE.mqtt, id, data: figures.mqtt });
    const mine: Outbox = { latest: figures.mqtt, jobs };

    const claim = await deps.intervals.claim(interval.start, JSON.stringify(mine));
    if (claim.outcome === 'delivered') {
      deps.logger.debug({ intervalStart: interval.start }, 'site figures of the interval written already');
      return 'already_written';
    }
    const outbox = claim.outcome === 'won' ? mine : readOutbox(claim.outbox, interval.start);
    await deps.beforeDelivery?.(interval.start);
    await deps.deliver(outbox.jobs);
    await deps.intervals.setLatest(interval.start, JSON.stringify(outbox.latest));
    await deps.intervals.delivered(interval.start);
    return claim.outcome === 'won' ? 'written' : 'written_on_retry';
  };
}

function readOutbox(text: string, intervalStart: number): Outbox {
  const read = parseStoredJson(outboxSchema, text);
  if (!read.ok)
    throw new PermanentJobError(
      'invalid_job',
      `the site figures outbox of interval ${intervalStart} is not understood: ${read.problem}`,
    );
  return read.value;
}
