import { metricValue as sumSeries } from '@qsm/runtime';

export interface Totals {
  polls: number;
  failures: number;
  sessions: number;
  points: number;
  messages: number;
}

/** The figures of the live summary line, from the /metrics of the pollers and sinks. */
export function totalsFrom(pollers: string[], influx: string | undefined, mqtt: string | undefined): Totals {
  const polls = pollers.reduce((sum, t) => sum + sumSeries(t, 'qsm_polls_total', { outcome: 'ok' }), 0);
  const failures = pollers.reduce(
    (sum, t) => sum + sumSeries(t, 'qsm_polls_total', { outcome: 'failed' }),
    0,
  );
  // Every poller exports the same gauge (from Redis): take one.
  const sessions = pollers[0] ? sumSeries(pollers[0], 'butlersos_user_session_total') : 0;
  return {
    polls: polls + failures,
    failures,
    sessions,
    points: influx ? sumSeries(influx, 'qsm_influx_points_written_total') : 0,
    messages: mqtt ? sumSeries(mqtt, 'qsm_mqtt_messages_published_total') : 0,
  };
}

export function formatSummary(now: Totals, before: Totals, seconds: number): string {
  const rate = ((now.polls - before.polls) / Math.max(seconds, 0.001)).toFixed(1);
  return `polls/s ${rate} | sessions now ${now.sessions} | points written ${now.points} | MQTT messages ${now.messages} | failed polls ${now.failures}`;
}
