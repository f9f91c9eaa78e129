import type { InfluxSinkEnv, Settings } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import type { InfluxQueueJob } from '@qsm/model';
import { closeWorker, QUEUE, startWorker } from '@qsm/queues';
import { createSinkRetries, startIdleSink } from '@qsm/sink';
import { createInfluxJobHandler } from './influx-job-handler.js';
import { createInfluxOutput } from './influx-output.js';
import { oldestRecordAt, storedRecords } from './job-records.js';

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
  const output = createInfluxOutput({
    influx,
    connection: {
      url: env.INFLUX_URL,
      caFile: env.INFLUX_CA_FILE,
      rejectUnauthorized: env.INFLUX_REJECT_UNAUTHORIZED,
      username: env.INFLUX_USERNAME,
      password: env.INFLUX_PASSWORD,
      token: env.INFLUX_TOKEN,
    },
    flushIntervalMs: env.INFLUX_FLUSH_INTERVAL_MS,
    parallelWrites: env.INFLUX_PARALLEL_WRITES,
    logger,
    registry: context.registry,
  });
  const handle = createInfluxJobHandler({
    output,
    lineSettings: () => ({
      version: influx.version,
      excludeUser: settings.userSessions.excludeUser,
      errorTracking: settings.errorTracking,
      sessionIdHashKey: env.SESSION_ID_HASH_KEY,
      sessionEventsAsUserEvents: env.SESSION_EVENTS_AS_USER_EVENTS,
    }),
    logger,
    registry: context.registry,
  });
  const retries = createSinkRetries<InfluxQueueJob>({
    sink: 'influx',
    maxAgeMs: env.SINK_MAX_AGE_MS,
    maxBackoffMs: env.SINK_MAX_BACKOFF_MS,
    logger,
    registry: context.registry,
    bornAt: oldestRecordAt,
    resultsOf: (job) => storedRecords(job).length || 1,
  });
  const worker = startWorker<InfluxQueueJob>({
    queue: QUEUE.influx,
    context: context.queues,
    concurrency: env.INFLUX_CONCURRENCY,
    lockMs: context.workerLockMs,
    maxStalledCount: 5,
    processor: handle,
    backoff: retries.backoff,
    onError: (error) => logger.debug({ err: error }, 'influx sink worker error'),
  });

  logger.info(
    {
      destination: output.description,
      concurrency: env.INFLUX_CONCURRENCY,
      maxBatchSize: influx.maxBatchSize,
    },
    'InfluxDB sink running',
  );

  return {
    name: 'influx-sink',
    checks: () => output.checks(),
    async applySettings(next: Settings) {
      output.applySettings(next.influxdbConfig);
      settings = next;
    },
    async stop() {
      const closing = closeWorker(worker, context.queues.connection);
      await output.flush();
      await closing;
      retries.givenUp.flush();
    },
  };
}
