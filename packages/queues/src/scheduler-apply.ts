import type { Queue } from 'bullmq';
import { pollJobOptions } from './job-options.js';
import { type FirstPollData, firstPollJobId, POLL_JOB_NAME } from './poll-jobs.js';
import type { DesiredScheduler, ExistingScheduler, SchedulerPlan } from './scheduler-plan.js';

/** The job schedulers of the poll queue, for planSchedulers, each with whether its next poll is still there. */
export async function listSchedulers(pollQueue: Queue): Promise<ExistingScheduler[]> {
  const found = await pollQueue.getJobSchedulers(0, -1);
  const pending = await schedulersWithPendingJobs(pollQueue);
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
 * The schedulers that have a poll waiting, due later or being polled, by the scheduler each job says it
 * comes from (BullMQ's `repeatJobKey`). Read after the schedulers, so that a poll taken in between has
 * already been followed by its next one.
 */
async function schedulersWithPendingJobs(pollQueue: Queue): Promise<Set<string>> {
  const jobs = await pollQueue.getJobs(['delayed', 'waiting', 'prioritized', 'active']);
  const keys = new Set<string>();
  for (const job of jobs) if (job?.repeatJobKey) keys.add(job.repeatJobKey);
  return keys;
}

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
