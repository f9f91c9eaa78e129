import { listPollTargets, type Settings } from '@qsm/config';
import { listAllPollTargets } from '@qsm/discovery';
import type { Logger } from '@qsm/logging';
import {
  type DiscoveredPollTarget,
  parseStoredJson,
  type RepositoryTopology,
  storedTopologySchema,
} from '@qsm/model';
import type { SchedulableTarget } from '@qsm/queues';
import type { DiscoveryStore } from '@qsm/redis';
import type { DiscoveryMetrics } from './discovery-metrics.js';

/** What the config and the last good read of the repository say to poll. */
export type PollTargetSource = (settings: Settings) => Promise<SchedulableTarget[]>;

/** The config's targets: what the scheduler polls without discovery. */
export const configuredTargets: PollTargetSource = async (settings) => listPollTargets(settings);

export interface DiscoveredTargetSourceDeps {
  store: Pick<DiscoveryStore, 'loadTopology' | 'saveTargets'>;
  /** The discovered targets that the config does not list yet, and why others were left out. */
  resolve(
    settings: Settings,
    topology: RepositoryTopology,
  ): { targets: DiscoveredPollTarget[]; notes: string[] };
  metrics: Pick<DiscoveryMetrics, 'targets'>;
  logger: Pick<Logger, 'info' | 'warn'>;
}

/**
 * The config's targets plus those of the last good read of the repository kept in Redis, which every
 * scheduler replica reads, so that they all agree and a restart while the repository is down changes
 * nothing. The discovered targets in force are written back for the pollers' session gauge. Why a
 * virtual proxy is left out (linked to no node, excluded, ...) is logged once per process.
 */
export function createDiscoveredTargetSource(deps: DiscoveredTargetSourceDeps): PollTargetSource {
  const logged = new Set<string>();
  return async (settings) => {
    const json = await deps.store.loadTopology();
    if (json === null) return listPollTargets(settings);
    const stored = parseStoredJson(storedTopologySchema, json);
    if (!stored.ok) {
      deps.logger.warn(
        { problem: stored.problem },
        'the repository read kept in Redis is not understood: polling the configured targets until the next read',
      );
      return listPollTargets(settings);
    }
    const { targets, notes } = deps.resolve(settings, stored.value.topology);
    for (const note of notes) {
      if (logged.has(note)) continue;
      logged.add(note);
      deps.logger.info({ repository: stored.value.repository }, `discovery: ${note}`);
    }
    await deps.store.saveTargets(JSON.stringify(targets));
    deps.metrics.targets.set(targets.length);
    return listAllPollTargets(settings, targets).map((target) =>
      target.source === 'config'
        ? { serverName: target.serverName, virtualProxy: target.virtualProxy }
        : schedulableTarget(target.discovered),
    );
  };
}

function schedulableTarget(target: DiscoveredPollTarget): SchedulableTarget {
  const { serverName, virtualProxy, sessionInactivityTimeoutMinutes, ...identity } = target;
  return {
    serverName,
    virtualProxy,
    // Without undefined fields: the template read back from Redis must compare equal to this one.
    discovered:
      sessionInactivityTimeoutMinutes === undefined
        ? identity
        : { ...identity, sessionInactivityTimeoutMinutes },
  };
}
