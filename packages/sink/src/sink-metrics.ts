import { metricOnce } from '@qsm/host';
import { Counter, Histogram, type Registry } from 'prom-client';

export function sinkRetryMetrics(registry: Registry) {
  return {
    retries: metricOnce(
      registry,
      'qsm_sink_retries_total',
      () =>
        new Counter({
          name: 'qsm_sink_retries_total',
          help: 'Sink jobs that failed and were scheduled for another attempt, by sink.',
          labelNames: ['sink'],
          registers: [registry],
        }),
    ),
    givenUp: metricOnce(
      registry,
      'qsm_sink_results_given_up_total',
      () =>
        new Counter({
          name: 'qsm_sink_results_given_up_total',
          help: 'Results a sink gave up on (not delivered within SINK_MAX_AGE_MS of their poll), by sink.',
          labelNames: ['sink'],
          registers: [registry],
        }),
    ),
  };
}

export function deliveryLatencyMetric(registry: Registry) {
  return metricOnce(
    registry,
    'qsm_result_delivery_seconds',
    () =>
      new Histogram({
        name: 'qsm_result_delivery_seconds',
        help: 'Time from the poll to the destination acknowledging its result, by sink.',
        labelNames: ['sink'],
        buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300, 3600],
        registers: [registry],
      }),
  );
}
