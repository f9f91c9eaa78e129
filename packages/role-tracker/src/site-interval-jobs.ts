import { PAYLOAD_VERSION, type TrackSiteIntervalJob } from '@qsm/model';
import { trackJobOptions } from '@qsm/queues';
import type { JobsOptions } from 'bullmq';

/** An aligned polling interval: [start, start + ms). */
export interface PollInterval {
  start: number;
  ms: number;
}

/** `site|<interval start>`: one job per interval, however many results (and trackers) add it. */
export const siteIntervalJobId = (intervalStart: number) => `site|${intervalStart}`;

/**
 * How long after an interval's end its figures are computed: the polls due at its start (or spread
 * over it, or retried) have finished by then, and their results reached the tracker.
 */
export function siteIntervalGraceMs(intervalMs: number): number {
  return Math.min(Math.round(intervalMs / 2), 5000);
}

/**
 * The delay of an interval's job added at `now`: to the interval's end plus the grace. A job added after
 * that (a tracker catching up on a backlog) still waits one grace, so the other results of the interval
 * waiting in the queue are applied before the figures are computed.
 */
export function siteIntervalDelay(interval: PollInterval, now: number): number {
  const grace = siteIntervalGraceMs(interval.ms);
  return Math.max(interval.start + interval.ms + grace - now, grace);
}

export function siteIntervalJob(interval: PollInterval): TrackSiteIntervalJob {
  return {
    v: PAYLOAD_VERSION,
    kind: 'site_interval',
    intervalStart: interval.start,
    intervalMs: interval.ms,
  };
}

/**
 * The interval after `interval` under the polling interval now configured (the same length unless the
 * config changed), aligned as the scheduler aligns polls.
 */
export function nextInterval(interval: PollInterval, configuredMs: number): PollInterval {
  const start = Math.ceil((interval.start + interval.ms) / configuredMs) * configuredMs;
  return { start, ms: configuredMs };
}

/**
 * The options of the queue's other jobs: retried until done (an interval claimed but not delivered keeps
 * its records in the outbox until an attempt delivers them), and kept as they are kept (BullMQ trims the
 * completed jobs of a queue to the options of the job that completes last, so one set of numbers for the
 * whole queue). A late result that adds an interval's job again after it was removed finds the
 * done-marker and writes nothing.
 */
export const siteIntervalJobOptions = trackJobOptions satisfies JobsOptions;
