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

export interface SimState {
  servers: Array<{
    name: string;
    qpsHost: string;
    forbidden: number;
    unknownPrefix: number;
    connections: number;
    proxies: SimProxyState[];
  }>;
}

export interface Simulator {
  process: RunningProcess;
  control: string;
  servers: Array<{ name: string; qpsHost: string; proxies: string[] }>;
  qpsHost(server: string): string;
  state(): Promise<SimState>;
  proxyState(server: string, prefix: string): Promise<SimProxyState>;
  sessions(server: string, prefix: string): Promise<SimSessionInput[]>;
  setSessions(
    server: string,
    prefix: string,
    sessions: ReadonlyArray<SimSessionInput | LookAlikeSession>,
  ): Promise<void>;
  setFault(server: string, prefix: string, fault: SimFault | undefined): Promise<void>;
  setGlobalFault(fault: SimFault | undefined): Promise<void>;
  setLatency(server: string, prefix: string, latencyMs: number): Promise<void>;
  step(count?: number): Promise<void>;
  stop(): Promise<number | string>;
}

/** Starts apps/qps-sim as a process with the certificates of `certs` and the given flags. */
export async function startSimulator(certs: CertificateSet, args: string[] = []): Promise<Simulator> {
  const proc = startProcess('qps-sim', process.execPath, [appMain('qps-sim'), '--certs', certs.dir, ...args]);
  const line = await proc.waitForLine((l) => l.startsWith('{"event":"listening"'));
  const info = JSON.parse(line) as { control: string; servers: Simulator['servers'] };
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
  return {
    process: proc,
    control: info.control,
    servers: info.servers,
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
    setFault: async (server, prefix, fault) =>
      void (fault
        ? await call('PUT', `${proxyPath(server, prefix)}/fault`, fault)
        : await call('DELETE', `${proxyPath(server, prefix)}/fault`)),
    setGlobalFault: async (fault) =>
      void (fault ? await call('PUT', '/fault', fault) : await call('DELETE', '/fault')),
    setLatency: async (server, prefix, latencyMs) =>
      void (await call('PUT', `${proxyPath(server, prefix)}/latency`, { latencyMs })),
    step: async (count = 1) => void (await call('POST', `/step?count=${count}`)),
    stop: () => proc.stop(),
  };
}
