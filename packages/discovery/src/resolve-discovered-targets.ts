import { checkVirtualProxyPrefix, type DiscoverySettings, inQueueShard, type Settings } from '@qsm/config';
import type { DiscoveredPollTarget, RepositoryTopology, RepositoryVirtualProxy } from '@qsm/model';
import type { DiscoveryNote } from './notes.js';
import { compareText, isExcludedNode, isNote, placeNode, sortNodes } from './place-node.js';
import { sameVirtualProxy, targetKey, virtualProxyKey, virtualProxyPath } from './virtual-proxy-path.js';

export interface ResolvedDiscovery {
  /** What discovery adds to the configured targets, in a stable order. */
  targets: DiscoveredPollTarget[];
  /** What the repository lists that is not polled, and why: unlinked virtual proxies first, then by node. */
  notes: DiscoveryNote[];
}

/**
 * Every (proxy node, linked virtual proxy) of the repository that the config does not already poll, as a
 * target carrying its identity and tags. A node that is a configured server is polled under that server's
 * identity; any other under its QMC name. With a queue shard, only the nodes whose name (configured or QMC)
 * falls in this shard. Pure: the same settings and topology give the same answer.
 */
export function resolveDiscoveredTargets(
  settings: Settings,
  topology: RepositoryTopology,
  discovery: DiscoverySettings,
): ResolvedDiscovery {
  const notes: DiscoveryNote[] = sortVirtualProxies(topology.unlinked).map((vp) => ({
    reason: 'unlinked',
    virtualProxy: virtualProxyPath(vp.prefix),
    message: `virtual proxy ${virtualProxyPath(vp.prefix)} (${vp.description || vp.id}) is linked to no proxy node: not polled`,
  }));
  if (!settings.userSessions.enableSessionExtract) {
    notes.push({
      reason: 'sessions-off',
      message: 'userSessions.enableSessionExtract is false: no discovered virtual proxy is polled',
    });
    return { targets: [], notes };
  }
  const targets: DiscoveredPollTarget[] = [];
  const byTarget = new Map<string, DiscoveredPollTarget>();
  for (const node of sortNodes(topology.nodes)) {
    if (isExcludedNode(node, discovery)) {
      notes.push({
        reason: 'excluded-node',
        node: node.name,
        message: `node ${node.name} (${node.hostName}) is in DISCOVERY_EXCLUDE_NODES: not polled`,
      });
      continue;
    }
    const placed = placeNode(node, settings, discovery);
    if (isNote(placed)) {
      notes.push(placed);
      continue;
    }
    // Another queue shard polls it (under the same name, so the same shard rule: never both).
    if (!inQueueShard(settings.queueShard?.shard, placed.identity.serverName)) continue;
    const server = placed.server?.settings;
    if (server && !server.userSessions.enable) {
      notes.push({
        reason: 'sessions-off',
        node: node.name,
        message: `node ${node.name} is servers[${placed.server!.index}] (${server.serverName}), whose userSessions.enable is false: not polled`,
      });
      continue;
    }
    const configured = new Set((server?.userSessions.virtualProxies ?? []).map(virtualProxyKey));
    for (const vp of sortVirtualProxies(node.virtualProxies)) {
      const virtualProxy = virtualProxyPath(vp.prefix);
      const skip = skipReason(virtualProxy, discovery);
      if (skip) {
        notes.push({ ...skip, node: node.name, virtualProxy });
        continue;
      }
      if (configured.has(virtualProxyKey(virtualProxy))) continue;
      const target: DiscoveredPollTarget = { ...placed.identity, virtualProxy };
      if (vp.sessionInactivityTimeoutMinutes !== undefined)
        target.sessionInactivityTimeoutMinutes = vp.sessionInactivityTimeoutMinutes;
      const key = targetKey(target.serverName, virtualProxy);
      const twin = byTarget.get(key);
      if (twin) {
        notes.push({
          reason: 'duplicate',
          node: node.name,
          virtualProxy,
          message: `node ${node.name} (QPS ${target.qpsHost}) and node ${twin.node} (QPS ${twin.qpsHost}) are both server ${target.serverName}: ${virtualProxy} is polled once, at ${twin.qpsHost}`,
        });
        continue;
      }
      targets.push(target);
      byTarget.set(key, target);
    }
  }
  return { targets, notes };
}

/** Why a linked virtual proxy is not polled, if it is not. */
export function skipReason(
  virtualProxy: string,
  discovery: DiscoverySettings,
): Omit<DiscoveryNote, 'node' | 'virtualProxy'> | undefined {
  const problem = checkVirtualProxyPrefix(virtualProxy);
  if (problem)
    return {
      reason: 'invalid-prefix',
      message: `virtual proxy prefix "${virtualProxy.slice(1)}" cannot be polled: ${virtualProxy} ${problem}`,
    };
  if (discovery.excludePrefixes.some((excluded) => sameVirtualProxy(excluded, virtualProxy)))
    return {
      reason: 'excluded-prefix',
      message: `virtual proxy ${virtualProxy} is in DISCOVERY_EXCLUDE_PREFIXES: not polled`,
    };
  return undefined;
}

export function sortVirtualProxies(vps: RepositoryVirtualProxy[]): RepositoryVirtualProxy[] {
  return [...vps].sort((a, b) => compareText(a.prefix, b.prefix) || compareText(a.id, b.id));
}
