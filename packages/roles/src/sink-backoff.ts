import type { SinkEnv } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import { type Job, sinkRetryDelay } from '@qsm/queues';
import type { Registry } from 'prom-client';
import { sinkRetryMetrics } from './metrics.js';

/**
 * The retry schedule of a sink's jobs: capped exponential backoff while the result is younger than
 * SINK_MAX_AGE_MS, then one error line and the job fails (visibly, in Bull Board's failed list).
 */
export function sinkBackoff<T>(
  sink: 'influx' | 'mqtt',
  env: Pick<SinkEnv, 'SINK_MAX_AGE_MS' | 'SINK_MAX_BACKOFF_MS'>,
  logger: Logger,
  registry: Registry,
  bornAt: (job: Job<T> | undefined) => number,
) {
  const retries = sinkRetryMetrics(registry);
  return (attemptsMade: number, job: Job<T> | undefined): number => {
    const delay = sinkRetryDelay(attemptsMade, bornAt(job), {
      baseMs: 1000,
      maxMs: env.SINK_MAX_BACKOFF_MS,
      maxAgeMs: env.SINK_MAX_AGE_MS,
    });
    if (delay < 0)
      logger.error({ jobId: job?.id, sink }, `gave up on a result older than ${env.SINK_MAX_AGE_MS} ms`);
    else retries.inc({ sink });
    return delay;
  };
}
