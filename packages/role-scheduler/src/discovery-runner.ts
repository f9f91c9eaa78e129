import type { RoleContext } from '@qsm/host';
import type { RepositoryTopology } from '@qsm/model';
import {
  closeWorker,
  DISCOVERY_JOB_NAME,
  DISCOVERY_SCHEDULER_ID,
  type DiscoveryJobData,
  discoveryJobOptions,
  openQueue,
  QUEUE,
  startDiscoveryJobId,
  startWorker,
} from '@qsm/queues';
import { type DiscoveryStore, workerConnectionFrom } from '@qsm/redis';
import { createDiscoveryHandler, type DiscoveryHandlerDeps } from './discovery-handler.js';
import type { DiscoveryMetrics } from './discovery-metrics.js';

/** Discovery as the scheduler runs it, built from the environment and the config in force. */
export interface SchedulerDiscovery {
  /** The repository's `host:port`. */
  repository: string;
  /** DISCOVERY_INTERVAL_MS. */
  intervalMs: number;
  readTopology(options: { signal?: AbortSignal }): Promise<RepositoryTopology>;
  close(): void;
}

export interface DiscoveryRunnerDeps {
  context: Pick<RoleContext, 'queues' | 'logger' | 'workerLockMs'>;
  /** The discovery in force (a config reload may change the repository host or the certificates). */
  discovery(): SchedulerDiscovery;
  store: Pick<DiscoveryStore, 'saveTopology'>;
  reconcile(reason: string): Promise<unknown>;
  recordFailure: DiscoveryHandlerDeps['recordFailure'];
  metrics: DiscoveryMetrics;
}

export interface DiscoveryRunner {
  /** Asks for a read now (once per 10 s however many replicas ask). */
  requestRead(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Reads of the repository as jobs of their own queue: a job scheduler every DISCOVERY_INTERVAL_MS and one
 * read when a scheduler starts, taken by one worker of any scheduler replica (they share the queue, so a
 * read happens once per interval however many replicas run), and visible in Bull Board with their
 * outcome: what was found, or why the read failed.
 */
export async function startDiscoveryRunner(deps: DiscoveryRunnerDeps): Promise<DiscoveryRunner> {
  const { context } = deps;
  const queue = openQueue<DiscoveryJobData>(context.queues, QUEUE.discovery);
  const scheduled: DiscoveryJobData = { v: 1, reason: 'scheduled' };
  await queue.upsertJobScheduler(
    DISCOVERY_SCHEDULER_ID,
    { every: deps.discovery().intervalMs },
    { name: DISCOVERY_JOB_NAME, data: scheduled, opts: discoveryJobOptions },
  );
  const requestRead = async () => {
    const start: DiscoveryJobData = { v: 1, reason: 'start' };
    await queue.add(DISCOVERY_JOB_NAME, start, {
      ...discoveryJobOptions,
      jobId: startDiscoveryJobId(Date.now()),
    });
  };
  await requestRead();

  const workerRedis = workerConnectionFrom(context.queues.connection);
  const worker = startWorker<DiscoveryJobData>({
    queue: QUEUE.discovery,
    context: { ...context.queues, connection: workerRedis.connection },
    concurrency: 1,
    lockMs: context.workerLockMs,
    abortable: true,
    processor: (_job, signal) => {
      const current = deps.discovery();
      return createDiscoveryHandler({
        repository: current.repository,
        readTopology: (options) => current.readTopology(options),
        store: deps.store,
        reconcile: deps.reconcile,
        recordFailure: deps.recordFailure,
        metrics: deps.metrics,
        logger: context.logger,
      })(signal);
    },
    onError: (error) => context.logger.debug({ err: error }, 'discovery worker error'),
  });

  return {
    requestRead,
    async stop() {
      await closeWorker(worker, context.queues.connection);
      if (workerRedis.owned) workerRedis.connection.disconnect();
      await queue.close();
    },
  };
}

/** With discovery off, its job scheduler goes, so that no replica reads the repository any more. */
export async function removeDiscoverySchedule(context: Pick<RoleContext, 'queues'>): Promise<void> {
  const queue = openQueue(context.queues, QUEUE.discovery);
  try {
    await queue.removeJobScheduler(DISCOVERY_SCHEDULER_ID);
  } finally {
    await queue.close();
  }
}
