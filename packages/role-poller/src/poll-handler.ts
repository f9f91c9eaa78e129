import { randomUUID } from 'node:crypto';
import {
  findServer,
  type PollerEnv,
  type ServerSettings,
  type Settings,
  type TrackingEnv,
} from '@qsm/config';
import type { Logger } from '@qsm/logging';
import {
  formatIssues,
  PAYLOAD_VERSION,
  type PollFailure,
  type PollResult,
  sessionIdentity,
  type TrackedSession,
  type TrackResultJob,
} from '@qsm/model';
import { isQpsError, type QpsClient, type QpsError } from '@qsm/qps';
import {
  failureJobId,
  intervalStartOf,
  type Job,
  PermanentJobError,
  type PollJobData,
  pollDueAt,
  pollJobSchema,
  pollStaleAfterMs,
  QUEUE,
  type ResultDelivery,
  RetryableJobError,
  resultJobId,
  type SinkJobSpec,
  schedulerIdFor,
} from '@qsm/queues';
import type { PollLock } from '@qsm/redis';
import type { PollerMetrics } from './poller-metrics.js';

export type PollOutcome =
  | { outcome: 'ok'; sessions: number; durationMs: number }
  | { outcome: 'skipped_stale'; lateMs: number }
  | { outcome: 'skipped_overlap' }
  | { outcome: 'skipped_delivered' }
  | { outcome: 'skipped_not_in_config' };

/** What the handler reads of a BullMQ job: its data, BullMQ's public fields for its due time, its attempts. */
export type PollJob = Pick<
  Job<PollJobData>,
  'data' | 'timestamp' | 'opts' | 'repeatJobKey' | 'attemptsMade' | 'stalledCounter'
>;

export interface PollHandlerDeps {
  /** The settings in force now (they change on a config reload). */
  settings(): Settings;
  /** The QPS client in force now (a new one after a certificate change). */
  qps(): QpsClient;
  env: Pick<PollerEnv, 'QPS_TIMEOUT_MS'> & Pick<TrackingEnv, 'SESSION_TRACKING'>;
  lock: PollLock;
  delivery: Pick<ResultDelivery, 'deliver' | 'deliveredInGroup'>;
  metrics: PollerMetrics;
  logger: Logger;
}

/** The poll timeout: below the interval so that a slow QPS cannot make two polls of one proxy overlap. */
export function pollTimeoutMs(settings: Settings, env: Pick<PollerEnv, 'QPS_TIMEOUT_MS'>): number {
  const interval = settings.userSessions.pollingInterval;
  const fitting = Math.max(500, Math.floor(interval * 0.8));
  return Math.min(env.QPS_TIMEOUT_MS ?? 10_000, fitting);
}

/**
 * What a poller does with one poll job. It looks the server up in the current config, skips a poll that
 * is stale, already delivered by an earlier attempt, or running elsewhere (the poll lock), fetches the
 * sessions, and adds one PollResult to every enabled sink queue in one atomic step (with SESSION_TRACKING,
 * also the sessions' identities to the tracker's queue, in the same step). A failed poll becomes
 * an error record for InfluxDB and a thrown job error; errors that retrying cannot fix are permanent.
 */
export function createPollHandler(deps: PollHandlerDeps) {
  const { lock, delivery, metrics, logger } = deps;

  const deliver = async (jobs: Array<SinkJobSpec | false>, what: string) => {
    const receipt = await delivery.deliver(jobs.filter((j): j is SinkJobSpec => j !== false));
    if (receipt.markers === 'not_written') {
      // The jobs are in; without their markers, a retried attempt of this poll would deliver it again.
      metrics.markersLost.inc();
      logger.warn(
        { err: receipt.error, what },
        'delivery markers not written: a retried poll may deliver this result a second time',
      );
    }
  };

  const recordFailure = async (
    identity: Omit<PollFailure, 'kind' | 'failedAt' | 'category' | 'message' | 'url' | 'attempt'>,
    error: QpsError,
    dueAt: number,
    attempt: number,
    timeoutMs: number,
  ) => {
    const settings = deps.settings();
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
    const id = failureJobId(identity, dueAt, attempt);
    await deliver([{ queue: QUEUE.influx, id, data: failure }], id);
  };

  return async function handlePoll(job: PollJob, signal?: AbortSignal): Promise<PollOutcome> {
    const parsed = pollJobSchema.safeParse(job.data);
    if (!parsed.success) throw new PermanentJobError('invalid_job', formatIssues(parsed.error.issues));
    const target = parsed.data;
    const current = deps.settings();
    const server = target.discovered
      ? discoveredServer(target.serverName, target.virtualProxy, target.discovered)
      : findServer(current, target.serverName);
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
    const lateMs = Date.now() - dueAt;
    if (lateMs > pollStaleAfterMs(pollJob, current.userSessions.pollingInterval)) {
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
    const timeoutMs = pollTimeoutMs(current, deps.env);
    const schedulerId = schedulerIdFor(target);
    const token = randomUUID();
    // The lock outlives a stuck process only briefly: the request deadline plus a margin.
    if (!(await lock.acquire(schedulerId, token, timeoutMs + 5000))) {
      metrics.polls.inc({ outcome: 'skipped_overlap', category: '' });
      return { outcome: 'skipped_overlap' };
    }
    const client = deps.qps();
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
        ...(target.discovered?.sessionInactivityTimeoutMinutes === undefined
          ? {}
          : { sessionInactivityTimeoutMinutes: target.discovered.sessionInactivityTimeoutMinutes }),
        sessions: list.sessions,
      };
      const id = resultJobId(target, dueAt);
      await deliver(
        [
          current.influxdbConfig.enable && { queue: QUEUE.influx, id, data: result },
          current.mqttConfig.enable && { queue: QUEUE.mqtt, id, data: result },
          deps.env.SESSION_TRACKING && {
            queue: QUEUE.track,
            id,
            data: trackResult(result, intervalStartOf(dueAt, target.intervalMs), target.intervalMs),
          },
        ],
        id,
      );
      metrics.polls.inc({ outcome: 'ok', category: '' });
      metrics.sessions.inc(list.sessions.length);
      sessionCount = list.sessions.length;
      return { outcome: 'ok', sessions: list.sessions.length, durationMs: result.durationMs };
    } finally {
      // Recording the count for the session gauge rides on the lock release: one round trip. A lock not
      // released expires by itself (the request deadline plus a margin).
      await lock.release(schedulerId, token, sessionCount).catch((error: unknown) => {
        logger.debug({ err: error, schedulerId }, 'poll lock not released; it expires by itself');
      });
    }
  };
}

/** What the tracker gets of a successful poll: who had which session, and when it was polled. */
export function trackResult(result: PollResult, intervalStart: number, intervalMs: number): TrackResultJob {
  const { sessions, kind: _sessions, ...fields } = result;
  const tracked: TrackedSession[] = [];
  for (const session of sessions) {
    // The poller's QPS client passes only sessions with an identity; this keeps the types honest.
    const who = sessionIdentity(session);
    if (who) tracked.push({ sessionId: who.sessionId, userDirectory: who.directory, userId: who.userId });
  }
  return { ...fields, kind: 'track_result', intervalStart, intervalMs, sessions: tracked };
}

/** A target found in the Qlik repository, as if the user had listed it under `servers[]`. */
function discoveredServer(
  serverName: string,
  virtualProxy: string,
  identity: NonNullable<PollJobData['discovered']>,
): ServerSettings {
  return {
    host: identity.hostName,
    hostName: identity.hostName,
    serverName,
    serverDescription: identity.serverDescription,
    serverTags: identity.serverTags,
    userSessions: { enable: true, host: identity.qpsHost, virtualProxies: [virtualProxy] },
  };
}

function isPolled(settings: Settings, server: ServerSettings, virtualProxy: string): boolean {
  return (
    settings.userSessions.enableSessionExtract &&
    server.userSessions.enable &&
    server.userSessions.virtualProxies.includes(virtualProxy)
  );
}
