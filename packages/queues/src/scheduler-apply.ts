import type { JobType, Queue } from 'bullmq';
import { pollJobOptions } from './job-options.js';
import { type FirstPollData, firstPollJobId, POLL_JOB_NAME } from './poll-jobs.js';
import type { DesiredScheduler, ExistingScheduler, SchedulerPlan } from './scheduler-plan.js';

/** Where a poll is before it is finished: waiting, due later or being polled. */
const PENDING_STATES: JobType[] = ['delayed', 'waiting', 'prioritized', 'active'];

/** The job schedulers of the poll queue, for planSchedulers, each with whether its next poll is still there. */
export async function listSchedulers(pollQueue: Queue): Promise<ExistingScheduler[]> {
  const found = await pollQueue.getJobSchedulers(0, -1);
  const chained = found.filter((s) => s.next !== undefined).map((s) => s.key);
  const pending = await schedulersWithPendingJobs(pollQueue, chained);
  return found.map((s) => ({
    key: s.key,
    every: s.every,
    offset: s.offset,
    template: s.template,
    // The next poll is added when the current one is taken: one that is finished, or gone, ends the chain.
    stuck: s.next !== undefined && !pending.has(s.key),
  }));
}

/**
 * The schedulers that have a poll waiting, due later or being polled. Read after the schedulers, so that a
 * poll taken in between has already been followed by its next one.
 *
 * Only the ids of the pending jobs are read (a periodic check at 10,000 schedulers would otherwise load and
 * parse 10,000 job hashes, in one Lua call that holds Redis for as long): BullMQ names a scheduler's jobs
 * after it (schedulerOfJobId). Should some scheduler expected to have a poll not be found that way, the
 * jobs whose ids are not of that form are asked which scheduler they come from (BullMQ's `repeatJobKey`),
 * so that a BullMQ that names them otherwise costs time, never a false repair.
 */
async function schedulersWithPendingJobs(pollQueue: Queue, expected: string[]): Promise<Set<string>> {
  const ids = await pollQueue.getRanges(PENDING_STATES, 0, -1);
  const keys = new Set<string>();
  const unknown: string[] = [];
  for (const id of ids) {
    const key = schedulerOfJobId(id);
    if (key === undefined) unknown.push(id);
    else keys.add(key);
  }
  if (expected.every((key) => keys.has(key))) return keys;
  for (const chunk of chunksOf(unknown, 500)) {
    const jobs = await Promise.all(chunk.map((id) => pollQueue.getJob(id)));
    for (const job of jobs) if (job?.repeatJobKey) keys.add(job.repeatJobKey);
  }
  return keys;
}

/**
 * The job scheduler a job id says it comes from: BullMQ 6 gives every job of a job scheduler the id
 * `repeat:<scheduler id>:<due time, ms>`. Undefined for any other id (this product's own first polls).
 */
export function schedulerOfJobId(jobId: string): string | undefined {
  if (!jobId.startsWith(SCHEDULER_JOB_PREFIX)) return undefined;
  const sep = jobId.lastIndexOf(':');
  if (sep <= SCHEDULER_JOB_PREFIX.length || !/^\d+$/.test(jobId.slice(sep + 1))) return undefined;
  return jobId.slice(SCHEDULER_JOB_PREFIX.length, sep);
}

const SCHEDULER_JOB_PREFIX = 'repeat:';

/**
 * Applies a plan: upserts are idempotent, so two schedulers applying the same plan at once are harmless.
 * A changed scheduler is updated in place (BullMQ replaces its pending poll with one of the new template,
 * at the new interval's aligned time if the interval changed). A moved one is removed and added again,
 * because BullMQ keeps a scheduler's old phase when only its offset changes; so is a stuck one, whose
 * chain of polls BullMQ would not restart in place. A new or changed scheduler's first aligned run may be
 * almost an interval away, so unless it is due within half an interval, one extra poll is added at once
 * (with an id per interval, so replicas that apply the same plan add it once).
 */
export async function applySchedulerPlan(
  pollQueue: Queue,
  plan: SchedulerPlan,
  now: () => number = Date.now,
): Promise<void> {
  const renewed = [...plan.move, ...plan.repair];
  await inChunks(renewed, 50, (s) => pollQueue.removeJobScheduler(s.id));
  const fresh = [...plan.add, ...plan.change, ...renewed];
  await inChunks(fresh, 50, (s) =>
    pollQueue.upsertJobScheduler(
      s.id,
      { every: s.every, offset: s.offset },
      { name: POLL_JOB_NAME, data: s.data, opts: pollJobOptions },
    ),
  );
  const at = now();
  const firstPolls = fresh
    .filter((s) => nextAlignedRun(s, at) - at > s.every / 2)
    .map((s) => {
      const { kind: _scheduled, offsetMs: _offset, ...fields } = s.data;
      const data: FirstPollData = { ...fields, kind: 'first', dueAt: at };
      return {
        name: POLL_JOB_NAME,
        data,
        opts: { ...pollJobOptions, jobId: firstPollJobId(s.id, at, s.every) },
      };
    });
  for (const chunk of chunksOf(firstPolls, 200)) await pollQueue.addBulk(chunk);
  await inChunks(plan.remove, 50, (id) => pollQueue.removeJobScheduler(id));
}

/** When BullMQ first runs a new scheduler with an offset: the next `offset` ms past a multiple of `every`. */
function nextAlignedRun(s: Pick<DesiredScheduler, 'every' | 'offset'>, now: number): number {
  const aligned = Math.floor(now / s.every) * s.every + s.offset;
  return aligned <= now ? aligned + s.every : aligned;
}

function chunksOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

async function inChunks<T>(items: T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (const chunk of chunksOf(items, size)) await Promise.all(chunk.map(run));
}
