import {
  describeValue,
  formatPath,
  type RepositoryProxyNode,
  type RepositoryTopology,
  type RepositoryVirtualProxy,
} from '@qsm/model';
import { z } from 'zod';

/**
 * Thrown by the repository parsers; the repository client turns it into an `invalid_response`
 * RepositoryError. `retryable` is false when the same request will get the same answer.
 */
export class InvalidRepositoryResponseError extends Error {
  override readonly name = 'InvalidRepositoryResponseError';
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

// Only what discovery uses is checked; every other field (Qlik has dozens) is ignored.
const timeoutSchema = z.number().int().positive().nullish();
const descriptionSchema = z.string().nullish();

const virtualProxySchema = z.object({
  id: z.string().min(1),
  prefix: z.string(),
  description: descriptionSchema,
  sessionInactivityTimeout: timeoutSchema,
});

const proxyServicesSchema = z.array(
  z.object({
    serverNodeConfiguration: z.object({
      name: z.string(),
      hostName: z.string().min(1, 'expected a host name'),
    }),
    settings: z.object({
      restListenPort: z.number().int().min(1).max(65535),
      virtualProxies: z.array(virtualProxySchema),
    }),
  }),
);

const virtualProxyConfigsSchema = z.array(virtualProxySchema);

export type ProxyServiceList = z.output<typeof proxyServicesSchema>;
export type VirtualProxyConfigList = z.output<typeof virtualProxyConfigsSchema>;

/** The body of `GET /qrs/proxyservice/full`: one entry per proxy node. */
export function parseProxyServices(text: string): ProxyServiceList {
  return parseList('proxyservice/full', text, proxyServicesSchema);
}

/** The body of `GET /qrs/virtualproxyconfig/full`: every virtual proxy, linked or not. */
export function parseVirtualProxyConfigs(text: string): VirtualProxyConfigList {
  return parseList('virtualproxyconfig/full', text, virtualProxyConfigsSchema);
}

/**
 * The nodes with the virtual proxies each links, and the virtual proxies no node links. A timeout
 * comes from the full virtual proxy config when it has one, else from the node's condensed copy.
 */
export function buildTopology(
  services: ProxyServiceList,
  configs: VirtualProxyConfigList,
): RepositoryTopology {
  const byId = new Map(configs.map((config) => [config.id, config]));
  const linked = new Set<string>();
  const nodes: RepositoryProxyNode[] = services.map((service) => ({
    name: service.serverNodeConfiguration.name,
    hostName: service.serverNodeConfiguration.hostName,
    restListenPort: service.settings.restListenPort,
    virtualProxies: service.settings.virtualProxies.map((condensed) => {
      linked.add(condensed.id);
      const full = byId.get(condensed.id);
      return virtualProxy(condensed, full?.sessionInactivityTimeout ?? condensed.sessionInactivityTimeout);
    }),
  }));
  const unlinked = configs
    .filter((config) => !linked.has(config.id))
    .map((config) => virtualProxy(config, config.sessionInactivityTimeout));
  return { nodes, unlinked };
}

function virtualProxy(
  vp: z.output<typeof virtualProxySchema>,
  timeout: number | null | undefined,
): RepositoryVirtualProxy {
  return {
    id: vp.id,
    prefix: vp.prefix,
    description: vp.description ?? '',
    ...(timeout == null ? {} : { sessionInactivityTimeoutMinutes: timeout }),
  };
}

function parseList<T>(endpoint: string, text: string, schema: z.ZodType<T>): T {
  // .NET writes UTF-8 with a byte order mark unless told not to; JSON.parse does not skip it.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trimStart().startsWith('<')) {
    throw new InvalidRepositoryResponseError(
      `${endpoint}: got an HTML page instead of JSON: is the host and port the repository API (4242 by default)?`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    // A body cut short can be a passing network fault: worth another try.
    throw new InvalidRepositoryResponseError(
      `${endpoint}: body is not valid JSON (truncated?): ${(error as Error).message} (${body.length} characters)`,
      true,
    );
  }
  if (!Array.isArray(data)) {
    throw new InvalidRepositoryResponseError(
      `${endpoint}: expected a JSON array, got ${describeValue(data)}`,
    );
  }
  const parsed = schema.safeParse(data, { reportInput: true });
  if (parsed.success) return parsed.data;
  const shown = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${formatPath(issue.path)}: ${describeIssue(issue)}`);
  const more = parsed.error.issues.length - shown.length;
  throw new InvalidRepositoryResponseError(
    `${endpoint}: ${shown.join('; ')}${more > 0 ? ` (and ${more} more problems)` : ''}`,
  );
}

const EXPECTED: Record<string, string> = {
  array: 'an array',
  object: 'an object',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
};

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type')
    return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
  if (issue.code === 'too_small' || issue.code === 'too_big')
    return `${issue.message}, got ${describeValue(issue.input)}`;
  return issue.message;
}
