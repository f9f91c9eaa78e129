import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

export const faultSchema = z.object({
  /**
   * ok: the session list. status: answer `status` (500 by default). html: a Qlik login page with 200.
   * object: a JSON object with 200. truncated: half the JSON. slow: wait `delayMs`, then answer.
   * trickle: send the body a few bytes every `delayMs`. redirect: 302 to the hub login. reset: close the
   * connection. oversize: a JSON array of `bytes` bytes. bom: the session list after a UTF-8 byte order
   * mark, as .NET writes it. gzip: the session list gzip-compressed whatever the request accepts (or, with
   * `bytes` set, a compressed JSON array that inflates to `bytes` bytes).
   */
  mode: z
    .enum([
      'ok',
      'status',
      'html',
      'object',
      'truncated',
      'slow',
      'trickle',
      'redirect',
      'reset',
      'oversize',
      'bom',
      'gzip',
    ])
    .default('ok'),
  status: z.number().int().min(100).max(599).default(500),
  delayMs: z.number().int().min(0).default(10_000),
  /** oversize: the body's size (64 MiB by default); gzip: the inflated size of a filler list, if set. */
  bytes: z.number().int().min(0).optional(),
  /** Share of requests the fault applies to (the others are answered normally). */
  rate: z.number().min(0).max(1).default(1),
});
export type Fault = z.output<typeof faultSchema>;

/** The faults the repository can simulate, on both endpoints or on one. */
export const repositoryFaultSchema = faultSchema.extend({
  mode: z
    .enum(['ok', 'status', 'html', 'object', 'truncated', 'slow', 'trickle', 'reset', 'bom'])
    .default('ok'),
  /** Only this endpoint fails; the other answers normally. */
  endpoint: z.enum(['proxyservice', 'virtualproxyconfig']).optional(),
});
export type RepositoryFault = z.output<typeof repositoryFaultSchema>;

const proxyDefaults = z.object({
  sessions: z.number().int().min(0).default(10),
  /** Distinct users drawn from; fewer users than sessions gives several sessions per user. */
  users: z.number().int().min(1).default(8),
  directories: z.array(z.string()).min(1).optional(),
  /** Mix in user ids and directories with spaces, commas, quotes, backslashes, newlines, emoji... */
  hostile: z.boolean().default(false),
  latencyMs: z.number().int().min(0).default(0),
  /** Share of sessions that end (and are replaced) per churn step. */
  churnRate: z.number().min(0).max(1).default(0.05),
  fault: faultSchema.optional(),
});

// Per-proxy overrides: no defaults here, or every proxy would override the file's `defaults`.
const prefixSchema = z.string().regex(/^\/[^/]*$/, 'must be "/" or "/name"');

/** What the repository says about a virtual proxy besides its prefix. */
const repositoryFields = {
  description: z.string().optional(),
  /** Minutes. */
  sessionInactivityTimeout: z.number().int().min(1).optional(),
  /** 0 Ticket, 1 HeaderStatic, 2 HeaderDynamic, 3 SAML, 4 JWT, 5 OIDC. */
  authenticationMethod: z.number().int().min(0).max(5).optional(),
};

const proxySchema = z.object({
  prefix: prefixSchema,
  ...repositoryFields,
  sessions: z.number().int().min(0).optional(),
  users: z.number().int().min(1).optional(),
  directories: z.array(z.string()).min(1).optional(),
  hostile: z.boolean().optional(),
  latencyMs: z.number().int().min(0).optional(),
  churnRate: z.number().min(0).max(1).optional(),
  fault: faultSchema.optional(),
});

const serverSchema = z.object({
  name: z.string().min(1),
  /** Address to listen on: 127.0.0.1, or 127.0.0.2... to give each simulated server its own host. */
  listen: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  /** The node's QMC name in the repository (default: `name`). */
  nodeName: z.string().min(1).optional(),
  /** The host name the repository reports for the node (default: `listen`). */
  hostName: z.string().min(1).optional(),
  virtualProxies: z.array(proxySchema).min(1),
});

/** A virtual proxy the repository knows but no server links. */
export const repositoryVirtualProxySchema = z.object({ prefix: prefixSchema, ...repositoryFields });
export type RepositoryVirtualProxyConfig = z.output<typeof repositoryVirtualProxySchema>;

/** The Qlik repository (QRS) look-alike: off unless this section is present. */
const repositorySchema = z.object({
  listen: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  unlinkedVirtualProxies: z.array(repositoryVirtualProxySchema).default([]),
});

export const simConfigSchema = z.object({
  seed: z.number().int().default(1),
  /** Churn steps happen this often (0: only when asked through the control API). */
  churnIntervalMs: z.number().int().min(0).default(1000),
  defaults: proxyDefaults.default(proxyDefaults.parse({})),
  servers: z.array(serverSchema).min(1),
  repository: repositorySchema.optional(),
});

export type SimConfig = z.output<typeof simConfigSchema>;
export type ProxyDefaults = z.output<typeof proxyDefaults>;
export type ProxyConfig = ProxyDefaults & { prefix: string };
export type RepositoryConfig = z.output<typeof repositorySchema>;

export function resolveProxy(
  config: SimConfig,
  proxy: SimConfig['servers'][number]['virtualProxies'][number],
): ProxyConfig {
  const merged = { ...config.defaults };
  for (const [key, value] of Object.entries(proxy))
    if (value !== undefined) Object.assign(merged, { [key]: value });
  return merged as ProxyConfig;
}

export function loadSimConfigFile(file: string): SimConfig {
  return simConfigSchema.parse(parse(readFileSync(file, 'utf8')));
}

export interface GeneratedLayout {
  servers: number;
  proxiesPerServer: number;
  /** Give server i the address 127.0.0.(i+1) so every simulated server has its own host name. */
  spreadAddresses: boolean;
  portBase: number;
  /** Exact prefixes for every server instead of "/", "/vp1", ... */
  prefixes?: string[];
  /** Simulate the repository on this port (0: a random one); undefined: no repository. */
  repositoryPort?: number;
  /** Virtual proxies the repository knows but no server links. */
  unlinkedPrefixes?: string[];
}

/** A config from flags: `servers` servers with `proxiesPerServer` virtual proxies each (`/` first, then `/vp1`...). */
export function generateSimConfig(
  layout: GeneratedLayout,
  defaults: Partial<ProxyDefaults>,
  seed: number,
  churnIntervalMs: number,
): SimConfig {
  return simConfigSchema.parse({
    seed,
    churnIntervalMs,
    defaults: { ...proxyDefaults.parse({}), ...defaults },
    servers: Array.from({ length: layout.servers }, (_, s) => ({
      name: `sense${s + 1}`,
      listen: layout.spreadAddresses ? `127.0.0.${s + 1}` : '127.0.0.1',
      port: layout.portBase === 0 ? 0 : layout.portBase + s,
      virtualProxies: (
        layout.prefixes ??
        Array.from({ length: layout.proxiesPerServer }, (_, p) => (p === 0 ? '/' : `/vp${p}`))
      ).map((prefix) => ({ prefix })),
    })),
    ...(layout.repositoryPort === undefined
      ? {}
      : {
          repository: {
            port: layout.repositoryPort,
            unlinkedVirtualProxies: (layout.unlinkedPrefixes ?? []).map((prefix) => ({ prefix })),
          },
        }),
  });
}
