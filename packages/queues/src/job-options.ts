import type { JobsOptions } from 'bullmq';

/*
 * Finished jobs stay in Redis for Bull Board (and, while they are there, block duplicate job ids). Sink
 * jobs carry whole session lists (a proxy with 20,000 sessions is a 3 MB job), so fewer of them are kept.
 */
const KEEP_COMPLETED_POLLS = { age: 3600, count: 1000 } as const;
const KEEP_FAILED_POLLS = { age: 7 * 24 * 3600, count: 5000 } as const;
const KEEP_COMPLETED_RESULTS = { age: 600, count: 200 } as const;
const KEEP_FAILED_RESULTS = { age: 7 * 24 * 3600, count: 1000 } as const;

/**
 * A poll is tried twice: a second try helps after a passing network fault, more would overlap the next
 * interval (a retried poll that is already stale is skipped anyway).
 */
export const pollJobOptions = {
  attempts: 2,
  backoff: { type: 'fixed', delay: 1000 },
  removeOnComplete: KEEP_COMPLETED_POLLS,
  removeOnFail: KEEP_FAILED_POLLS,
} as const satisfies JobsOptions;

/**
 * Sink jobs retry until their destination is back; the sink's backoff strategy gives up (and fails the
 * job visibly) once the result is older than the configured maximum age, so the attempt count is no limit.
 */
export const sinkJobOptions = {
  attempts: 1_000_000,
  backoff: { type: 'sink' },
  removeOnComplete: KEEP_COMPLETED_RESULTS,
  removeOnFail: KEEP_FAILED_RESULTS,
} as const satisfies JobsOptions;

/**
 * Track jobs are retried until done, as sink jobs are (a result the tracker never applies would leave its
 * sessions' events missing). Completed ones stay a while for Bull Board, and while they are there a second
 * delivery of the same job id is a no-op; after that the tracker itself ignores one (its poll time is not
 * newer). They carry every session's identity, so not too many are kept.
 */
export const trackJobOptions = {
  attempts: 1_000_000,
  backoff: { type: 'fixed', delay: 2000 },
  removeOnComplete: { age: 600, count: 1000 },
  removeOnFail: KEEP_FAILED_RESULTS,
} as const satisfies JobsOptions;

/**
 * A read of the Qlik repository is tried once: the next interval reads again, and a failed read keeps the
 * last good one in force. Failed reads stay long enough to be looked at in Bull Board.
 */
export const discoveryJobOptions = {
  attempts: 1,
  removeOnComplete: { age: 24 * 3600, count: 100 },
  removeOnFail: { age: 7 * 24 * 3600, count: 500 },
} as const satisfies JobsOptions;

export interface SinkBackoff {
  /** First retry delay. */
  baseMs: number;
  /** Retry delays double up to this. */
  maxMs: number;
  /** A result older than this is given up (its job fails). */
  maxAgeMs: number;
}

/**
 * Capped exponential backoff with jitter; -1 (fail now) once the next try would come after `maxAgeMs`
 * measured from `bornAt` (the poll time). BullMQ calls this as the worker's backoff strategy.
 */
export function sinkRetryDelay(
  attemptsMade: number,
  bornAt: number,
  backoff: SinkBackoff,
  now = Date.now(),
): number {
  const exponential = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const delay = Math.round(exponential * (0.8 + Math.random() * 0.4));
  return now + delay - bornAt > backoff.maxAgeMs ? -1 : delay;
}
