import { createHash } from 'node:crypto';
import type { SimulatedProxy, SimulatedServer } from './qps-server.js';
import type {
  ProxyDefaults,
  RepositoryFault,
  RepositoryVirtualProxyConfig,
  SimConfig,
} from './sim-config.js';

/** One virtual proxy as the simulated repository stores it; `prefix` in the simulator's form (`/`, `/name`). */
export interface SimVirtualProxy {
  id: string;
  prefix: string;
  description: string;
  /** Minutes. */
  sessionInactivityTimeout: number;
  authenticationMethod: number;
  createdDate: string;
  modifiedDate: string;
  /** Names of the servers that link it. */
  servers: string[];
  /** Population settings for the servers it gets linked to later. */
  population: Partial<ProxyDefaults>;
}

/** A simulated server as the repository sees it: a proxy node. */
export interface SimNode {
  id: string;
  server: SimulatedServer;
  nodeName: string;
  hostName: string;
  /** The port the server's QPS listens on. */
  restListenPort: () => number;
}

export interface RepositoryStats {
  requests: number;
  /** Requests refused with 403 (Xrfkey or X-Qlik-User). */
  forbidden: number;
  connections: number;
  /** The Xrfkeys of the most recent requests. */
  xrfkeys: string[];
  /** The `X-Qlik-User` headers of the most recent requests (`null`: none sent). */
  users: Array<string | null>;
}

/** A control request the repository cannot carry out: `status` is the HTTP answer to give. */
export class RepositoryChangeError extends Error {
  override readonly name = 'RepositoryChangeError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface NewVirtualProxy extends Partial<RepositoryVirtualProxyConfig> {
  prefix: string;
  servers: string[];
  population?: Partial<ProxyDefaults>;
}

/**
 * The virtual proxies and their links, kept in step with the QPS servers: a server's QPS serves
 * exactly the prefixes of the virtual proxies linked to it.
 */
export interface SimRepository {
  readonly nodes: readonly SimNode[];
  /** In creation order. */
  virtualProxies(): readonly SimVirtualProxy[];
  fault: RepositoryFault | undefined;
  stats: RepositoryStats;
  add(input: NewVirtualProxy): SimVirtualProxy;
  remove(prefix: string): void;
  /** Links the virtual proxy to exactly these servers. */
  link(prefix: string, servers: string[]): SimVirtualProxy;
  /** Changes the prefix; the id, the links and the sessions stay. */
  rename(prefix: string, next: string): SimVirtualProxy;
}

export const emptyRepositoryStats = (): RepositoryStats => ({
  requests: 0,
  forbidden: 0,
  connections: 0,
  xrfkeys: [],
  users: [],
});

/** A GUID-shaped id derived from `text`, the same in every run. */
export function stableId(text: string): string {
  const hex = createHash('sha1').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function createSimRepository(
  config: SimConfig,
  servers: readonly SimulatedServer[],
  restListenPort: (server: string) => number,
  hostOf: (server: string) => string,
  newProxy: (server: SimulatedServer, prefix: string, population: Partial<ProxyDefaults>) => SimulatedProxy,
): SimRepository {
  const started = new Date().toISOString();
  const nodes: SimNode[] = config.servers.map((spec) => ({
    id: stableId(`node:${spec.name}`),
    server: servers.find((s) => s.name === spec.name) as SimulatedServer,
    nodeName: spec.nodeName ?? spec.name,
    hostName: spec.hostName ?? hostOf(spec.name),
    restListenPort: () => restListenPort(spec.name),
  }));
  const list: SimVirtualProxy[] = [];
  let added = 0;

  const make = (
    fields: Partial<RepositoryVirtualProxyConfig> & { prefix: string },
    id: string,
    linked: string[],
    population: Partial<ProxyDefaults>,
  ): SimVirtualProxy => ({
    id,
    prefix: fields.prefix,
    description:
      fields.description ??
      (fields.prefix === '/' ? 'Central Proxy (Default)' : `Virtual proxy ${fields.prefix}`),
    sessionInactivityTimeout: fields.sessionInactivityTimeout ?? 30,
    authenticationMethod: fields.authenticationMethod ?? 0,
    createdDate: started,
    modifiedDate: started,
    servers: linked,
    population,
  });

  for (const spec of config.servers) {
    for (const vp of spec.virtualProxies) {
      const known = list.find((v) => v.prefix === vp.prefix);
      if (known) {
        known.servers.push(spec.name);
        known.description = vp.description ?? known.description;
        known.sessionInactivityTimeout = vp.sessionInactivityTimeout ?? known.sessionInactivityTimeout;
        known.authenticationMethod = vp.authenticationMethod ?? known.authenticationMethod;
      } else list.push(make(vp, stableId(`vp:${vp.prefix}`), [spec.name], {}));
    }
  }
  for (const vp of config.repository?.unlinkedVirtualProxies ?? []) {
    if (list.some((v) => v.prefix === vp.prefix))
      throw new Error(`repository.unlinkedVirtualProxies: ${vp.prefix} is linked to a server already`);
    list.push(make(vp, stableId(`vp:${vp.prefix}`), [], {}));
  }

  const find = (prefix: string): SimVirtualProxy => {
    const vp = list.find((v) => v.prefix === prefix);
    if (!vp) throw new RepositoryChangeError(404, `the repository has no virtual proxy ${prefix}`);
    return vp;
  };
  const serverNamed = (name: string): SimulatedServer => {
    const server = servers.find((s) => s.name === name);
    if (!server) throw new RepositoryChangeError(404, `no server ${name}`);
    return server;
  };
  const checkFree = (prefix: string) => {
    if (list.some((v) => v.prefix === prefix))
      throw new RepositoryChangeError(409, `the repository has a virtual proxy ${prefix} already`);
  };
  const touch = (vp: SimVirtualProxy) => {
    vp.modifiedDate = new Date().toISOString();
  };

  return {
    nodes,
    virtualProxies: () => list,
    fault: undefined,
    stats: emptyRepositoryStats(),
    add(input) {
      checkFree(input.prefix);
      const linked = [...new Set(input.servers)].map(serverNamed);
      added++;
      const vp = make(input, stableId(`vp:${input.prefix}#${added}`), [], input.population ?? {});
      for (const server of linked) server.proxies.set(vp.prefix, newProxy(server, vp.prefix, vp.population));
      vp.servers = linked.map((s) => s.name);
      list.push(vp);
      return vp;
    },
    remove(prefix) {
      const vp = find(prefix);
      for (const server of servers) server.proxies.delete(prefix);
      list.splice(list.indexOf(vp), 1);
    },
    link(prefix, names) {
      const vp = find(prefix);
      const linked = [...new Set(names)].map(serverNamed);
      for (const server of servers) {
        const wanted = linked.includes(server);
        if (!wanted) server.proxies.delete(prefix);
        else if (!server.proxies.has(prefix))
          server.proxies.set(prefix, newProxy(server, prefix, vp.population));
      }
      vp.servers = linked.map((s) => s.name);
      touch(vp);
      return vp;
    },
    rename(prefix, next) {
      const vp = find(prefix);
      if (next === prefix) return vp;
      checkFree(next);
      for (const server of servers) {
        const proxy = server.proxies.get(prefix);
        if (!proxy) continue;
        server.proxies.delete(prefix);
        server.proxies.set(next, proxy);
      }
      vp.prefix = next;
      touch(vp);
      return vp;
    },
  };
}
