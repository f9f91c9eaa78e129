import { z } from 'zod';
import { parseStoredJson } from './stored-json.js';

/*
 * What the Qlik Sense repository (QRS) says about a site's proxies: the proxy nodes, the virtual
 * proxies linked to each, and those linked to none. Read by discovery (`GET /qrs/proxyservice/full` and
 * `GET /qrs/virtualproxyconfig/full`), kept in Redis as the last good read, turned into poll targets.
 */

/** One virtual proxy as the repository stores it. */
export interface RepositoryVirtualProxy {
  /** The repository's id: what links a proxy node to it. */
  id: string;
  /** As the QMC stores it: `""` for the default virtual proxy, `finance` otherwise (never a leading "/"). */
  prefix: string;
  description: string;
  /** `sessionInactivityTimeout` in minutes, when the repository gave one. */
  sessionInactivityTimeoutMinutes?: number;
}

/** One proxy node (a ProxyService) and the virtual proxies linked to it. */
export interface RepositoryProxyNode {
  /** The node's QMC name (`serverNodeConfiguration.name`). */
  name: string;
  /** The host name the node was registered with (`serverNodeConfiguration.hostName`). */
  hostName: string;
  /** The QPS API port (`settings.restListenPort`, 4243 unless reconfigured). */
  restListenPort: number;
  virtualProxies: RepositoryVirtualProxy[];
}

/** One successful read of the repository. */
export interface RepositoryTopology {
  nodes: RepositoryProxyNode[];
  /** Virtual proxies that no proxy node links: they serve nobody, so they are not polled. */
  unlinked: RepositoryVirtualProxy[];
}

/**
 * A (proxy node, virtual proxy) found in the repository, with everything a poller needs to poll and tag
 * it without a `servers[]` entry: what Butler SOS would write had the user listed it by hand. A node that
 * is a configured server takes that server's name, description, host and tags.
 */
export interface DiscoveredPollTarget {
  serverName: string;
  serverDescription: string;
  /** Butler SOS's `host` tag: the host the node is polled at, without port. */
  hostName: string;
  serverTags: Record<string, string>;
  /** QPS `host:port` to poll (`<hostName>:<restListenPort>`, or its host override). */
  qpsHost: string;
  /** `/` for the default virtual proxy, `/<prefix>` otherwise. */
  virtualProxy: string;
  /** The node's QMC name. */
  node: string;
  /** The virtual proxy's inactivity timeout (minutes): an ended session was idle for at most this long. */
  sessionInactivityTimeoutMinutes?: number;
}

const virtualProxySchema = z.object({
  id: z.string(),
  prefix: z.string(),
  description: z.string(),
  sessionInactivityTimeoutMinutes: z.number().nonnegative().optional(),
});

/** The last good read of the repository as discovery keeps it in Redis (a scheduler restart reads it back). */
export const storedTopologySchema = z.object({
  v: z.literal(1),
  /** When the read succeeded (ms since epoch). */
  readAt: z.number().int(),
  /** The repository's `host:port`. */
  repository: z.string(),
  topology: z.object({
    nodes: z.array(
      z.object({
        name: z.string(),
        hostName: z.string(),
        restListenPort: z.number().int(),
        virtualProxies: z.array(virtualProxySchema),
      }),
    ),
    unlinked: z.array(virtualProxySchema),
  }),
}) satisfies z.ZodType<{ topology: RepositoryTopology }>;
export type StoredTopology = z.output<typeof storedTopologySchema>;

/** Who a discovered target is polled as: what its poll jobs carry besides the (server, virtual proxy). */
export const discoveredIdentitySchema = z.object({
  serverDescription: z.string(),
  hostName: z.string(),
  serverTags: z.record(z.string(), z.string()),
  qpsHost: z.string(),
  node: z.string(),
  sessionInactivityTimeoutMinutes: z.number().nonnegative().optional(),
});

/** The discovered targets in force, as the scheduler keeps them in Redis for every poller's session gauge. */
export const discoveredPollTargetsSchema = z.array(
  discoveredIdentitySchema.extend({ serverName: z.string(), virtualProxy: z.string() }),
) satisfies z.ZodType<DiscoveredPollTarget[]>;

/**
 * The discovered targets kept in Redis (`null`: discovery never ran with this prefix), or none and what is
 * wrong with them.
 */
export function readDiscoveredPollTargets(json: string | null): {
  targets: DiscoveredPollTarget[];
  problem?: string;
} {
  if (json === null) return { targets: [] };
  const read = parseStoredJson(discoveredPollTargetsSchema, json);
  return read.ok ? { targets: read.value } : { targets: [], problem: read.problem };
}
