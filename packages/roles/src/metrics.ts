import { Counter, Histogram, type Registry } from 'prom-client';

/*
 * Metric names are prefixed `qsm_`; Butler SOS's session gauge keeps its own name so that existing
 * Prometheus queries keep working. Each is registered once per registry (the all-in-one mode runs
 * several roles on one registry).
 */

function once<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function pollerMetrics(registry: Registry) {
  return {
    polls: once(
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
    staleSkipped: once(
      registry,
      'qsm_polls_stale_skipped_total',
      () =>
        new Counter({
          name: 'qsm_polls_stale_skipped_total',
          help: 'Poll jobs skipped because they waited longer than their polling interval.',
          registers: [registry],
        }),
    ),
    duration: once(
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
    sessions: once(
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

export function influxSinkMetrics(registry: Registry) {
  return {
    points: once(
      registry,
      'qsm_influx_points_written_total',
      () =>
        new Counter({
          name: 'qsm_influx_points_written_total',
          help: 'Points InfluxDB acknowledged.',
          registers: [registry],
        }),
    ),
    rejected: once(
      registry,
      'qsm_influx_points_rejected_total',
      () =>
        new Counter({
          name: 'qsm_influx_points_rejected_total',
          help: 'Points InfluxDB refused for good (parse errors, field type conflicts, limits).',
          registers: [registry],
        }),
    ),
    batches: once(
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
    batchDuration: once(
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

export function mqttSinkMetrics(registry: Registry) {
  return {
    published: once(
      registry,
      'qsm_mqtt_messages_published_total',
      () =>
        new Counter({
          name: 'qsm_mqtt_messages_published_total',
          help: 'Session snapshots the broker acknowledged.',
          registers: [registry],
        }),
    ),
    superseded: once(
      registry,
      'qsm_mqtt_snapshots_superseded_total',
      () =>
        new Counter({
          name: 'qsm_mqtt_snapshots_superseded_total',
          help: 'Snapshots not published because a newer one of the same topic was published first.',
          registers: [registry],
        }),
    ),
  };
}

export function sinkRetryMetrics(registry: Registry) {
  return {
    retries: once(
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
    givenUp: once(
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
  return once(
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
