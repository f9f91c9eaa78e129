import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import { checkXrfkey, createQlikHttpsServer, type TlsFiles, XSRF_TEXT } from './qlik-https.js';
import { LOGIN_PAGE, send, trickle } from './qps-server.js';
import type { SimNode, SimRepository, SimVirtualProxy } from './repository.js';
import type { RepositoryFault } from './sim-config.js';

const RECENT_KEPT = 20;
const MODIFIED_BY = 'INTERNAL\\sa_repository';

type Endpoint = NonNullable<RepositoryFault['endpoint']>;

/**
 * An HTTPS server that answers like the Qlik Sense repository (QRS) on port 4242: client certificate
 * required, Xrfkey query parameter and header must match, `X-Qlik-User` required,
 * `GET /qrs/proxyservice/full` and `GET /qrs/virtualproxyconfig/full` in Qlik's shapes (with the many
 * fields a client does not need, and one Qlik never had, so that clients are seen to ignore them).
 */
export function createRepositoryServer(tls: TlsFiles, repository: SimRepository): Server {
  return createQlikHttpsServer(
    tls,
    (req, res) => handle(repository, req, res),
    () => {
      repository.stats.connections++;
    },
  );
}

function handle(repository: SimRepository, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'https://qrs');
  const stats = repository.stats;
  stats.requests++;
  const { key, valid } = checkXrfkey(url, req);
  const user = req.headers['x-qlik-user'];
  remember(stats.xrfkeys, key ?? '');
  remember(stats.users, typeof user === 'string' ? user : null);

  // QRS paths are case-insensitive (`/qrs/ProxyService/full` works as well).
  const match = /^\/qrs\/(proxyservice|virtualproxyconfig)\/full\/?$/.exec(url.pathname.toLowerCase());
  if (req.method !== 'GET' || !match) return send(res, 404, 'text/plain', 'Not Found');
  if (!valid) {
    stats.forbidden++;
    return send(res, 403, 'text/plain', XSRF_TEXT);
  }
  if (typeof user !== 'string' || user.trim() === '') {
    stats.forbidden++;
    return send(res, 403, 'text/plain', 'Forbidden: no X-Qlik-User header');
  }
  const endpoint = match[1] as Endpoint;
  const body = () =>
    JSON.stringify(endpoint === 'proxyservice' ? proxyServices(repository) : virtualProxyConfigs(repository));
  const fault = repository.fault;
  const active =
    fault &&
    fault.mode !== 'ok' &&
    (fault.endpoint === undefined || fault.endpoint === endpoint) &&
    Math.random() < fault.rate
      ? fault
      : undefined;
  respond(active, body, req, res);
}

function respond(
  fault: RepositoryFault | undefined,
  body: () => string,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const json = 'application/json; charset=utf-8';
  switch (fault?.mode) {
    case undefined:
    case 'ok':
      return send(res, 200, json, body());
    case 'status':
      return send(res, fault.status, 'text/plain', `Simulated failure ${fault.status}`);
    case 'html':
      return send(res, 200, 'text/html', LOGIN_PAGE);
    case 'object':
      return send(res, 200, json, JSON.stringify({ error: 'not a list', count: 3 }));
    case 'truncated': {
      const text = body();
      return send(res, 200, json, text.slice(0, Math.max(1, Math.floor(text.length / 2))));
    }
    case 'slow':
      return void setTimeout(() => {
        if (!res.destroyed) send(res, 200, json, body());
      }, fault.delayMs);
    case 'trickle':
      return trickle(res, body(), fault.delayMs);
    case 'reset':
      return void req.socket.destroy();
    case 'bom':
      return send(res, 200, json, `\uFEFF${body()}`);
  }
}

function remember<T>(list: T[], value: T) {
  list.push(value);
  if (list.length > RECENT_KEPT) list.shift();
}

/** The simulator's `/` and `/name` as QRS stores them: `""` and `name`. */
export const qrsPrefix = (prefix: string): string => prefix.replace(/^\//, '');

const nodeCondensed = (node: SimNode) => ({
  id: node.id,
  name: node.nodeName,
  hostName: node.hostName,
  temporaryfilepath: 'C:\\Users\\qservice\\AppData\\Local\\Temp\\',
  privileges: null,
});

function condensedVirtualProxy(repository: SimRepository, vp: SimVirtualProxy) {
  return {
    id: vp.id,
    prefix: qrsPrefix(vp.prefix),
    description: vp.description,
    authenticationModuleRedirectUri: '',
    sessionModuleBaseUri: '',
    loadBalancingModuleBaseUri: '',
    useStickyLoadBalancing: false,
    loadBalancingServerNodes: repository.nodes
      .filter((node) => vp.servers.includes(node.server.name))
      .map(nodeCondensed),
    authenticationMethod: vp.authenticationMethod,
    headerAuthenticationMode: 0,
    headerAuthenticationHeaderName: '',
    headerAuthenticationStaticUserDirectory: '',
    headerAuthenticationDynamicUserDirectory: '',
    anonymousAccessMode: 0,
    windowsAuthenticationEnabledDevicePattern: 'Windows',
    sessionCookieHeaderName: vp.prefix === '/' ? 'X-Qlik-Session' : `X-Qlik-Session-${qrsPrefix(vp.prefix)}`,
    sessionCookieDomain: '',
    additionalResponseHeaders: '',
    sessionInactivityTimeout: vp.sessionInactivityTimeout,
    extendedSecurityEnvironment: false,
    websocketCrossOriginWhiteList: [],
    defaultVirtualProxy: vp.prefix === '/',
    tags: [],
    samlMetadataIdP: '',
    samlHostUri: '',
    samlEntityId: '',
    samlAttributeUserId: '',
    samlAttributeUserDirectory: '',
    samlAttributeSigningAlgorithm: 0,
    samlAttributeMapping: [],
    jwtAttributeUserId: '',
    jwtAttributeUserDirectory: '',
    jwtAudience: '',
    jwtPublicKeyCertificate: '',
    jwtAttributeMapping: [],
    oidcSettings: null,
    privileges: null,
  };
}

function proxyServices(repository: SimRepository) {
  return repository.nodes.map((node) => ({
    id: `${node.id.slice(0, -4)}0001`,
    createdDate: '2026-01-05T09:00:00.000Z',
    modifiedDate: '2026-01-05T09:00:00.000Z',
    modifiedByUserName: MODIFIED_BY,
    customProperties: [],
    serverNodeConfiguration: nodeCondensed(node),
    settings: {
      id: `${node.id.slice(0, -4)}0002`,
      createdDate: '2026-01-05T09:00:00.000Z',
      modifiedDate: '2026-01-05T09:00:00.000Z',
      modifiedByUserName: MODIFIED_BY,
      listenPort: 443,
      allowHttp: false,
      unencryptedListenPort: 80,
      authenticationListenPort: 4244,
      kerberosAuthentication: false,
      unencryptedAuthenticationListenPort: 4248,
      sslBrowserCertificateThumbprint: '0d8e1f1bd0b1e5c1a2b3c4d5e6f708192a3b4c5d',
      keepAliveTimeoutSeconds: 10,
      maxHeaderSizeBytes: 16384,
      maxHeaderLines: 100,
      logVerbosity: { logVerbosityAuditActivity: 4, logVerbosityAuditSecurity: 4, logVerbosityService: 4 },
      useWsTrace: false,
      performanceLoggingInterval: 5,
      restListenPort: node.restListenPort(),
      virtualProxies: repository
        .virtualProxies()
        .filter((vp) => vp.servers.includes(node.server.name))
        .map((vp) => condensedVirtualProxy(repository, vp)),
      formAuthenticationPageTemplate: '',
      loggedOutPageTemplate: '',
      errorPageTemplate: '',
      schemaPath: 'ProxyService.Settings',
    },
    tags: [],
    privileges: null,
    schemaPath: 'ProxyService',
  }));
}

function virtualProxyConfigs(repository: SimRepository) {
  return repository.virtualProxies().map((vp) => ({
    ...condensedVirtualProxy(repository, vp),
    createdDate: vp.createdDate,
    modifiedDate: vp.modifiedDate,
    modifiedByUserName: MODIFIED_BY,
    customProperties: [],
    magicLinkHostUri: '',
    magicLinkFriendlyName: '',
    hasSecureAttributeHttps: true,
    sameSiteAttributeHttps: 3,
    // Not a Qlik field: clients must ignore what they do not know.
    simulatorRevision: { generation: 7, note: 'ignore me' },
    schemaPath: 'VirtualProxyConfig',
  }));
}
