import type { Settings } from '@qsm/config';
import { listAllPollTargets } from '@qsm/discovery';
import type { Logger } from '@qsm/logging';
import { type DiscoveredPollTarget, readDiscoveredPollTargets } from '@qsm/model';
import { schedulerIdFor } from '@qsm/queues';
import type { DiscoveryStore } from '@qsm/redis';

/**
 * The target key of every (server, virtual proxy) polled now: the config's, and those discovery found in
 * the Qlik repository (kept in Redis by the scheduler), as the scheduler lists them.
 */
export function createExpectedTargets(
  settings: () => Settings,
  discovery: Pick<DiscoveryStore, 'loadTargets'>,
  logger: Pick<Logger, 'warn'>,
): () => Promise<string[]> {
  const discovered = async (): Promise<DiscoveredPollTarget[]> => {
    const { targets, problem } = readDiscoveredPollTargets(await discovery.loadTargets());
    if (problem) {
      logger.warn(
        { problem },
        'discovered targets in Redis not understood: site figures expect the configured targets only',
      );
    }
    return targets;
  };
  return async () =>
    listAllPollTargets(settings(), await discovered()).map((target) => schedulerIdFor(target));
}
