import type { SinkEnv } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import { type Job, sinkRetryDelay } from '@qsm/queues';
import type { Registry } from 'prom-client';
import { createGiveUpLog, type GiveUpLog } from './give-up-log.js';
import { sinkRetryMetrics } from './sink-metrics.js';

export interface SinkRetries<T> {
  /**
   * The retry schedule of a sink's jobs (BullMQ's backoff strategy): capped exponential backoff while the
   * result is younger than SINK_MAX_AGE_MS, then -1: the job fails, visibly, in Bull Board's failed list.
   */
  backoff(attemptsMade: number, job: Job<T> | undefined): number;
  /** Results given up, counted and logged. */
  givenUp: GiveUpLog;
}

export function createSinkRetries<T>(
  sink: 'influx' | 'mqtt',
  env: Pick<SinkEnv, 'SINK_MAX_AGE_MS' | 'SINK_MAX_BACKOFF_MS'>,
  logger: Logger,
  registry: Registry,
  bornAt: (job: Job<T> | undefined) => number,
  resultsOf: (job: Job<T> | undefined) => number = () => 1,
): SinkRetries<T> {
  const metrics = sinkRetryMetrics(registry);
  const givenUp = createGiveUpLog(logger, { sink, maxAgeMs: env.SINK_MAX_AGE_MS, counter: metrics.givenUp });
  return {
    backoff(attemptsMade, job) {
      const born = bornAt(job);
      const delay = sinkRetryDelay(attemptsMade, born, {
        baseMs: 1000,
        maxMs: env.SINK_MAX_BACKOFF_MS,
        maxAgeMs: env.SINK_MAX_AGE_MS,
      });
      if (delay < 0) givenUp.record(job?.id, Date.now() - born, resultsOf(job));
      else metrics.retries.inc({ sink });
      return delay;
    },
    givenUp,
  };
}
