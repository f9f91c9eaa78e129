import { type RunningProcess, startProcess } from '@qsm/child-process';
import type { CertificateSet } from '@qsm/dev-certs';
import { appMain } from './paths.js';

export interface SimSessionInput {
  UserDirectory: string;
  UserId: string;
  SessionId: string;
  Attributes?: Array<Record<string, string>>;
}

/** A session as a QPS look-alike may serve it: any object, served exactly as given. */
export type LookAlikeSession = Record<string, unknown>;

export interface SimFault {
  mode:
    | 'ok'
    | 'status'
    | 'html'
    | 'object'
    | 'truncated'
    | 'slow'
    | 'trickle'
    | 'redirect'
    | 'reset'
    | 'oversize'
    | 'bom'
    | 'gzip';
  status?: number;
  delayMs?: number;
  bytes?: number;
  rate?: number;
}

export interface SimProxyState {
  prefix: string;
  sessions: number;
  requests: number;
  /** Requests being answered right now. */
  active: number;
  maxActive: number;
  times: number[];
  xrfkeys: string[];
  /** Answers the client stopped reading before their end (an oversize answer beyond its size cap). */
  abandoned: number;
}

/** A fault of the simulated repository, on both endpoints or only on `endpoint`. */
export interface SimRepositoryFault {
  mode: 'ok' | 'status' | 'html' | 'object' | 'truncated' | 'slow' | 'trickle' | 'reset' | 'bom';
  status?: number;
  delayMs?: number;
  rate?: number;
  endpoint?: 'proxyservice' | 'virtualproxyconfig';
}

export interface SimRepositoryState {
  /** `host:port`, or null when the simulator runs without a repository. */
  host: string | null;
  listening: boolean;
  requests: number;
  /** Requests refused with 403 (Xrfkey or X-Qlik-User). */
  forbidden: number;
  connections: number;
  /** Xrfkeys (query parameter) of the most recent requests, `""` when none. */
  xrfkeys: string[];
  /** `X-Qlik-User` headers of the most recent requests, null when none. */
  users: Array<string | null>;
  fault: SimRepositoryFault | null;
  nodes: Array<{ id: string; server: string; nodeName: string; hostName: string; restListenPort: number }>;
  virtualProxies: Array<{
    id: string;
    /** The simulator's form: `/`, `/name`. */
    prefix: string;
    /** As the repository reports it: `""`, `name`. */
    qrsPrefix: string;
    description: string;
    sessionInactivityTimeout: number;
    /** Names of the servers that link it. */
    servers: string[];
    modifiedDate: string;
  }>;
}

/** A virtual proxy added at run time; the population fields default to the simulator's defaults. */
export interface SimNewVirtualProxy {
  description?: string;
  /** Minutes. */
  sessionInactivityTimeout?: number;
  authenticationMethod?: number;
  sessions?: number;
  users?: number;
  churnRate?: number;
}

export interface SimState {
  servers: Array<{
    name: string;
    qpsHost: string;
    forbidden: number;
    unknownPrefix: number;
    connections: number;
    proxies: SimProxyState[];
  }>;
  repository: SimRepositoryState;
}

export interface Simulator {
  process: RunningProcess;
  control: string;
  /** As started; with a repository, each server's node name and host name as the repository reports them. */
  servers: Array<{ name: string; qpsHost: string; proxies: string[]; nodeName?: string; hostName?: string }>;
  /** The repository's `host:port` (started with `--repository`), else undefined. */
  repository: string | undefined;
  qpsHost(server: string): string;
  state(): Promise<SimState>;
  proxyState(server: string, prefix: string): Promise<SimProxyState>;
  sessions(server: string, prefix: string): Promise<SimSessionInput[]>;
  setSessions(
    server: string,
    prefix: string,
    sessions: ReadonlyArray<SimSessionInput | LookAlikeSession>,
  ): Promise<void>;
  /** Appends sessions to the proxy's list (churn is off for it afterwards); fails if a SessionId is there. */
  startSessions(
    server: string,
    prefix: string,
    sessions: ReadonlyArray<SimSessionInput | LookAlikeSession>,
  ): Promise<void>;
  /** Ends one session (churn is off for the proxy afterwards); fails if no session has this SessionId. */
  endSession(server: string, prefix: string, sessionId: string): Promise<void>;
  /**
   * Every session of the proxy ends at once and `sessions` (default: as many as before) new ones start,
   * with new SessionIds and users of the proxy's population; returns the new sessions.
   */
  restartProxy(server: string, prefix: string, options?: { sessions?: number }): Promise<SimSessionInput[]>;
  setFault(server: string, prefix: string, fault: SimFault | undefined): Promise<void>;
  setGlobalFault(fault: SimFault | undefined): Promise<void>;
  setLatency(server: string, prefix: string, latencyMs: number): Promise<void>;
  step(count?: number): Promise<void>;
  /** Prefixes in the simulator's form (`/`, `/name`) throughout. */
  repositoryState(): Promise<SimRepositoryState>;
  /** A new repository virtual proxy linked to `servers`, whose QPS then serve it with a new population. */
  addVirtualProxy(prefix: string, servers: string[], options?: SimNewVirtualProxy): Promise<{ id: string }>;
  /** From the repository and from every server. */
  removeVirtualProxy(prefix: string): Promise<void>;
  /** Links it to exactly `servers` (none: it stays in virtualproxyconfig/full, unlinked). */
  linkVirtualProxy(prefix: string, servers: string[]): Promise<void>;
  /** A new prefix for the same virtual proxy (same id, links and sessions); QPS answers 404 on the old one. */
  renameVirtualProxy(prefix: string, newPrefix: string): Promise<void>;
  setRepositoryFault(fault: SimRepositoryFault | undefined): Promise<void>;
  /** Closes the repository's listener: connections are refused until startRepository (same port). */
  stopRepository(): Promise<void>;
  startRepository(): Promise<void>;
  stop(): Promise<number | string>;
}

/** Starts apps/qps-sim as a process with the certificates of `certs` and the given flags. */
export async function startSimulator(certs: CertificateSet, args: string[] = []): Promise<Simulator> {
  const proc = startProcess('qps-sim', process.execPath, [appMain('qps-sim'), '--certs', certs.dir, ...args]);
  const line = await proc.waitForLine((l) => l.startsWith('{"event":"listening"'));
  const info = JSON.parse(line) as { control: string; servers: Simulator['servers']; repository?: string };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${info.control}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`simulator ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const proxyPath = (server: string, prefix: string) =>
    `/servers/${encodeURIComponent(server)}/proxies/${encodeURIComponent(prefix)}`;
  const vpPath = (prefix: string) => `/repository/virtual-proxies/${encodeURIComponent(prefix)}`;
  return {
    process: proc,
    control: info.control,
    servers: info.servers,
    repository: info.repository,
    qpsHost(server) {
      const found = info.servers.find((s) => s.name === server);
      if (!found) throw new Error(`simulator has no server ${server}`);
      return found.qpsHost;
    },
    state: async () => (await call('GET', '/state')) as unknown as SimState,
    async proxyState(server, prefix) {
      const state = (await call('GET', '/state')) as unknown as SimState;
      const found = state.servers.find((s) => s.name === server)?.proxies.find((p) => p.prefix === prefix);
      if (!found) throw new Error(`simulator has no proxy ${server}${prefix}`);
      return found;
    },
    sessions: async (server, prefix) =>
      (await call('GET', proxyPath(server, prefix))).sessions as SimSessionInput[],
    setSessions: async (server, prefix, sessions) =>
      void (await call('PUT', `${proxyPath(server, prefix)}/sessions`, sessions)),
    startSessions: async (server, prefix, sessions) =>
      void (await call('POST', `${proxyPath(server, prefix)}/sessions`, sessions)),
    endSession: async (server, prefix, sessionId) =>
      void (await call('DELETE', `${proxyPath(server, prefix)}/sessions/${encodeURIComponent(sessionId)}`)),
    restartProxy: async (server, prefix, options = {}) =>
      (await call('POST', `${proxyPath(server, prefix)}/restart`, options)).sessions as SimSessionInput[],
    setFault: async (server, prefix, fault) =>
      void (fault
        ? await call('PUT', `${proxyPath(server, prefix)}/fault`, fault)
        : await call('DELETE', `${proxyPath(server, prefix)}/fault`)),
    setGlobalFault: async (fault) =>
      void (fault ? await call('PUT', '/fault', fault) : await call('DELETE', '/fault')),
    setLatency: async (server, prefix, latencyMs) =>
      void (await call('PUT', `${proxyPath(server, prefix)}/latency`, { latencyMs })),
    step: async (count = 1) => void (await call('POST', `/step?count=${count}`)),
    repositoryState: async () => (await call('GET', '/repository')) as unknown as SimRepositoryState,
    addVirtualProxy: async (prefix, servers, options = {}) =>
      (await call('POST', '/repository/virtual-proxies', { ...options, prefix, servers })) as { id: string },
    removeVirtualProxy: async (prefix) => void (await call('DELETE', vpPath(prefix))),
    linkVirtualProxy: async (prefix, servers) =>
      void (await call('PUT', `${vpPath(prefix)}/links`, { servers })),
    renameVirtualProxy: async (prefix, newPrefix) =>
      void (await call('PUT', `${vpPath(prefix)}/prefix`, { prefix: newPrefix })),
    setRepositoryFault: async (fault) =>
      void (fault
        ? await call('PUT', '/repository/fault', fault)
        : await call('DELETE', '/repository/fault')),
    stopRepository: async () => void (await call('POST', '/repository/stop')),
    startRepository: async () => void (await call('POST', '/repository/start')),
    stop: () => proc.stop(),
  };
}
