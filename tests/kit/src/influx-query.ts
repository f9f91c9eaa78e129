import { services } from './services.js';

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

interface QueryAnswer {
  results?: Array<{ series?: InfluxSeries[]; error?: string }>;
  error?: string;
}

/** InfluxDB answers a refused statement with 200 and the error in the body: both count. */
async function readQueryAnswer(res: Response, q: string): Promise<QueryAnswer> {
  const body = (await res.json().catch(() => ({ error: `an answer that is not JSON` }))) as QueryAnswer;
  const error = body.error ?? body.results?.find((r) => r.error)?.error;
  if (!res.ok || error) throw new Error(`InfluxQL "${q}" failed: ${error ?? res.status}`);
  return body;
}

/** Runs InfluxQL against InfluxDB 1.x and returns the series of the first statement (rows as objects via rows()). */
export async function influxQuery(db: string, q: string, url = services.influxUrl): Promise<InfluxSeries[]> {
  const res = await fetch(`${url}/query?${new URLSearchParams({ db, q, epoch: 'ms' })}`);
  return (await readQueryAnswer(res, q)).results?.[0]?.series ?? [];
}

/** The rows of all series as objects, with the series tags merged in. */
export function rows(series: InfluxSeries[]): Array<Record<string, unknown>> {
  return series.flatMap((s) =>
    s.values.map((values) => ({ ...s.tags, ...Object.fromEntries(s.columns.map((c, i) => [c, values[i]])) })),
  );
}

/**
 * Runs an InfluxQL statement that changes something (CREATE, DROP: InfluxDB wants them POSTed) and throws
 * when InfluxDB refuses it, so a test never goes on from a setup step that silently did not happen.
 */
export async function influxCommand(q: string, url = services.influxUrl): Promise<void> {
  await readQueryAnswer(await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q }) }), q);
}

/** Writes line protocol as a test's own seed data; throws unless InfluxDB took every point (204). */
export async function influxWrite(
  target: { db: string; rp?: string; url?: string },
  lines: string[],
): Promise<void> {
  const params = new URLSearchParams({
    db: target.db,
    precision: 'ms',
    ...(target.rp ? { rp: target.rp } : {}),
  });
  const res = await fetch(`${target.url ?? services.influxUrl}/write?${params}`, {
    method: 'POST',
    body: lines.join('\n'),
  });
  if (res.status !== 204)
    throw new Error(`InfluxDB refused the seed write (${res.status}): ${await res.text()}`);
}

/**
 * Cleanup: best effort, it must not hide the error of the test it cleans up after. A database it could
 * not drop is named on stderr.
 */
export async function dropInfluxDatabase(db: string, url = services.influxUrl): Promise<void> {
  await influxCommand(`DROP DATABASE "${db}"`, url).catch((error: unknown) => {
    process.stderr.write(`could not drop the test database ${db}: ${(error as Error).message}\n`);
  });
}
