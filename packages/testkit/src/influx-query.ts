import { services } from './services.js';

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** Runs InfluxQL against InfluxDB 1.x and returns the series of the first statement (rows as objects via rows()). */
export async function influxQuery(db: string, q: string, url = services.influxUrl): Promise<InfluxSeries[]> {
  const res = await fetch(`${url}/query?${new URLSearchParams({ db, q, epoch: 'ms' })}`);
  const body = (await res.json()) as {
    results?: Array<{ series?: InfluxSeries[]; error?: string }>;
    error?: string;
  };
  const error = body.error ?? body.results?.[0]?.error;
  if (!res.ok || error) throw new Error(`InfluxQL "${q}" failed: ${error ?? res.status}`);
  return body.results?.[0]?.series ?? [];
}

/** The rows of all series as objects, with the series tags merged in. */
export function rows(series: InfluxSeries[]): Array<Record<string, unknown>> {
  return series.flatMap((s) =>
    s.values.map((values) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, values[i]])) })),
  );
}

export async function dropInfluxDatabase(db: string, url = services.influxUrl): Promise<void> {
  await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q: `DROP DATABASE "${db}"` }) });
}
