import { type DiscoveryEnv, readDiscoverySettings } from '@qsm/config';
import { resolveDiscoveredTargets } from '@qsm/discovery';
import { createDiscoveryRepositoryClient } from '@qsm/qps';
import type { DiscoverySetup } from './scheduler.js';

/**
 * Discovery from the environment (DISCOVERY_ENABLE, QRS_HOST, ...), or undefined when it is off. Each
 * config in force gets its own repository client and settings (the certificates, the repository host from
 * `appNames.hostIP` and the declared tags come from the file); a config that does not allow discovery is a
 * ConfigError that names what is missing.
 */
export function discoverySetupFrom(env: DiscoveryEnv): DiscoverySetup | undefined {
  if (!env.DISCOVERY_ENABLE) return undefined;
  return {
    create(settings) {
      const discovery = readDiscoverySettings(env, settings);
      if (!discovery) throw new Error('discovery is off');
      const client = createDiscoveryRepositoryClient(discovery);
      return {
        repository: discovery.repository.address,
        intervalMs: discovery.intervalMs,
        readTopology: (options) => client.readTopology(options),
        resolve(current, topology) {
          const { targets, notes } = resolveDiscoveredTargets(current, topology, discovery);
          return { targets, notes: notes.map((note) => note.message) };
        },
        close: () => client.close(),
      };
    },
  };
}
