import { metricOnce } from '@qsm/host';
import { Counter, Histogram, type Registry } from 'prom-client';

export type TrackerMetrics = ReturnType<typeof trackerMetrics>;

const MINUTE = 60;
const HOUR = 3600;

/** The tracker's metrics; none has a user label (a series per user would not scale and names people). */
export function trackerMetrics(registry: Registry) {
  return {
    starts: metricOnce(
      registry,
      'qsm_session_starts_total',
      () =>
        new Counter({
          name: 'qsm_session_starts_total',
          help: 'Session start events delivered to the sink queues (including those of a first poll, start unknown).',
          registers: [registry],
        }),
    ),
    ends: metricOnce(
      registry,
      'qsm_session_ends_total',
      () =>
        new Counter({
          name: 'qsm_session_ends_total',
          help: 'Session end events delivered to the sink queues, by reason (gone, proxy_restart, not_monitored).',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ),
    duration: metricOnce(
      registry,
      'qsm_session_duration_seconds',
      () =>
        new Histogram({
          name: 'qsm_session_duration_seconds',
          help: 'Durations (last seen - first seen) of ended sessions: a lower bound, known to within one polling interval.',
          buckets: [
            MINUTE,
            5 * MINUTE,
            15 * MINUTE,
            30 * MINUTE,
            HOUR,
            2 * HOUR,
            4 * HOUR,
            8 * HOUR,
            12 * HOUR,
            24 * HOUR,
          ],
          registers: [registry],
        }),
    ),
    results: metricOnce(
      registry,
      'qsm_track_results_total',
      () =>
        new Counter({
          name: 'qsm_track_results_total',
          help: 'Poll results taken by the tracker, by outcome: applied, retry (the same poll again), older (not newer than the last applied one: changes nothing).',
          labelNames: ['outcome'],
          registers: [registry],
        }),
    ),
    lag: metricOnce(
      registry,
      'qsm_session_event_lag_seconds',
      () =>
        new Histogram({
          name: 'qsm_session_event_lag_seconds',
          help: 'Time from a poll to its session events being on the sink queues.',
          buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300],
          registers: [registry],
        }),
    ),
  };
}
