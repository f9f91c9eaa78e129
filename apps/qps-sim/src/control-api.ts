import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { SessionChangeError, type SimSession } from './population.js';
import type { SimulatedServer } from './qps-server.js';
import { emptyRepositoryStats, RepositoryChangeError, type SimRepository } from './repository.js';
import { qrsPrefix } from './repository-server.js';
import { type Fault, faultSchema, repositoryFaultSchema } from './sim-config.js';

export interface ControlState {
  servers: Array<SimulatedServer & { qpsHost: () => string }>;
  setGlobalFault(fault: Fault | undefined): void;
  step(count: number): void;
  repository: SimRepository;
  repositoryListener: {
    /** `host:port`, or undefined when the simulator runs without a repository. */
    host(): string | undefined;
    listening(): boolean;
    start(): Promise<void>;
    stop(): Promise<void>;
  };
}

const prefixSchema = z.string().regex(/^\/[^/]*$/, 'must be "/" or "/name"');
const serverNamesSchema = z.array(z.string().min(1));
const newVirtualProxySchema = z.object({
  prefix: prefixSchema,
  servers: serverNamesSchema.default([]),
  description: z.string().optional(),
  sessionInactivityTimeout: z.number().int().min(1).optional(),
  authenticationMethod: z.number().int().min(0).max(5).optional(),
  /** The session population on every server it is linked to (the file's `defaults` otherwise). */
  sessions: z.number().int().min(0).optional(),
  users: z.number().int().min(1).optional(),
  churnRate: z.number().min(0).max(1).optional(),
});

/*
 * A session is served as the test gives it: QPS's own PascalCase, with Attributes [] when left out, or
 * any other object, as a look-alike might serve it (camelCase names, nulls, odd attributes).
 */
const qpsSessionSchema = z.looseObject({
  UserDirectory: z.string(),
  UserId: z.string(),
  SessionId: z.string(),
  Attributes: z.array(z.record(z.string(), z.string())).default([]),
});
const sessionSchema = z.union([qpsSessionSchema, z.record(z.string(), z.unknown())]);
const restartSchema = z.object({ sessions: z.number().int().min(0).optional() });

/**
 * Plain HTTP on 127.0.0.1 for tests and benchmarks: read request counts, set a proxy's exact sessions,
 * start and end sessions, restart a proxy, switch faults on and off, step the churn, change the
 * repository's virtual proxies and their links. Prefixes and session ids are percent-encoded path
 * segments (`%2F`, `%2Fhdr`).
 *
 *   GET    /state
 *   GET    /servers/:server/proxies/:prefix
 *   PUT    /servers/:server/proxies/:prefix/sessions   [session, ...]: exactly these
 *   POST   /servers/:server/proxies/:prefix/sessions   [session, ...]: appended (409: a SessionId is there)
 *   DELETE /servers/:server/proxies/:prefix/sessions/:sessionId                  (404: not there)
 *   POST   /servers/:server/proxies/:prefix/restart    {sessions}: all sessions end, new ones start
 *   PUT    /servers/:server/proxies/:prefix/fault      {mode, status, delayMs, bytes, rate}   (DELETE clears)
 *   PUT    /servers/:server/proxies/:prefix/latency    {latencyMs}
 *   PUT    /fault                                      fault for every proxy                 (DELETE clears)
 *   POST   /step?count=n                               churn steps
 *   POST   /stats/reset
 *   GET    /repository                                 virtual proxies, links, request stats
 *   POST   /repository/virtual-proxies                 {prefix, servers, description, sessionInactivityTimeout,
 *                                                       authenticationMethod, sessions, users, churnRate}
 *   DELETE /repository/virtual-proxies/:prefix         from the repository and every server
 *   PUT    /repository/virtual-proxies/:prefix/links   {servers}: exactly the servers that link it
 *   PUT    /repository/virtual-proxies/:prefix/prefix  {prefix}: rename (id, links and sessions stay)
 *   PUT    /repository/fault                           {mode, status, delayMs, rate, endpoint} (DELETE clears)
 *   POST   /repository/stop | /repository/start        close the listener (connections refused) / reopen it
 */
export function createControlApi(state: ControlState): Server {
  return createServer((req, res) => {
    route(state, req, res).catch((error: unknown) => {
      const changeError = error instanceof RepositoryChangeError || error instanceof SessionChangeError;
      json(res, changeError ? error.status : 400, { error: (error as Error).message });
    });
  });
}

async function route(state: ControlState, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://control');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';

  if (method === 'GET' && parts[0] === 'state') return json(res, 200, describe(state));
  if (parts[0] === 'fault' && parts.length === 1) {
    state.setGlobalFault(method === 'DELETE' ? undefined : faultSchema.parse(await readJson(req)));
    return json(res, 200, { ok: true });
  }
  if (method === 'POST' && parts[0] === 'step') {
    state.step(Number(url.searchParams.get('count') ?? '1'));
    return json(res, 200, { ok: true });
  }
  if (parts[0] === 'repository') return routeRepository(state, method, parts.slice(1), req, res);
  if (method === 'POST' && parts[0] === 'stats' && parts[1] === 'reset') {
    state.repository.stats = emptyRepositoryStats();
    for (const server of state.servers) {
      server.forbidden.count = 0;
      server.unknownPrefix.count = 0;
      server.connections.count = 0;
      for (const proxy of server.proxies.values())
        proxy.stats = {
          requests: 0,
          active: proxy.stats.active,
          maxActive: 0,
          times: [],
          xrfkeys: [],
          abandoned: 0,
        };
    }
    return json(res, 200, { ok: true });
  }
  if (parts[0] === 'servers' && parts[2] === 'proxies' && parts[1] && parts[3]) {
    const server = state.servers.find((s) => s.name === parts[1]);
    const proxy = server?.proxies.get(parts[3]);
    if (!server || !proxy) return json(res, 404, { error: `no proxy ${parts[3]} on server ${parts[1]}` });
    if (method === 'DELETE' && parts[4] === 'sessions' && parts.length === 6) {
      proxy.population.endSession(parts[5] ?? '');
      return json(res, 200, { ok: true, sessions: proxy.population.sessions().length });
    }
    if (parts.length > 5) return json(res, 404, { error: `no route ${method} ${url.pathname}` });
    switch (`${method} ${parts[4] ?? ''}`) {
      case 'GET ':
        return json(res, 200, {
          sessions: proxy.population.sessions(),
          stats: proxy.stats,
          fault: proxy.fault ?? null,
        });
      case 'PUT sessions':
        proxy.population.setSessions(z.array(sessionSchema).parse(await readJson(req)) as SimSession[]);
        return json(res, 200, { ok: true, sessions: proxy.population.sessions().length });
      case 'POST sessions':
        proxy.population.startSessions(z.array(sessionSchema).parse(await readJson(req)) as SimSession[]);
        return json(res, 200, { ok: true, sessions: proxy.population.sessions().length });
      case 'POST restart': {
        const { sessions } = restartSchema.parse(await readJson(req));
        return json(res, 200, { ok: true, sessions: proxy.population.restart(sessions) });
      }
      case 'PUT fault':
        proxy.fault = faultSchema.parse(await readJson(req));
        return json(res, 200, { ok: true });
      case 'DELETE fault':
        proxy.fault = undefined;
        return json(res, 200, { ok: true });
      case 'PUT latency':
        proxy.latencyMs = z
          .object({ latencyMs: z.number().int().min(0) })
          .parse(await readJson(req)).latencyMs;
        return json(res, 200, { ok: true });
    }
  }
  return json(res, 404, { error: `no route ${method} ${url.pathname}` });
}

function describe(state: ControlState) {
  return {
    servers: state.servers.map((server) => ({
      name: server.name,
      qpsHost: server.qpsHost(),
      forbidden: server.forbidden.count,
      unknownPrefix: server.unknownPrefix.count,
      connections: server.connections.count,
      proxies: [...server.proxies].map(([prefix, p]) => ({
        prefix,
        sessions: p.population.sessions().length,
        requests: p.stats.requests,
        active: p.stats.active,
        maxActive: p.stats.maxActive,
        times: p.stats.times,
        xrfkeys: p.stats.xrfkeys,
        abandoned: p.stats.abandoned,
      })),
    })),
    repository: describeRepository(state),
  };
}

async function routeRepository(
  state: ControlState,
  method: string,
  parts: string[],
  req: IncomingMessage,
  res: ServerResponse,
) {
  const { repository, repositoryListener } = state;
  const route = `${method} ${parts[0] ?? ''}${parts.length > 2 ? ` ${parts[2]}` : ''}`;
  switch (route) {
    case 'GET ':
      return json(res, 200, describeRepository(state));
    case 'POST virtual-proxies': {
      if (parts.length > 1) break;
      const input = newVirtualProxySchema.parse(await readJson(req));
      const { prefix, servers, description, sessionInactivityTimeout, authenticationMethod, ...population } =
        input;
      const vp = repository.add({
        prefix,
        servers,
        ...(description === undefined ? {} : { description }),
        ...(sessionInactivityTimeout === undefined ? {} : { sessionInactivityTimeout }),
        ...(authenticationMethod === undefined ? {} : { authenticationMethod }),
        population: Object.fromEntries(Object.entries(population).filter(([, v]) => v !== undefined)),
      });
      return json(res, 201, { ok: true, id: vp.id });
    }
    case 'DELETE virtual-proxies':
      if (parts.length !== 2 || !parts[1]) break;
      repository.remove(parts[1]);
      return json(res, 200, { ok: true });
    case 'PUT virtual-proxies links': {
      const { servers } = z.object({ servers: serverNamesSchema }).parse(await readJson(req));
      const vp = repository.link(parts[1] ?? '', servers);
      return json(res, 200, { ok: true, id: vp.id, servers: vp.servers });
    }
    case 'PUT virtual-proxies prefix': {
      const { prefix } = z.object({ prefix: prefixSchema }).parse(await readJson(req));
      const vp = repository.rename(parts[1] ?? '', prefix);
      return json(res, 200, { ok: true, id: vp.id });
    }
    case 'PUT fault':
      repository.fault = repositoryFaultSchema.parse(await readJson(req));
      return json(res, 200, { ok: true });
    case 'DELETE fault':
      repository.fault = undefined;
      return json(res, 200, { ok: true });
    case 'POST stop':
    case 'POST start':
      if (repositoryListener.host() === undefined)
        return json(res, 409, {
          error: 'the simulator runs without a repository (start it with --repository)',
        });
      await (parts[0] === 'stop' ? repositoryListener.stop() : repositoryListener.start());
      return json(res, 200, { ok: true, listening: repositoryListener.listening() });
  }
  return json(res, 404, { error: `no route ${method} /repository/${parts.join('/')}` });
}

function describeRepository(state: ControlState) {
  const { repository, repositoryListener } = state;
  return {
    host: repositoryListener.host() ?? null,
    listening: repositoryListener.listening(),
    requests: repository.stats.requests,
    forbidden: repository.stats.forbidden,
    connections: repository.stats.connections,
    xrfkeys: repository.stats.xrfkeys,
    users: repository.stats.users,
    fault: repository.fault ?? null,
    nodes: repository.nodes.map((node) => ({
      id: node.id,
      server: node.server.name,
      nodeName: node.nodeName,
      hostName: node.hostName,
      restListenPort: node.restListenPort(),
    })),
    virtualProxies: repository.virtualProxies().map((vp) => ({
      id: vp.id,
      prefix: vp.prefix,
      qrsPrefix: qrsPrefix(vp.prefix),
      description: vp.description,
      sessionInactivityTimeout: vp.sessionInactivityTimeout,
      servers: vp.servers,
      modifiedDate: vp.modifiedDate,
    })),
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

function json(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
