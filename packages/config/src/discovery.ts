import { formatHostPort } from '@qsm/net';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { bool, int } from './env-fields.js';
import { parseHostPort } from './host-port.js';
import type { CertificateSettings, Settings } from './settings.js';
import { checkVirtualProxyPrefix } from './virtual-proxy.js';

/*
 * Discovery of virtual proxies from the Qlik repository (QRS). Butler SOS has no such feature, so its
 * settings come from the environment; the repository host defaults to the one Butler SOS already reads
 * app names from (`Butler-SOS.appNames.hostIP`, port 4242).
 */

/** The port Butler SOS (and the QMC's exported certificates) use for the repository. */
export const QRS_DEFAULT_PORT = 4242;

/** Where a node's QPS is reached instead of the host name the repository gives for it. */
export interface HostOverride {
  hostname: string;
  /** Unset: the node's own QPS port (`restListenPort`). */
  port?: number;
}

export interface DiscoverySettings {
  /** How often the repository is read (ms). */
  intervalMs: number;
  repository: {
    hostname: string;
    port: number;
    /** `host:port`, for messages and as the key of what was read. */
    address: string;
    /** Where the host came from: `env.QRS_HOST` or `Butler-SOS.appNames.hostIP`. */
    source: string;
    /** Security context of each request (`X-Qlik-User: UserDirectory=...; UserId=...`). */
    userDirectory: string;
    userId: string;
    timeoutMs: number;
  };
  /** The certificate exported from the QMC, the same one QPS is polled with. */
  cert: CertificateSettings;
  rejectUnauthorized: boolean;
  /** Virtual proxies never polled as discovered targets: `/` or `/name`. */
  excludePrefixes: string[];
  /** Nodes never polled as discovered targets, by QMC name or host name (compared case-insensitively). */
  excludeNodes: string[];
  /** By the node's host name in lower case. */
  hostOverrides: Record<string, HostOverride>;
  /** Custom tags of a discovered node that is in no `servers[]` entry: one per declared tag. */
  serverTags: Record<string, string>;
}

/** `a, b,c` -> `['a', 'b', 'c']` (blank items dropped). */
const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== ''),
);

const prefixList = commaList.superRefine((prefixes, ctx) => {
  for (const prefix of prefixes) {
    const problem = checkVirtualProxyPrefix(prefix);
    if (problem) ctx.addIssue({ code: 'custom', message: `"${prefix}" ${problem}` });
  }
});

type Issues = { addIssue(issue: { code: 'custom'; message: string }): void };

/** `name=value` items, split at their first "=". */
function splitPairs(items: string[], what: string, example: string, ctx: Issues): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const item of items) {
    const at = item.indexOf('=');
    const key = at < 0 ? '' : item.slice(0, at).trim();
    if (at < 0 || key === '') {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not ${what} (write ${example})` });
      continue;
    }
    if (pairs.some(([k]) => k.toLowerCase() === key.toLowerCase()))
      ctx.addIssue({ code: 'custom', message: `"${key}" is given twice` });
    pairs.push([key, item.slice(at + 1).trim()]);
  }
  return pairs;
}

const serverTagList = commaList.transform((items, ctx) => splitPairs(items, 'tag=value', 'site=north', ctx));

const hostOverrides = commaList.transform((items, ctx) => {
  const overrides: Record<string, HostOverride> = {};
  const pairs = splitPairs(items, 'nodehost=host[:port]', 'sense2.corp.local=10.0.0.12:4243', ctx);
  for (const [nodeHost, target] of pairs) {
    const node = parseHostPort(nodeHost);
    if (typeof node === 'string' || node.port !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${nodeHost}" is not a node host name (write the host name the QMC shows, without a port)`,
      });
      continue;
    }
    const host = parseHostPort(target);
    if (typeof host === 'string') {
      ctx.addIssue({ code: 'custom', message: `${nodeHost}=${target}: ${host}` });
      continue;
    }
    overrides[nodeHost.toLowerCase()] =
      host.port === undefined ? { hostname: host.hostname } : { hostname: host.hostname, port: host.port };
  }
  return overrides;
});

const qrsHost = z.string().transform((value, ctx) => {
  const parsed = parseHostPort(value);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return { hostname: parsed.hostname, port: parsed.port ?? QRS_DEFAULT_PORT };
});

const qrsUser = z
  .string()
  .regex(/^[^\\;=\s]+\\[^\\;=\s]+$/, 'must be DIRECTORY\\userid (e.g. INTERNAL\\sa_api)')
  .transform((value) => {
    const [userDirectory = '', userId = ''] = value.split('\\');
    return { userDirectory, userId };
  });

export const discoveryEnvSchema = z.object({
  /** Read the proxy nodes and virtual proxies from the Qlik repository and poll them too. */
  DISCOVERY_ENABLE: bool.default(false),
  DISCOVERY_INTERVAL_MS: int(1000).default(600_000),
  /** `host` or `host:port` (4242 by default). Unset: `Butler-SOS.appNames.hostIP`. */
  QRS_HOST: qrsHost.optional(),
  QRS_USER: qrsUser.default({ userDirectory: 'INTERNAL', userId: 'sa_api' }),
  QRS_TIMEOUT_MS: int(100).default(30_000),
  /** `/,/finance`: virtual proxies not to poll. */
  DISCOVERY_EXCLUDE_PREFIXES: prefixList.default([]),
  /** `rim3,sense4.corp.local`: nodes not to poll, by QMC name or host name. */
  DISCOVERY_EXCLUDE_NODES: commaList.default([]),
  /** `nodehost=host[:port],...`: where to reach a node whose registered host name does not resolve here. */
  DISCOVERY_HOST_OVERRIDES: hostOverrides.default({}),
  /** `tag=value,...`: the declared custom tags of discovered nodes that are in no servers[] entry. */
  DISCOVERY_SERVER_TAGS: serverTagList.default([]),
});

export type DiscoveryEnv = z.output<typeof discoveryEnvSchema>;

const TAGS_DEFINITION = 'Butler-SOS.serversToMonitor.serverTagsDefinition';
const APP_NAMES_HOST = 'Butler-SOS.appNames.hostIP';

/**
 * The discovery settings in force: undefined when discovery is off. Throws ConfigError naming every
 * variable or config key that stops discovery from working (no repository host, no certificate, a declared
 * tag without a value for discovered nodes, an undeclared one).
 */
export function readDiscoverySettings(env: DiscoveryEnv, settings: Settings): DiscoverySettings | undefined {
  if (!env.DISCOVERY_ENABLE) return undefined;
  const problems: ConfigProblem[] = [];
  const repository = repositoryHost(env, settings, problems);
  if (!settings.cert)
    problems.push({
      path: 'Butler-SOS.cert',
      message:
        'required with DISCOVERY_ENABLE=true: the repository is read with the client certificate exported from the QMC',
    });
  const serverTags = discoveredServerTags(env, settings, problems);
  if (problems.length > 0 || !repository || !settings.cert)
    throw new ConfigError('discovery settings', problems);
  return {
    intervalMs: env.DISCOVERY_INTERVAL_MS,
    repository: {
      ...repository,
      address: formatHostPort(repository.hostname, repository.port),
      userDirectory: env.QRS_USER.userDirectory,
      userId: env.QRS_USER.userId,
      timeoutMs: env.QRS_TIMEOUT_MS,
    },
    cert: settings.cert,
    rejectUnauthorized: settings.serversToMonitor.rejectUnauthorized,
    excludePrefixes: env.DISCOVERY_EXCLUDE_PREFIXES,
    excludeNodes: env.DISCOVERY_EXCLUDE_NODES,
    hostOverrides: env.DISCOVERY_HOST_OVERRIDES,
    serverTags,
  };
}

function repositoryHost(env: DiscoveryEnv, settings: Settings, problems: ConfigProblem[]) {
  if (env.QRS_HOST) return { ...env.QRS_HOST, source: 'env.QRS_HOST' };
  const hostIP = settings.appNames?.hostIP;
  if (hostIP === undefined) {
    problems.push({
      path: 'env.QRS_HOST',
      message: `required with DISCOVERY_ENABLE=true unless ${APP_NAMES_HOST} is set`,
    });
    return undefined;
  }
  const parsed = parseHostPort(hostIP);
  if (typeof parsed === 'string') {
    problems.push({
      path: APP_NAMES_HOST,
      message: `${parsed}: discovery reads the repository there (or set env.QRS_HOST)`,
    });
    return undefined;
  }
  return { hostname: parsed.hostname, port: parsed.port ?? QRS_DEFAULT_PORT, source: APP_NAMES_HOST };
}

/** A discovered node gets every declared tag, as a listed server must (Butler SOS's own rule), and no other. */
function discoveredServerTags(
  env: DiscoveryEnv,
  settings: Settings,
  problems: ConfigProblem[],
): Record<string, string> {
  const declared = settings.serversToMonitor.serverTagsDefinition;
  const given = Object.fromEntries(env.DISCOVERY_SERVER_TAGS);
  for (const tag of declared) {
    if (!Object.hasOwn(given, tag))
      problems.push({
        path: 'env.DISCOVERY_SERVER_TAGS',
        message: `missing "${tag}" (declared in ${TAGS_DEFINITION}): nodes in no servers[] entry need a value, e.g. ${tag}=<value>`,
      });
  }
  for (const tag of Object.keys(given)) {
    if (!declared.includes(tag))
      problems.push({
        path: 'env.DISCOVERY_SERVER_TAGS',
        message: `"${tag}" is not declared in ${TAGS_DEFINITION}: add it there or remove it`,
      });
  }
  return given;
}
