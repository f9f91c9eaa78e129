import { metricOnce } from '@qsm/host';
import { Counter, Histogram, type Registry } from 'prom-client';

export type PollerMetrics = ReturnType<typeof pollerMetrics>;

export function pollerMetrics(registry: Registry) {
  return {
    polls: metricOnce(
      registry,
      'qsm_polls_total',
      () =>
        new Counter({
          name: 'qsm_polls_total',
          help: 'Polls by outcome (ok, failed, skipped_stale, skipped_overlap, skipped_delivered, skipped_not_in_config) and error category.',
          labelNames: ['outcome', 'category'],
          registers: [registry],
        }),
    ),
    staleSkipped: metricOnce(
      registry,
      'qsm_polls_stale_skipped_total',
      () =>
        new Counter({
          name: 'qsm_polls_stale_skipped_total',
          help: 'Poll jobs skipped because they waited longer than their polling interval.',
          registers: [registry],
        }),
    ),
    markersLost: metricOnce(
      registry,
      'qsm_delivery_markers_lost_total',
      () =>
        new Counter({
          name: 'qsm_delivery_markers_lost_total',
          help: 'Deliveries whose delivery markers could not be written: a retried attempt of such a poll may deliver its result twice.',
          registers: [registry],
        }),
    ),
    duration: metricOnce(
      registry,
      'qsm_poll_duration_seconds',
      () =>
        new Histogram({
          name: 'qsm_poll_duration_seconds',
          help: 'Duration of QPS session requests, successful or not.',
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
        }),
    ),
    sessions: metricOnce(
      registry,
      'qsm_sessions_polled_total',
      () =>
        new Counter({
          name: 'qsm_sessions_polled_total',
          help: 'Sessions returned by QPS, summed over polls.',
          registers: [registry],
        }),
    ),
  };
}
