import { pollJobFieldsSchema } from '@qsm/model';
import { z } from 'zod';

/*
 * A poll job says in its own data when it was due and why it exists, so that the poller never reads
 * BullMQ's job ids:
 * - `scheduled`: an iteration of the target's job scheduler (the scheduler's template data). BullMQ adds
 *   each iteration with its creation time and the delay until its slot, so its slot is `timestamp +
 *   opts.delay`, snapped to the scheduler's grid (`offsetMs` past a multiple of `intervalMs`).
 * - `first`: the extra poll a new scheduler gets at once (see applySchedulerPlan), due when it was added.
 * - legacy (no `kind`): a job queued by the release before this one, which had neither field. It is
 *   read as that release did, for one upgrade: an iteration of a scheduler if BullMQ says it has one.
 */

export const POLL_JOB_NAME = 'poll';

const scheduledPollSchema = pollJobFieldsSchema.extend({
  kind: z.literal('scheduled'),
  /** The scheduler's phase: its polls are due `offsetMs` after a multiple of `intervalMs`. */
  offsetMs: z.number().int().nonnegative(),
});

const firstPollSchema = pollJobFieldsSchema.extend({
  kind: z.literal('first'),
  /** When it was added (ms since epoch). */
  dueAt: z.number().int(),
});

const legacyPollSchema = pollJobFieldsSchema.extend({ kind: z.undefined().optional() });

export const pollJobSchema = z.discriminatedUnion('kind', [
  scheduledPollSchema,
  firstPollSchema,
  legacyPollSchema,
]);

/** What a job of the poll queue carries. */
export type PollJobData = z.output<typeof pollJobSchema>;
export type ScheduledPollData = z.output<typeof scheduledPollSchema>;
export type FirstPollData = z.output<typeof firstPollSchema>;

/** What the due time of a poll job is read from: its data and BullMQ's public fields of the job. */
export interface PollJobLike {
  data: PollJobData;
  /** When BullMQ added the job. */
  timestamp: number;
  /** The delay it was added with (the job's `delay` field changes when BullMQ promotes or retries it). */
  opts: { delay?: number | undefined };
  /** The job scheduler it is an iteration of, if any. */
  repeatJobKey?: string | undefined;
}

/** The slot of the grid `offset + k * every` nearest to `at`. */
export function nearestSlot(at: number, every: number, offset: number): number {
  return offset + Math.round((at - offset) / every) * every;
}

/** When the poll was due (ms since epoch): what its results' job ids and its staleness are measured from. */
export function pollDueAt(job: PollJobLike): number {
  const { data } = job;
  const addedFor = job.timestamp + (job.opts.delay ?? 0);
  switch (data.kind) {
    case 'first':
      return data.dueAt;
    case 'scheduled':
      // BullMQ adds a job for a slot that is already past (a scheduler updated while its poll waits) with
      // no delay: the grid still says which slot it is.
      return nearestSlot(addedFor, data.intervalMs, data.offsetMs);
    default:
      return addedFor;
  }
}

/**
 * How late a poll job may start before it is skipped as stale. A scheduled poll may be up to an interval
 * late. The extra first poll exists only because the first scheduled one was more than half an interval
 * away; a quarter of an interval late, it would come too close to that one, which polls anyway.
 */
export function pollStaleAfterMs(
  job: Pick<PollJobLike, 'data' | 'repeatJobKey'>,
  intervalMs: number,
): number {
  const first = job.data.kind === 'first' || (job.data.kind === undefined && !job.repeatJobKey);
  return first ? intervalMs / 4 : intervalMs;
}

/**
 * The job id of the extra first poll: one per scheduler and interval, so replicas that apply the same plan
 * add it once. Only made, never read.
 */
export function firstPollJobId(schedulerId: string, at: number, every: number): string {
  return `${schedulerId}|first|${Math.floor(at / every)}`;
}

/**
 * The start of the polling interval a poll due at `dueAt` belongs to. Schedulers are aligned (every =
 * interval, offset < interval), so every poll of one interval, whatever its offset, gets the same start.
 */
export function intervalStartOf(dueAt: number, intervalMs: number): number {
  return dueAt - (((dueAt % intervalMs) + intervalMs) % intervalMs);
}
