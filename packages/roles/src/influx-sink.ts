import type { InfluxSinkEnv, Settings } from '@qsm/config';
import {
  buildErrorPoint,
  buildSessionLineGroups,
  createInfluxWriter,
  createPointBatcher,
  InfluxWriteError,
  toLineProtocol,
} from '@qsm/influx';
import {
  closeWorker,
  type InfluxSinkJob,
  influxSinkJobSchema,
  type Job,
  PermanentJobError,
  QUEUE,
  RetryableJobError,
  startWorker,
} from '@qsm/queues';
import { startIdleSink } from './idle-sink.js';
import { deliveryLatencyMetric, influxSinkMetrics } from './metrics.js';
import type { RoleContext, RunningRole } from './role.js';
import { createSinkRetries } from './sink-retries.js';
import { createStateLog } from './state-log.js';

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

  const writeJob = async (job: Job<InfluxSinkJob>) => {
    const parsed = influxSinkJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new PermanentJobError('invalid_job', parsed.error.issues.map((i) => i.message).join('; '));
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
          { jobId: job.id, status: error.details.status },
          `InfluxDB rejected a result: ${error.message}`,
        );
        throw new PermanentJobError('influx_rejected', error.message);
      }
      throw new RetryableJobError('influx_unavailable', (error as Error).message);
    }
    const ageMs = Date.now() - (data.kind === 'sessions' ? data.polledAt : data.failedAt);
    delivery.observe({ sink: 'influx' }, ageMs / 1000);
    return { points: lines, ageMs };
  };

  const retries = createSinkRetries<InfluxSinkJob>('influx', env, logger, context.registry, bornAt);
  const worker = startWorker<InfluxSinkJob>({
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

function bornAt(job: Job<InfluxSinkJob> | undefined): number {
  const data = job?.data as Partial<{ polledAt: number; failedAt: number }> | undefined;
  return data?.polledAt ?? data?.failedAt ?? job?.timestamp ?? Date.now();
}
