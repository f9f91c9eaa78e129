import type { Settings, TrackerEnv } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import type { TrackJob, TrackResultJob } from '@qsm/model';
import {
  closeWorker,
  createResultDelivery,
  type Job,
  QUEUE,
  startWorker,
  UnrecoverableError,
} from '@qsm/queues';
import { createTrackingStore, type TrackOutcome } from '@qsm/redis';
import { createTrackHandler } from './track-handler.js';
import { trackerMetrics } from './tracker-metrics.js';

/** Work that rides on the tracker role (the site figures): told of each result, stopped with the role. */
export interface TrackerExtension {
  afterResult?(result: TrackResultJob, outcome: TrackOutcome): Promise<void>;
  /** Processes a job of the session-track queue that is its own (the site figures' interval jobs), else undefined. */
  takeJob?(job: Job<unknown>): Promise<unknown> | undefined;
  applySettings?(settings: Settings): Promise<void>;
  stop?(): Promise<void>;
}

export interface TrackerDeps {
  extensions?: TrackerExtension[];
}

/**
 * A BullMQ worker on the session-track queue, handing each job to the track handler (createTrackHandler).
 * Any number of trackers may run: the state of every proxy is in Redis, and each change is one atomic step.
 */
export async function startTracker(
  context: RoleContext,
  env: Pick<TrackerEnv, 'TRACKER_CONCURRENCY' | 'SESSION_TRACKING'> &
    Partial<Pick<TrackerEnv, 'TRACKER_TEST_PAUSE_BEFORE_DELIVERY_MS'>>,
  deps: TrackerDeps = {},
): Promise<RunningRole> {
  const { logger } = context;
  const extensions = deps.extensions ?? [];
  let settings = context.settings;
  const delivery = createResultDelivery(context.queues);
  const pauseMs = env.TRACKER_TEST_PAUSE_BEFORE_DELIVERY_MS ?? 0;
  const handle = createTrackHandler({
    store: createTrackingStore(context.queues.connection, context.queues.prefix),
    delivery,
    sinkQueues: () => [
      ...(settings.influxdbConfig.enable ? [QUEUE.influx] : []),
      ...(settings.mqttConfig.enable ? [QUEUE.mqtt] : []),
    ],
    metrics: trackerMetrics(context.registry),
    logger,
    ...(pauseMs > 0
      ? {
          async beforeDelivery(outboxId: string) {
            logger.info({ outboxId, pauseMs }, 'test fault hook: pausing between the state and the delivery');
            await new Promise((resolve) => setTimeout(resolve, pauseMs));
          },
        }
      : {}),
    async afterResult(result, outcome) {
      for (const extension of extensions) await extension.afterResult?.(result, outcome);
    },
  });
  const worker = startWorker<TrackJob>({
    queue: QUEUE.track,
    context: context.queues,
    concurrency: env.TRACKER_CONCURRENCY,
    lockMs: context.workerLockMs,
    // A track job is idempotent (see createTrackHandler): it may go back to the queue a few times.
    maxStalledCount: 5,
    processor: (job) => {
      for (const extension of extensions) {
        const taken = extension.takeJob?.(job);
        if (taken) return taken;
      }
      return handle(job);
    },
    onError: (error) => logger.debug({ err: error }, 'track worker error'),
  });
  worker.on('failed', (job, error) => {
    // An unreadable job fails for good (Bull Board shows it); anything else is tried again until done.
    const forGood =
      error instanceof UnrecoverableError || (job && job.attemptsMade >= (job.opts.attempts ?? 1));
    logger.warn(
      { jobId: job?.id, reason: error.message },
      forGood ? 'track job failed for good' : 'track job failed; it is tried again',
    );
  });
  logger.info(
    {
      concurrency: env.TRACKER_CONCURRENCY,
      ...(env.SESSION_TRACKING ? {} : { note: 'SESSION_TRACKING=false: only jobs already queued arrive' }),
    },
    'tracker running',
  );
  return {
    name: 'tracker',
    async checks() {
      return {};
    },
    async applySettings(next) {
      settings = next;
      for (const extension of extensions) await extension.applySettings?.(next);
    },
    async stop() {
      await closeWorker(worker, context.queues.connection);
      for (const extension of extensions) await extension.stop?.();
      await delivery.close();
    },
  };
}
