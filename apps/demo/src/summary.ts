import { metricValue as sumSeries } from '@qsm/prometheus-text';

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

export interface Sample {
  at: number;
  totals: Totals;
}

/**
 * The summary line. Polls come in bursts, one per polling interval, so polls/s is measured over the last
 * `windowMs` (longer than an interval), not since the previous line: a line printed between two bursts would
 * say 0.0 while every proxy is polled on time. `samples` are oldest first; the last one is now.
 */
export function formatSummary(samples: readonly Sample[], windowMs: number): string {
  const now = samples.at(-1);
  if (!now) return '';
  const from = samples.find((s) => now.at - s.at <= windowMs) ?? now;
  const seconds = (now.at - from.at) / 1000;
  const rate = seconds > 0 ? ((now.totals.polls - from.totals.polls) / seconds).toFixed(1) : '0.0';
  const t = now.totals;
  return `polls/s ${rate} | sessions now ${t.sessions} | points written ${t.points} | MQTT messages ${t.messages} | failed polls ${t.failures}`;
}
