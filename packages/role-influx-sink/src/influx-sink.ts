import type { InfluxSinkEnv, Settings } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import {
  buildErrorPoint,
  buildSessionLineGroups,
  createInfluxWriter,
  createPointBatcher,
  InfluxWriteError,
  toLineProtocol,
} from '@qsm/influx';
import { formatIssues, type InfluxQueueJob, influxSinkGroupSchema, influxSinkJobSchema } from '@qsm/model';
import { closeWorker, type Job, PermanentJobError, QUEUE, RetryableJobError, startWorker } from '@qsm/queues';
import { createSinkRetries, createStateLog, deliveryLatencyMetric, startIdleSink } from '@qsm/sink';
import { influxSinkMetrics } from './influx-sink-metrics.js';

/**
 * A BullMQ worker on the sink-influx queue. It turns each PollResult into Butler SOS's points (the
 * blacklist is applied here, and only here) and each poll error into a `butler_sos_errors` point,
 * batches the points of many jobs into one write, and completes a job only after InfluxDB acknowledged
 * its points. While InfluxDB is away, jobs are retried with capped exponential backoff until they are
 * older than SINK_MAX_AGE_MS.
 */
export async function startInfluxSink(context: RoleContext, env: InfluxSinkEnv): Promise<RunningRole> {
  const { logger } = context;
  const influx = context.settings.influxdbConfig;
  if (!influx.enable) return startIdleSink(context, 'influx-sink', 'influxdbConfig');
  let settings = context.settings;
  const metrics = influxSinkMetrics(context.registry);
  const delivery = deliveryLatencyMetric(context.registry);
  const state = createStateLog(logger, 'influxdb');
  const writer = createInfluxWriter(influx, {
    url: env.INFLUX_URL,
    caFile: env.INFLUX_CA_FILE,
    rejectUnauthorized: env.INFLUX_REJECT_UNAUTHORIZED,
    username: env.INFLUX_USERNAME,
    password: env.INFLUX_PASSWORD,
    token: env.INFLUX_TOKEN,
  });
  let targetReady = false;

  const batcher = createPointBatcher({
    maxPoints: influx.maxBatchSize,
    flushIntervalMs: env.INFLUX_FLUSH_INTERVAL_MS,
    parallelWrites: env.INFLUX_PARALLEL_WRITES,
    async write(lines) {
      if (!targetReady) {
        const note = await writer.ensureTarget();
        targetReady = true;
        if (note) logger.info({ destination: writer.description }, note);
      }
      await writer.write(lines);
    },
    onBatch({ lines, durationMs, error }) {
      metrics.batchDuration.observe(durationMs / 1000);
      if (!error) {
        metrics.batches.inc({ outcome: 'ok' });
        metrics.points.inc(lines);
        state.up(writer.description);
        return;
      }
      metrics.batches.inc({ outcome: error.kind });
      if (error.kind === 'unavailable') state.down(error.message);
    },
  });

  const pointOptions = () => ({
    version: influx.version,
    excludeUser: settings.userSessions.excludeUser,
    sessionIdHashKey: env.SESSION_ID_HASH_KEY,
  });

  /** Writes one poll's record; resolves once InfluxDB acknowledged it, with its points and age. */
  const writeRecord = async (member: QueueMember): Promise<RecordOutcome> => {
    const parsed = influxSinkJobSchema.safeParse(member.data);
    if (!parsed.success) {
      return {
        ok: false,
        id: member.id,
        category: 'invalid_job',
        message: formatIssues(parsed.error.issues),
      };
    }
    const data = parsed.data;
    // Summary and list apart from the details: InfluxDB may refuse new session ids (a tag value limit), and
    // must not take the counts with them.
    const { aggregates, details } =
      data.kind === 'sessions'
        ? buildSessionLineGroups(data, pointOptions())
        : {
            aggregates: settings.errorTracking.influxdb
              ? toLineProtocol([buildErrorPoint(data, settings.errorTracking.measurementName)])
              : [],
            details: [],
          };
    const lines = aggregates.length + details.length;
    try {
      await batcher.add(aggregates, details);
    } catch (error) {
      if (error instanceof InfluxWriteError && error.kind === 'rejected') {
        metrics.rejected.inc(error.details.dropped ?? lines);
        logger.error(
          { jobId: member.id, status: error.details.status },
          `InfluxDB rejected a result: ${error.message}`,
        );
        return { ok: false, id: member.id, category: 'influx_rejected', message: error.message };
      }
      return { ok: false, id: member.id, category: 'influx_unavailable', message: (error as Error).message };
    }
    const ageMs = Date.now() - (data.kind === 'sessions' ? data.polledAt : data.failedAt);
    delivery.observe({ sink: 'influx' }, ageMs / 1000);
    return { ok: true, points: lines, ageMs };
  };

  /**
   * A job holds one poll's record, or a group of them (see groupInfluxJobs). The records of a group are
   * written together, each one's outcome its own: while InfluxDB is away the whole group is retried (what
   * was written already is written again with the same timestamps, which leaves the same data); a record
   * InfluxDB refuses, or that is malformed, fails the job for good once the others are written, and the
   * job's reason names it.
   */
  const writeJob = async (job: Job<InfluxQueueJob>) => {
    const members = membersOf(job);
    const outcomes = await Promise.all(members.map(writeRecord));
    const problems = outcomes.filter((o): o is RecordProblem => !o.ok);
    const unavailable = problems.find((p) => p.category === 'influx_unavailable');
    if (unavailable) throw new RetryableJobError('influx_unavailable', unavailable.message);
    if (problems.length > 0) {
      const category = problems.some((p) => p.category === 'influx_rejected')
        ? 'influx_rejected'
        : 'invalid_job';
      throw new PermanentJobError(category, describeProblems(problems, members.length));
    }
    const written = outcomes as RecordWritten[];
    const points = written.reduce((sum, o) => sum + o.points, 0);
    if (members.length === 1) return { points, ageMs: written[0]!.ageMs };
    return { points, records: members.length, agesMs: written.map((o) => o.ageMs) };
  };

  const retries = createSinkRetries<InfluxQueueJob>({
    sink: 'influx',
    maxAgeMs: env.SINK_MAX_AGE_MS,
    maxBackoffMs: env.SINK_MAX_BACKOFF_MS,
    logger,
    registry: context.registry,
    bornAt,
    resultsOf: (job) => recordsIn(job).length || 1,
  });
  const worker = startWorker<InfluxQueueJob>({
    queue: QUEUE.influx,
    context: context.queues,
    concurrency: env.INFLUX_CONCURRENCY,
    lockMs: context.workerLockMs,
    maxStalledCount: 5,
    processor: writeJob,
    backoff: retries.backoff,
    onError: (error) => logger.debug({ err: error }, 'influx sink worker error'),
  });

  logger.info(
    {
      destination: writer.description,
      concurrency: env.INFLUX_CONCURRENCY,
      maxBatchSize: influx.maxBatchSize,
    },
    'InfluxDB sink running',
  );

  let lastPing = { at: 0, ok: false };
  return {
    name: 'influx-sink',
    async checks() {
      if (Date.now() - lastPing.at > 2000) lastPing = { at: Date.now(), ok: await writer.ping() };
      return { influxdb: lastPing.ok ? 'up' : `down: ${writer.description} does not answer` };
    },
    async applySettings(next: Settings) {
      if (JSON.stringify(next.influxdbConfig) !== JSON.stringify(settings.influxdbConfig)) {
        logger.warn('influxdbConfig changed: restart the InfluxDB sink to write to the new destination');
      }
      settings = next;
    },
    async stop() {
      const closing = closeWorker(worker, context.queues.connection);
      await batcher.flush();
      await closing;
      retries.givenUp.flush();
    },
  };
}

interface QueueMember {
  id: string;
  data: unknown;
}
interface RecordWritten {
  ok: true;
  points: number;
  ageMs: number;
}
interface RecordProblem {
  ok: false;
  id: string;
  category: 'invalid_job' | 'influx_rejected' | 'influx_unavailable';
  message: string;
}
type RecordOutcome = RecordWritten | RecordProblem;

/** The records a job holds: itself, or the members of its group. A malformed group is refused whole. */
function membersOf(job: Job<InfluxQueueJob>): QueueMember[] {
  const data = job.data as { kind?: unknown } | undefined;
  if (data?.kind !== 'group') return [{ id: job.id ?? '', data: job.data }];
  const group = influxSinkGroupSchema.safeParse(job.data);
  if (!group.success) throw new PermanentJobError('invalid_job', formatIssues(group.error.issues));
  return group.data.members;
}

/** A job's failure reason: a single record's message as it is; a group's names its failed members. */
function describeProblems(problems: RecordProblem[], members: number): string {
  if (members === 1) return problems[0]!.message;
  const shown = problems.slice(0, 3).map((p) => `${p.id}: ${p.message}`);
  const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
  return `${problems.length} of the ${members} records of this group: ${shown.join('; ')}${more}`;
}

/**
 * The records of a job as they are stored, unchecked: for timing its retries and counting what is given
 * up, where a malformed job (failed for good on its first try) needs no more than a best guess.
 */
function recordsIn(job: Job<InfluxQueueJob> | undefined): unknown[] {
  const data = job?.data as { kind?: unknown; members?: unknown } | undefined;
  if (data?.kind !== 'group') return data ? [data] : [];
  return Array.isArray(data.members) ? data.members.map((m) => (m as { data?: unknown } | null)?.data) : [];
}

/** When the oldest record of a job was made: retries give up once it is older than SINK_MAX_AGE_MS. */
function bornAt(job: Job<InfluxQueueJob> | undefined): number {
  const known = recordsIn(job)
    .map((data) => {
      const times = data as Partial<{ polledAt: number; failedAt: number }> | undefined;
      return times?.polledAt ?? times?.failedAt;
    })
    .filter((t): t is number => typeof t === 'number');
  return known.length > 0 ? Math.min(...known) : (job?.timestamp ?? Date.now());
}
