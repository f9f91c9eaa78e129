import { isDeepStrictEqual } from 'node:util';
import type { PollerEnv, Settings, TrackingEnv } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import { createQpsClient, type QpsClient } from '@qsm/qps';
import {
  closeWorker,
  createResultDelivery,
  openQueue,
  type PollJobData,
  QUEUE,
  startWorker,
} from '@qsm/queues';
import { createDiscoveryStore, createPollLock, createSessionCounts } from '@qsm/redis';
import { createPollHandler, pollTimeoutMs } from './poll-handler.js';
import { pollerMetrics } from './poller-metrics.js';
import { registerSessionGauge } from './session-gauge.js';
import { createTrackerPresenceCheck } from './tracker-presence.js';

/** How often a poller looks for a tracker taking its session-track jobs (SESSION_TRACKING). */
const TRACKER_CHECK_INTERVAL_MS = 60_000;

/**
 * A BullMQ worker on the poll queue, handing each job to the poll handler (createPollHandler), with the
 * settings and QPS client of the latest config.
 */
export async function startPoller(
  context: RoleContext,
  env: PollerEnv & Pick<TrackingEnv, 'SESSION_TRACKING'>,
): Promise<RunningRole> {
  const { logger } = context;
  const metrics = pollerMetrics(context.registry);
  const delivery = createResultDelivery(context.queues);
  let settings = context.settings;
  let qps = makeClient(settings, env);
  const counts = createSessionCounts(context.queues.connection, context.queues.prefix);
  const discovery = createDiscoveryStore(context.queues.connection, context.queues.prefix);
  registerSessionGauge(context.metricsTexts, () => settings, counts, discovery, logger);

  const handlePoll = createPollHandler({
    settings: () => settings,
    qps: () => qps,
    env,
    lock: createPollLock(context.queues.connection, context.queues.prefix),
    delivery,
    metrics,
    logger,
  });

  const worker = startWorker<PollJobData>({
    queue: QUEUE.poll,
    context: context.queues,
    concurrency: env.POLLER_CONCURRENCY,
    lockMs: context.workerLockMs,
    processor: handlePoll,
    abortable: true,
    onError: (error) => logger.debug({ err: error }, 'poll worker error'),
  });
  const trackQueue = env.SESSION_TRACKING ? openQueue(context.queues, QUEUE.track) : undefined;
  const trackerCheck = trackQueue
    ? setInterval(createTrackerPresenceCheck({ queue: trackQueue, logger }), TRACKER_CHECK_INTERVAL_MS)
    : undefined;
  trackerCheck?.unref();

  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      logger.debug({ jobId: job.id, reason: error.message }, 'poll job failed for good');
    }
  });

  logger.info(
    {
      concurrency: env.POLLER_CONCURRENCY,
      timeoutMs: pollTimeoutMs(settings, env),
      sessionTracking: env.SESSION_TRACKING,
    },
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
      if (
        !isDeepStrictEqual(old.cert, next.cert) ||
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
      clearInterval(trackerCheck);
      await trackQueue?.close();
      await delivery.close();
      qps.close();
    },
  };
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
