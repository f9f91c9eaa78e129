import { metricOnce } from '@qsm/host';
import { Counter, Histogram, type Registry } from 'prom-client';

export function influxSinkMetrics(registry: Registry) {
  return {
    points: metricOnce(
      registry,
      'qsm_influx_points_written_total',
      () =>
        new Counter({
          name: 'qsm_influx_points_written_total',
          help: 'Points InfluxDB acknowledged.',
          registers: [registry],
        }),
    ),
    rejected: metricOnce(
      registry,
      'qsm_influx_points_rejected_total',
      () =>
        new Counter({
          name: 'qsm_influx_points_rejected_total',
          help: 'Points InfluxDB refused for good (parse errors, field type conflicts, limits).',
          registers: [registry],
        }),
    ),
    batches: metricOnce(
      registry,
      'qsm_influx_write_batches_total',
      () =>
        new Counter({
          name: 'qsm_influx_write_batches_total',
          help: 'Writes to InfluxDB by outcome (ok, unavailable, rejected).',
          labelNames: ['outcome'],
          registers: [registry],
        }),
    ),
    batchDuration: metricOnce(
      registry,
      'qsm_influx_write_duration_seconds',
      () =>
        new Histogram({
          name: 'qsm_influx_write_duration_seconds',
          help: 'Duration of writes to InfluxDB.',
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
        }),
    ),
  };
}
