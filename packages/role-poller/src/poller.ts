import { randomUUID } from 'node:crypto';
import { findServer, type PollerEnv, type ServerSettings, type Settings } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import { formatIssues, PAYLOAD_VERSION, type PollFailure, type PollResult } from '@qsm/model';
import { createQpsClient, isQpsError, type QpsClient, type QpsError } from '@qsm/qps';
import {
  closeWorker,
  createResultDelivery,
  failureJobId,
  type Job,
  PermanentJobError,
  type PollJobData,
  pollDueAt,
  pollJobSchema,
  pollStaleAfterMs,
  QUEUE,
  RetryableJobError,
  resultJobId,
  type SinkJobSpec,
  schedulerIdFor,
  startWorker,
} from '@qsm/queues';
import { createPollLock, createSessionCounts } from '@qsm/redis';
import { pollerMetrics } from './poller-metrics.js';
import { registerSessionGauge } from './session-gauge.js';

export type PollOutcome =
  | { outcome: 'ok'; sessions: number; durationMs: number }
  | { outcome: 'skipped_stale'; lateMs: number }
  | { outcome: 'skipped_overlap' }
  | { outcome: 'skipped_delivered' }
  | { outcome: 'skipped_not_in_config' };

/** The poll timeout: below the interval so that a slow QPS cannot make two polls of one proxy overlap. */
export function pollTimeoutMs(settings: Settings, env: Pick<PollerEnv, 'QPS_TIMEOUT_MS'>): number {
  const interval = settings.userSessions.pollingInterval;
  const fitting = Math.max(500, Math.floor(interval * 0.8));
  return Math.min(env.QPS_TIMEOUT_MS ?? 10_000, fitting);
}

/**
 * A BullMQ worker on the poll queue. For each job it looks the server up in its own config, fetches
 * the sessions, and adds one PollResult to every enabled sink queue in one atomic step. A failed poll
 * becomes an error record for InfluxDB and a failed job; errors that retrying cannot fix are not retried.
 */
export async function startPoller(context: RoleContext, env: PollerEnv): Promise<RunningRole> {
  const { logger } = context;
  const metrics = pollerMetrics(context.registry);
  const lock = createPollLock(context.queues.connection, context.queues.prefix);
  const delivery = createResultDelivery(context.queues);
  let settings = context.settings;
  let qps = makeClient(settings, env);
  const counts = createSessionCounts(context.queues.connection, context.queues.prefix);
  const sessionGauge = registerSessionGauge(context.registry, () => settings, counts);

  const deliver = async (jobs: Array<SinkJobSpec | false>) => {
    await delivery.deliver(jobs.filter((j): j is SinkJobSpec => j !== false));
  };

  const poll = async (job: Job<PollJobData>, signal: AbortSignal | undefined): Promise<PollOutcome> => {
    const parsed = pollJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new PermanentJobError('invalid_job', formatIssues(parsed.error.issues));
    }
    const target = parsed.data;
    const current = settings;
    const server = findServer(current, target.serverName);
    if (!server || !isPolled(current, server, target.virtualProxy)) {
      // The config changed under a scheduler that the scheduler app has not removed yet.
      metrics.polls.inc({ outcome: 'skipped_not_in_config', category: '' });
      return { outcome: 'skipped_not_in_config' };
    }
    const pollJob = {
      data: target,
      timestamp: job.timestamp,
      opts: job.opts,
      repeatJobKey: job.repeatJobKey,
    };
    const dueAt = pollDueAt(pollJob);
    const interval = current.userSessions.pollingInterval;
    const lateMs = Date.now() - dueAt;
    if (lateMs > pollStaleAfterMs(pollJob, interval)) {
      metrics.polls.inc({ outcome: 'skipped_stale', category: '' });
      metrics.staleSkipped.inc();
      logger.debug({ target, lateMs }, 'stale poll skipped');
      return { outcome: 'skipped_stale', lateMs };
    }
    if (
      (job.attemptsMade > 0 || job.stalledCounter > 0) &&
      (await delivery.deliveredInGroup(resultJobId(target, dueAt)))
    ) {
      // An earlier attempt delivered, then failed to finish (its poller died): its result travelled in a
      // group, whose job id is not the poll's, so BullMQ would not catch the second delivery.
      metrics.polls.inc({ outcome: 'skipped_delivered', category: '' });
      return { outcome: 'skipped_delivered' };
    }
    const timeoutMs = pollTimeoutMs(current, env);
    const schedulerId = schedulerIdFor(target);
    const token = randomUUID();
    // The lock outlives a stuck process only briefly: the request deadline plus a margin.
    if (!(await lock.acquire(schedulerId, token, timeoutMs + 5000))) {
      metrics.polls.inc({ outcome: 'skipped_overlap', category: '' });
      return { outcome: 'skipped_overlap' };
    }
    const client = qps;
    let sessionCount: number | undefined;
    try {
      const polledAt = Date.now();
      const identity = {
        v: PAYLOAD_VERSION,
        serverName: server.serverName,
        serverDescription: server.serverDescription,
        hostName: server.hostName,
        serverTags: server.serverTags,
        qpsHost: server.userSessions.host,
        virtualProxy: target.virtualProxy,
      };
      let list: Awaited<ReturnType<QpsClient['fetchSessions']>>;
      try {
        list = await client.fetchSessions(server, target.virtualProxy, signal ? { signal } : {});
      } catch (error) {
        if (!isQpsError(error)) throw error;
        if (error.category === 'aborted') throw new RetryableJobError(error.category, error.message);
        metrics.duration.observe((Date.now() - polledAt) / 1000);
        metrics.polls.inc({ outcome: 'failed', category: error.category });
        await recordFailure(identity, error, dueAt, job.attemptsMade + 1, timeoutMs);
        logger.warn(
          {
            server: server.serverName,
            virtualProxy: target.virtualProxy,
            category: error.category,
            url: error.url,
          },
          `poll failed: ${error.message}`,
        );
        if (!error.retryable) throw new PermanentJobError(error.category, error.message);
        throw new RetryableJobError(error.category, error.message);
      }
      metrics.duration.observe(list.durationMs / 1000);
      const result: PollResult = {
        ...identity,
        kind: 'sessions',
        polledAt,
        durationMs: Math.round(list.durationMs * 10) / 10,
        sessions: list.sessions,
      };
      const id = resultJobId(target, dueAt);
      await deliver([
        current.influxdbConfig.enable && { queue: QUEUE.influx, id, data: result },
        current.mqttConfig.enable && { queue: QUEUE.mqtt, id, data: result },
      ]);
      metrics.polls.inc({ outcome: 'ok', category: '' });
      metrics.sessions.inc(list.sessions.length);
      sessionCount = list.sessions.length;
      return { outcome: 'ok', sessions: list.sessions.length, durationMs: result.durationMs };
    } finally {
      // Recording the count for the session gauge rides on the lock release: one round trip.
      await lock.release(schedulerId, token, sessionCount).catch(() => {});
    }
  };

  const recordFailure = async (
    identity: Omit<PollFailure, 'kind' | 'failedAt' | 'category' | 'message' | 'url' | 'attempt'>,
    error: QpsError,
    dueAt: number,
    attempt: number,
    timeoutMs: number,
  ) => {
    if (!settings.influxdbConfig.enable || !settings.errorTracking.influxdb) return;
    const failure: PollFailure = {
      ...identity,
      kind: 'error',
      failedAt: Date.now(),
      category: error.category,
      message: error.message,
      url: error.url,
      ...(error.code ? { code: error.code } : {}),
      ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
      ...(error.category === 'timeout' ? { timeoutMs } : {}),
      attempt,
    };
    await deliver([{ queue: QUEUE.influx, id: failureJobId(identity, dueAt, attempt), data: failure }]);
  };

  const worker = startWorker<PollJobData>({
    queue: QUEUE.poll,
    context: context.queues,
    concurrency: env.POLLER_CONCURRENCY,
    lockMs: context.workerLockMs,
    processor: poll,
    abortable: true,
    onError: (error) => logger.debug({ err: error }, 'poll worker error'),
  });
  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      logger.debug({ jobId: job.id, reason: error.message }, 'poll job failed for good');
    }
  });

  logger.info(
    { concurrency: env.POLLER_CONCURRENCY, timeoutMs: pollTimeoutMs(settings, env) },
    'poll worker running',
  );

  return {
    name: 'poller',
    async checks() {
      return {};
    },
    async applySettings(next) {
      const old = settings;
      settings = next;
      sessionGauge.refresh();
      if (
        JSON.stringify(old.cert) !== JSON.stringify(next.cert) ||
        old.serversToMonitor.rejectUnauthorized !== next.serversToMonitor.rejectUnauthorized ||
        old.userSessions.pollingInterval !== next.userSessions.pollingInterval
      ) {
        const previous = qps;
        qps = makeClient(next, env);
        setTimeout(() => previous.close(), 30_000).unref();
      }
    },
    async stop() {
      // Polls in flight may finish; those still running near the deadline are aborted, which fails their
      // jobs as retryable, so that another poller takes them instead of waiting for a lock to expire.
      const abort = setTimeout(
        () => worker.cancelAllJobs('shutting down'),
        Math.max(0, context.shutdownTimeoutMs - 2000),
      );
      await closeWorker(worker, context.queues.connection);
      clearTimeout(abort);
      await delivery.close();
      qps.close();
    },
  };
}

function isPolled(settings: Settings, server: ServerSettings, virtualProxy: string): boolean {
  return (
    settings.userSessions.enableSessionExtract &&
    server.userSessions.enable &&
    server.userSessions.virtualProxies.includes(virtualProxy)
  );
}

function makeClient(settings: Settings, env: PollerEnv): QpsClient {
  if (!settings.cert) {
    // No server polls sessions: a client is never used, but keep one so that a config change can add servers.
    return {
      fetchSessions: () => Promise.reject(new Error('no certificates configured (Butler-SOS.cert)')),
      close: () => {},
    };
  }
  return createQpsClient({
    cert: settings.cert,
    rejectUnauthorized: settings.serversToMonitor.rejectUnauthorized,
    timeoutMs: pollTimeoutMs(settings, env),
    maxResponseBytes: env.QPS_MAX_RESPONSE_BYTES,
    maxSocketsPerServer: env.QPS_MAX_SOCKETS_PER_SERVER,
  });
}
