import { listPollTargets, type PollTarget, type Settings } from '@qsm/config';
import type { DiscoveredPollTarget } from '@qsm/model';
import { targetKey } from './virtual-proxy-path.js';

/**
 * A target to schedule. A configured one is looked up in the config by the poller at each poll (so a
 * reloaded file applies at once); a discovered one carries its identity, since no `servers[]` entry (or no
 * listed virtual proxy) describes it.
 */
export type MonitoredPollTarget =
  | (PollTarget & { source: 'config' })
  | (PollTarget & { source: 'repository'; discovered: DiscoveredPollTarget });

/** The configured targets (`listPollTargets`, in config order), then the discovered ones not among them. */
export function listAllPollTargets(
  settings: Settings,
  discovered: DiscoveredPollTarget[],
): MonitoredPollTarget[] {
  const configured = listPollTargets(settings);
  const all: MonitoredPollTarget[] = configured.map((t) => ({ ...t, source: 'config' }));
  const known = new Set(configured.map((t) => targetKey(t.serverName, t.virtualProxy)));
  for (const target of discovered) {
    const key = targetKey(target.serverName, target.virtualProxy);
    if (known.has(key)) continue;
    known.add(key);
    all.push({
      serverName: target.serverName,
      virtualProxy: target.virtualProxy,
      source: 'repository',
      discovered: target,
    });
  }
  return all;
}
