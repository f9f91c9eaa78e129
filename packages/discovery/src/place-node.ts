import type { DiscoverySettings, ServerSettings, Settings } from '@qsm/config';
import type { DiscoveredPollTarget, RepositoryProxyNode } from '@qsm/model';
import { formatHostPort } from '@qsm/net';
import type { DiscoveryNote } from './notes.js';

/** Who a node's targets are polled as, before its virtual proxies are looked at. */
export type NodeIdentity = Omit<DiscoveredPollTarget, 'virtualProxy' | 'sessionInactivityTimeoutMinutes'>;

export interface PlacedNode {
  node: RepositoryProxyNode;
  identity: NodeIdentity;
  /** The `servers[]` entry this node is, matched by its QPS host:port. */
  server?: { index: number; settings: ServerSettings };
}

/** QPS `host:port` of a node as the repository gives it, and where it is reached (its host override). */
export function nodeQpsHosts(
  node: RepositoryProxyNode,
  discovery: DiscoverySettings,
): { registered: string; polled: string; polledHostName: string } {
  const registered = formatHostPort(node.hostName, node.restListenPort);
  const override = discovery.hostOverrides[node.hostName.toLowerCase()];
  if (!override) return { registered, polled: registered, polledHostName: node.hostName };
  return {
    registered,
    polled: formatHostPort(override.hostname, override.port ?? node.restListenPort),
    polledHostName: override.hostname,
  };
}

export function isExcludedNode(node: RepositoryProxyNode, discovery: DiscoverySettings): boolean {
  const names = [node.name.toLowerCase(), node.hostName.toLowerCase()];
  return discovery.excludeNodes.some((excluded) => names.includes(excluded.toLowerCase()));
}

/** Nodes in a stable order: repository reads list them in no promised order. */
export function sortNodes(nodes: RepositoryProxyNode[]): RepositoryProxyNode[] {
  return [...nodes].sort(
    (a, b) =>
      compareText(a.name, b.name) ||
      compareText(a.hostName, b.hostName) ||
      a.restListenPort - b.restListenPort,
  );
}

export function compareText(a: string, b: string): number {
  const lower = a.toLowerCase().localeCompare(b.toLowerCase(), 'en');
  return lower || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Matches a node to the configured server at its QPS host:port (as registered, or as overridden; case
 * aside). A configured server keeps its name, description, host and tags; any other node is polled under
 * its QMC name with the tags declared for discovered nodes, unless that name is a configured server's.
 */
export function placeNode(
  node: RepositoryProxyNode,
  settings: Settings,
  discovery: DiscoverySettings,
): PlacedNode | DiscoveryNote {
  const hosts = nodeQpsHosts(node, discovery);
  const candidates = [hosts.registered.toLowerCase(), hosts.polled.toLowerCase()];
  // A node that is a server of another queue shard must be recognised as that server, not polled here
  // under its QMC name: match against the whole file.
  const servers = settings.queueShard?.allServers ?? settings.serversToMonitor.servers;
  const index = servers.findIndex(
    (s) => s.userSessions.host !== '' && candidates.includes(s.userSessions.host.toLowerCase()),
  );
  const server = servers[index];
  if (server) {
    return {
      node,
      server: { index, settings: server },
      identity: {
        serverName: server.serverName,
        serverDescription: server.serverDescription,
        hostName: server.hostName,
        serverTags: server.serverTags,
        qpsHost: server.userSessions.host,
        node: node.name,
      },
    };
  }
  const namesake = servers.findIndex((s) => s.serverName === node.name);
  if (namesake >= 0) {
    const other = servers[namesake]!;
    return {
      reason: 'name-taken',
      node: node.name,
      message:
        `node ${node.name} (QPS ${hosts.polled}) has the name of servers[${namesake}], whose QPS is ` +
        `${other.userSessions.host || 'not set'}: not polled. If they are the same server, map the node's host ` +
        `with DISCOVERY_HOST_OVERRIDES=${node.hostName}=<the host of servers[${namesake}]>`,
    };
  }
  return {
    node,
    identity: {
      serverName: node.name,
      serverDescription: '',
      hostName: hosts.polledHostName,
      serverTags: { ...discovery.serverTags },
      qpsHost: hosts.polled,
      node: node.name,
    },
  };
}

export function isNote(value: PlacedNode | DiscoveryNote): value is DiscoveryNote {
  return 'reason' in value;
}
