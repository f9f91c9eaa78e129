import type { Settings } from '@qsm/config';
import { listAllPollTargets } from '@qsm/discovery';
import type { Logger } from '@qsm/logging';
import { type DiscoveredPollTarget, discoveredPollTargetsSchema } from '@qsm/model';
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
    const json = await discovery.loadTargets();
    if (json === null) return [];
    const parsed = discoveredPollTargetsSchema.safeParse(safeJson(json));
    if (parsed.success) return parsed.data;
    logger.warn(
      { issues: parsed.error?.issues.slice(0, 3) },
      'discovered targets in Redis not understood: site figures expect the configured targets only',
    );
    return [];
  };
  return async () =>
    listAllPollTargets(settings(), await discovered()).map((target) => schedulerIdFor(target));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
