import { metricOnce } from '@qsm/host';
import { Counter, Gauge, type Registry } from 'prom-client';

export type DiscoveryMetrics = ReturnType<typeof discoveryMetrics>;

export function discoveryMetrics(registry: Registry) {
  return {
    reads: metricOnce(
      registry,
      'qsm_discovery_reads_total',
      () =>
        new Counter({
          name: 'qsm_discovery_reads_total',
          help: 'Reads of the Qlik repository by outcome (ok, failed) and error category.',
          labelNames: ['outcome', 'category'],
          registers: [registry],
        }),
    ),
    lastSuccess: metricOnce(
      registry,
      'qsm_discovery_last_success_timestamp_seconds',
      () =>
        new Gauge({
          name: 'qsm_discovery_last_success_timestamp_seconds',
          help: 'When the repository was last read successfully (the discovered targets in force date from then).',
          registers: [registry],
        }),
    ),
    targets: metricOnce(
      registry,
      'qsm_discovered_targets',
      () =>
        new Gauge({
          name: 'qsm_discovered_targets',
          help: 'Poll targets found in the Qlik repository and polled, beyond the virtual proxies the config lists.',
          registers: [registry],
        }),
    ),
  };
}
