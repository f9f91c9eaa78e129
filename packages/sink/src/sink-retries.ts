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

export interface SinkRetrySettings<T> {
  sink: 'influx' | 'mqtt';
  /** SINK_MAX_AGE_MS: a result not delivered this long after its poll is given up. */
  maxAgeMs: number;
  /** SINK_MAX_BACKOFF_MS: the longest wait between two tries. */
  maxBackoffMs: number;
  logger: Logger;
  registry: Registry;
  /** When the job's (oldest) result was made: its age decides between another try and giving up. */
  bornAt: (job: Job<T> | undefined) => number;
  /** How many results the job holds (a group of InfluxDB records holds several); 1 by default. */
  resultsOf?: (job: Job<T> | undefined) => number;
}

/** The retry and give-up decision both sinks share, with its metrics and its log. */
export function createSinkRetries<T>(settings: SinkRetrySettings<T>): SinkRetries<T> {
  const { sink, maxAgeMs, maxBackoffMs, bornAt } = settings;
  const resultsOf = settings.resultsOf ?? (() => 1);
  const metrics = sinkRetryMetrics(settings.registry);
  const givenUp = createGiveUpLog(settings.logger, { sink, maxAgeMs, counter: metrics.givenUp });
  return {
    backoff(attemptsMade, job) {
      const born = bornAt(job);
      const delay = sinkRetryDelay(attemptsMade, born, { baseMs: 1000, maxMs: maxBackoffMs, maxAgeMs });
      if (delay < 0) givenUp.record(job?.id, Date.now() - born, resultsOf(job));
      else metrics.retries.inc({ sink });
      return delay;
    },
    givenUp,
  };
}
