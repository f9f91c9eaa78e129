import { type DiscoveryEnv, readDiscoverySettings } from '@qsm/config';
import { resolveDiscoveredTargets } from '@qsm/discovery';
import { createRepositoryClient } from '@qsm/qps';
import type { DiscoverySetup } from './scheduler.js';

/** The repository's answers are capped as QPS answers are (QPS_MAX_RESPONSE_BYTES's default). */
const REPOSITORY_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

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
      const { repository } = discovery;
      const client = createRepositoryClient({
        cert: discovery.cert,
        rejectUnauthorized: discovery.rejectUnauthorized,
        host: repository.address,
        user: { directory: repository.userDirectory, userId: repository.userId },
        timeoutMs: repository.timeoutMs,
        maxResponseBytes: REPOSITORY_MAX_RESPONSE_BYTES,
      });
      return {
        repository: repository.address,
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
