import type { RedisConnection } from '@qsm/redis';
import { type Job, Worker, type WorkerOptions } from 'bullmq';
import type { QueueName } from './catalog.js';
import type { QueueContext } from './queue-context.js';

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
