import { collectDefaultMetrics, Registry } from 'prom-client';

/** Renders the exposition text of one metric (HELP, TYPE and its series, no trailing newline). */
export type MetricsTextSource = () => Promise<string>;

/**
 * Metrics a role renders as exposition text itself, served after the registry's: for a metric with so
 * many series that prom-client's serializing them costs the scrape its time budget.
 */
export interface MetricsTexts {
  /** The registry's default labels; a source puts them on its series where prom-client would. */
  readonly defaultLabels: Readonly<Record<string, string>>;
  /** By metric name: the all-in-one app runs several roles on one process, and each metric is served once. */
  readonly sources: Map<string, MetricsTextSource>;
}

/** The metrics of an app: a Prometheus registry and the texts served with it. */
export interface AppMetrics {
  registry: Registry;
  texts: MetricsTexts;
}

/** A Prometheus registry with Node's process metrics, every series labelled with the app's role. */
export function createAppMetrics(role: string): AppMetrics {
  const registry = new Registry();
  const defaultLabels = { role };
  registry.setDefaultLabels(defaultLabels);
  collectDefaultMetrics({ register: registry });
  return { registry, texts: { defaultLabels, sources: new Map() } };
}

/** The registry's exposition text followed by the texts', laid out as prom-client lays out its metrics. */
export async function metricsExposition(registry: Registry, texts: MetricsTexts): Promise<string> {
  const [base, ...more] = await Promise.all([
    registry.metrics(),
    ...[...texts.sources.values()].map((source) => source()),
  ]);
  // prom-client ends the text with a newline and puts an empty line between metrics.
  return more.reduce((text, metric) => `${text}\n${metric}\n`, base);
}

/**
 * The metric `name` of `registry`, made by `make` the first time: the all-in-one app runs several roles on
 * one registry, and a role may be started again, so each metric is registered once per registry.
 */
export function metricOnce<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}
