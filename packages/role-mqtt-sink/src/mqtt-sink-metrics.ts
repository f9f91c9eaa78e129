import { metricOnce } from '@qsm/host';
import { Counter, type Registry } from 'prom-client';

export function mqttSinkMetrics(registry: Registry) {
  return {
    published: metricOnce(
      registry,
      'qsm_mqtt_messages_published_total',
      () =>
        new Counter({
          name: 'qsm_mqtt_messages_published_total',
          help: 'Session snapshots the broker acknowledged.',
          registers: [registry],
        }),
    ),
    trackingPublished: metricOnce(
      registry,
      'qsm_mqtt_tracking_messages_published_total',
      () =>
        new Counter({
          name: 'qsm_mqtt_tracking_messages_published_total',
          help: 'Session tracking messages the broker acknowledged, by kind (session_event: one per event; site_figures).',
          labelNames: ['kind'],
          registers: [registry],
        }),
    ),
    superseded: metricOnce(
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
