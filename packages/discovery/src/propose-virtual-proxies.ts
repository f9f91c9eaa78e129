import type { DiscoverySettings, Settings } from '@qsm/config';
import type { RepositoryTopology } from '@qsm/model';
import { stringify } from 'yaml';
import type { DiscoveryNote } from './notes.js';
import { isExcludedNode, isNote, nodeQpsHosts, placeNode, sortNodes } from './place-node.js';
import { skipReason, sortVirtualProxies } from './resolve-discovered-targets.js';
import { sameVirtualProxy, virtualProxyPath } from './virtual-proxy-path.js';

/** What the config of one proxy node could say, against what it says. */
export interface NodeProposal {
  /** The node's QMC name and registered host name. */
  node: string;
  hostName: string;
  /** QPS `host:port` the node is reached at (after a host override). */
  qpsHost: string;
  /** The `servers[]` entry this node is, if any. */
  server?: { index: number; serverName: string };
  /** `/` and `/<prefix>`: the file's own order first, then what the repository adds. */
  virtualProxies: string[];
  /** `virtualProxies:` with one `- virtualProxy:` item each, to paste under the server's `userSessions`. */
  yaml: string;
  /** In the proposal, not in the file. */
  added: string[];
  /** In the file, not linked to the node in the repository. */
  removed: string[];
}

export interface VirtualProxyProposals {
  nodes: NodeProposal[];
  /** Nodes and virtual proxies left out, and configured servers the repository does not have. */
  notes: DiscoveryNote[];
}

/**
 * For `validate-config --discover`: per proxy node, the `virtualProxies` list a user could paste, with
 * what it adds to and removes from the file. Excluded and unpollable prefixes stay out of it, unless the
 * file already lists them: excludes keep discovery out, they do not overrule the file.
 */
export function proposeVirtualProxies(
  settings: Settings,
  topology: RepositoryTopology,
  discovery: DiscoverySettings,
): VirtualProxyProposals {
  const nodes: NodeProposal[] = [];
  const notes: DiscoveryNote[] = [];
  const matched = new Set<number>();
  for (const node of sortNodes(topology.nodes)) {
    const placed = placeNode(node, settings, discovery);
    const server = isNote(placed) ? undefined : placed.server;
    if (server) matched.add(server.index);
    if (isExcludedNode(node, discovery)) {
      notes.push({
        reason: 'excluded-node',
        node: node.name,
        message: `node ${node.name} (${node.hostName}) is in DISCOVERY_EXCLUDE_NODES: left out`,
      });
      continue;
    }
    if (isNote(placed)) notes.push(placed);
    const configured = server?.settings.userSessions.virtualProxies ?? [];
    const linked: string[] = [];
    for (const vp of sortVirtualProxies(node.virtualProxies)) {
      const virtualProxy = virtualProxyPath(vp.prefix);
      const skip = skipReason(virtualProxy, discovery);
      if (skip && !configured.some((c) => sameVirtualProxy(c, virtualProxy))) {
        notes.push({ ...skip, node: node.name, virtualProxy });
        continue;
      }
      linked.push(virtualProxy);
    }
    const kept = configured.filter((c) => linked.some((l) => sameVirtualProxy(l, c)));
    const added = linked.filter((l) => !configured.some((c) => sameVirtualProxy(c, l)));
    const removed = configured.filter((c) => !linked.some((l) => sameVirtualProxy(l, c)));
    const virtualProxies = [...kept, ...added];
    nodes.push({
      node: node.name,
      hostName: node.hostName,
      qpsHost: nodeQpsHosts(node, discovery).polled,
      ...(server ? { server: { index: server.index, serverName: server.settings.serverName } } : {}),
      virtualProxies,
      yaml: stringify({ virtualProxies: virtualProxies.map((virtualProxy) => ({ virtualProxy })) }),
      added,
      removed,
    });
  }
  settings.serversToMonitor.servers.forEach((server, index) => {
    if (matched.has(index) || !server.userSessions.enable) return;
    notes.push({
      reason: 'not-in-repository',
      message: `servers[${index}] (${server.serverName}, QPS ${server.userSessions.host}) matches no proxy node of the repository by its QPS host:port`,
    });
  });
  return { nodes, notes };
}
