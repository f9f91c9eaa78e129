import { collectDefaultMetrics, Registry } from 'prom-client';

/** A Prometheus registry with Node's process metrics, every series labelled with the app's role. */
export function createMetricsRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  return registry;
}
