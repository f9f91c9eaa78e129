import { collectDefaultMetrics, Registry } from 'prom-client';

/** A Prometheus registry with Node's process metrics, every series labelled with the app's role. */
export function createMetricsRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * The metric `name` of `registry`, made by `make` the first time: the all-in-one app runs several roles on
 * one registry, and a role may be started again, so each metric is registered once per registry.
 */
export function metricOnce<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}
