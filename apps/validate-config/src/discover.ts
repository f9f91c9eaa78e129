import {
  ConfigError,
  discoveryEnvSchema,
  readDiscoverySettings,
  readEnvironment,
  type Settings,
} from '@qsm/config';
import { formatProposals, proposeVirtualProxies } from '@qsm/discovery';
import type { RepositoryTopology } from '@qsm/model';
import { createDiscoveryRepositoryClient, isRepositoryError } from '@qsm/qps';

/**
 * Reads the Qlik repository once, with the discovery settings of the environment (whether or not
 * DISCOVERY_ENABLE is set: this is how a user tries them), and returns the report to print. A read
 * that fails is a ConfigError at the setting the repository host came from.
 */
export async function discover(settings: Settings): Promise<string> {
  const env = readEnvironment(discoveryEnvSchema);
  const discovery = readDiscoverySettings({ ...env, DISCOVERY_ENABLE: true }, settings);
  if (!discovery) throw new Error('discovery settings are missing although discovery was asked for');
  const { repository } = discovery;
  const client = createDiscoveryRepositoryClient(discovery);
  let topology: RepositoryTopology;
  try {
    topology = await client.readTopology();
  } catch (error) {
    if (!isRepositoryError(error)) throw error;
    throw new ConfigError('discovery', [
      {
        path: repository.source,
        message: `${error.message} (${error.category})`,
      },
    ]);
  } finally {
    client.close();
  }
  return formatProposals(repository.address, topology, proposeVirtualProxies(settings, topology, discovery));
}
