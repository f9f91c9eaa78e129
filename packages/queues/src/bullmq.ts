import { FlowProducer, type Job, Queue, QueueEvents, Worker, type WorkerOptions } from 'bullmq';
import { createDeliveryMarkers } from './delivery-markers.js';
import { firstPollJobId } from './job-ids.js';
import { pollJobOptions, sinkJobOptions } from './job-options.js';
import { QUEUE, type QueueName } from './queue-names.js';
import { duplicateConnection, type RedisConnection } from './redis-connection.js';
import { groupedMemberIds, groupInfluxJobs } from './result-groups.js';
import type { DesiredScheduler, ExistingScheduler, SchedulerPlan } from './scheduler-plan.js';
import type { SinkJobSpec } from './sink-job-spec.js';

export type { Job, Queue, Worker };

/** A Redis connection and the BullMQ key prefix every queue of one deployment shares. */
export interface QueueContext {
  connection: RedisConnection;
  prefix: string;
}

/**
 * A queue handle. Its connection errors are not reported here: the app reports Redis going away and coming
 * back once each (onRedisStateChange), where an unheard 'error' event would print a stack per reconnect.
 */
export function openQueue<T = unknown>(context: QueueContext, name: QueueName): Queue<T> {
  const queue = new Queue<T>(name, { connection: context.connection, prefix: context.prefix });
  queue.on('error', () => {});
  return queue;
}

/**
 * Removes the jobs of a queue that have waited (for a worker, or for their next try) longer than `maxAgeMs`
 * since they were added or last tried, oldest first, and returns their ids: for a sink that takes no jobs
 * while its destination is away, so that its maximum age still bounds what Redis holds.
 */
export async function removeExpiredJobs(queue: Queue, maxAgeMs: number): Promise<string[]> {
  const waiting = await queue.clean(maxAgeMs, 0, 'wait');
  const delayed = await queue.clean(maxAgeMs, 0, 'delayed');
  return [...waiting, ...delayed];
}

/** The job schedulers of the poll queue, for planSchedulers, each with whether its next poll is still there. */
export async function listSchedulers(pollQueue: Queue): Promise<ExistingScheduler[]> {
  const found = await pollQueue.getJobSchedulers(0, -1);
  return Promise.all(
    found.map(async (s) => ({
      key: s.key,
      every: s.every,
      offset: s.offset,
      template: s.template,
      // The next poll is added when the current one is taken: one that is finished, or gone, ends the chain.
      stuck:
        s.next !== undefined &&
        ['unknown', 'completed', 'failed'].includes(await pollQueue.getJobState(`repeat:${s.key}:${s.next}`)),
    })),
  );
}

/**
 * Applies a plan: upserts are idempotent, so two schedulers applying the same plan at once are harmless.
 * A changed scheduler is removed and added again, because BullMQ keeps a scheduler's old phase when its
 * offset changes. A new scheduler's first aligned run may be almost an interval away, so unless it is due
 * within half an interval, one extra poll is added at once (with an id per interval, so replicas that
 * apply the same plan add it once).
 */
export async function applySchedulerPlan(
  pollQueue: Queue,
  plan: SchedulerPlan,
  now: () => number = Date.now,
): Promise<void> {
  const renewed = [...plan.change, ...plan.repair];
  await inChunks(renewed, 50, (s) => pollQueue.removeJobScheduler(s.id));
  const fresh = [...plan.add, ...renewed];
  await inChunks(fresh, 50, (s) =>
    pollQueue.upsertJobScheduler(
      s.id,
      { every: s.every, offset: s.offset },
      { name: 'poll', data: s.data, opts: pollJobOptions },
    ),
  );
  const at = now();
  const firstPolls = fresh
    .filter((s) => nextAlignedRun(s, at) - at > s.every / 2)
    .map((s) => ({
      name: 'poll',
      data: s.data,
      opts: { ...pollJobOptions, jobId: firstPollJobId(s.id, at, s.every) },
    }));
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

export interface ResultDelivery {
  /**
   * Adds every job in one atomic step: all of them or none. Existing job ids are left as they are.
   * Deliveries made in the same turn of the event loop (a burst of polls finishing together) share one
   * atomic step, which saves most of the client-side cost of a Redis transaction per poll, and their
   * InfluxDB records travel as groups (groupInfluxJobs), which saves most of the queue's cost per poll.
   */
  deliver(jobs: SinkJobSpec[]): Promise<void>;
  /** Whether the record of the poll with this job id went out in a group (see DeliveryMarkers). */
  deliveredInGroup(id: string): Promise<boolean>;
  close(): Promise<void>;
}

const MAX_JOBS_PER_STEP = 500;

export function createResultDelivery(context: QueueContext): ResultDelivery {
  const flows = new FlowProducer({ connection: context.connection, prefix: context.prefix });
  flows.on('error', () => {
    // Connection errors surface as rejected deliver() calls; the connection's own state is logged elsewhere.
  });
  const markers = createDeliveryMarkers(context.connection, context.prefix);
  let pending: Array<{ jobs: SinkJobSpec[]; resolve(): void; reject(error: unknown): void }> = [];
  let pendingJobs = 0;
  let scheduled = false;

  const flush = async () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    pendingJobs = 0;
    if (batch.length === 0) return;
    try {
      const jobs = groupInfluxJobs(batch.flatMap(({ jobs }) => jobs));
      await flows.addBulk(
        jobs.map((job) => ({
          name: jobName(job),
          queueName: job.queue,
          data: job.data,
          prefix: context.prefix,
          opts: { ...sinkJobOptions, jobId: job.id },
        })),
      );
      // Not in the same atomic step as the jobs (BullMQ's transaction is its own): a poller that dies
      // between the two may see a retried poll deliver a second, newer record; never a lost one.
      await markers.mark(groupedMemberIds(jobs)).catch(() => {});
      for (const entry of batch) entry.resolve();
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  };

  return {
    deliver(jobs) {
      if (jobs.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        pending.push({ jobs, resolve, reject });
        pendingJobs += jobs.length;
        if (pendingJobs >= MAX_JOBS_PER_STEP) void flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
    },
    deliveredInGroup: (id) => markers.has(id),
    async close() {
      await flush();
      await flows.close();
    },
  };
}

/** The job's name in Bull Board. */
function jobName(job: SinkJobSpec): string {
  if (job.data.kind === 'group') return `poll-records (${job.data.members.length})`;
  return job.data.kind === 'error' ? 'poll-error' : 'poll-result';
}

export interface WorkerSettings<T> {
  queue: QueueName;
  context: QueueContext;
  concurrency: number;
  /** Lock duration and stalled-job check interval: a dead worker's jobs go back to the queue after this. */
  lockMs?: number;
  /**
   * How often a job may lose its lock (a dead or stalled worker) and go back to the queue before it fails.
   * Sink jobs are idempotent, so they may go back a few times; a poll job that went back is stale anyway.
   */
  maxStalledCount?: number;
  processor: (job: Job<T>, signal: AbortSignal | undefined) => Promise<unknown>;
  /**
   * Hand the processor an AbortSignal that fires when the job's lock is lost or the worker closes by force.
   * Off, the signal is undefined: BullMQ then does not build an AbortController for every job, which a
   * sink that never cancels a write has no use for.
   */
  abortable?: boolean;
  /** Delay before the next attempt of a failed job; -1 fails it for good. */
  backoff?: (attemptsMade: number, job: Job<T> | undefined, error: Error | undefined) => number;
  /** Called for worker-level errors (lost connection, ...); never thrown. */
  onError: (error: Error) => void;
  options?: Partial<WorkerOptions>;
}

/**
 * Stops a worker taking jobs and waits for the ones in hand, whose results need Redis to be kept. While
 * Redis is away they cannot be completed anyway: the worker closes at once, and their locks expire into
 * retries once Redis is back, instead of the app waiting out its shutdown deadline.
 */
export function closeWorker(worker: Worker, connection: RedisConnection): Promise<void> {
  return worker.close(connection.status !== 'ready');
}

export function startWorker<T>(settings: WorkerSettings<T>): Worker<T> {
  // BullMQ builds the controller only for a processor that declares the third (signal) parameter.
  const processor = settings.abortable
    ? (job: Job<T>, _token: string | undefined, signal: AbortSignal | undefined) =>
        settings.processor(job, signal)
    : (job: Job<T>) => settings.processor(job, undefined);
  const worker = new Worker<T>(settings.queue, processor, {
    connection: settings.context.connection,
    prefix: settings.context.prefix,
    concurrency: settings.concurrency,
    autorun: true,
    ...(settings.lockMs ? { lockDuration: settings.lockMs, stalledInterval: settings.lockMs } : {}),
    ...(settings.maxStalledCount === undefined ? {} : { maxStalledCount: settings.maxStalledCount }),
    ...(settings.backoff
      ? {
          settings: {
            backoffStrategy: (attemptsMade: number, _type?: string, err?: Error, job?: unknown) =>
              settings.backoff!(attemptsMade, job as Job<T> | undefined, err),
          },
        }
      : {}),
    ...settings.options,
  });
  worker.on('error', settings.onError);
  return worker;
}

/**
 * Calls `listener` for every job of `queue` that completes, in any process, with its return value
 * (from BullMQ's event stream). For measurements; close the returned watcher when done.
 */
export async function watchCompletedJobs(
  context: QueueContext,
  queue: QueueName,
  listener: (jobId: string, returnValue: unknown) => void,
): Promise<{ close(): Promise<void> }> {
  const events = new QueueEvents(queue, {
    connection: duplicateConnection(context.connection),
    prefix: context.prefix,
  });
  events.on('completed', ({ jobId, returnvalue }) => {
    listener(jobId, typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue);
  });
  await events.waitUntilReady();
  return { close: () => events.close() };
}

export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

export async function queueDepth(queue: Queue): Promise<QueueDepth> {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  return {
    waiting: counts.waiting ?? 0,
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    failed: counts.failed ?? 0,
    completed: counts.completed ?? 0,
  };
}

export { QUEUE, sinkJobOptions };
