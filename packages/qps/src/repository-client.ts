import { type CertificateSettings, type DiscoverySettings, parseHostPort } from '@qsm/config';
import type { RepositoryTopology } from '@qsm/model';
import { type CertificateStore, createCertificateStore } from './certificate-store.js';
import { createCertifiedHttpClients, qlikApiHeaders } from './certified-http-clients.js';
import {
  classifyRepositoryStatus,
  classifyRepositoryTransportFailure,
} from './classify-repository-failure.js';
import {
  buildTopology,
  InvalidRepositoryResponseError,
  parseProxyServices,
  parseVirtualProxyConfigs,
} from './parse-repository.js';
import { type QlikHttpAnswer, type QlikHttpClient, QlikHttpFailure } from './qlik-http.js';
import { QpsError } from './qps-error.js';
import { RepositoryError } from './repository-error.js';
import { withoutQuery } from './session-url.js';
import { createXrfkey } from './xrfkey.js';

export const DEFAULT_REPOSITORY_PORT = 4242;

/** The repository's lists of a large site fit many times over; the default cap of QPS answers. */
const REPOSITORY_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface RepositoryUser {
  directory: string;
  userId: string;
}

export interface RepositoryClientOptions {
  /** Qlik's exported client.pem, client_key.pem and root.pem (the ones QPS is polled with). */
  cert: CertificateSettings;
  rejectUnauthorized: boolean;
  /** The repository's `host[:port]`; the port is 4242 unless given. */
  host: string;
  /**
   * The security context (`X-Qlik-User`): INTERNAL\sa_api unless given; null sends no header (Qlik
   * then runs the request with the certificate's administrator rights).
   */
  user?: RepositoryUser | null;
  /** Whole-request deadline of each of the two requests (connect, TLS, headers and body). */
  timeoutMs: number;
  /** Bodies larger than this fail with `invalid_response` instead of filling memory. */
  maxResponseBytes: number;
  /** How often certificate files are checked for changes on disk. */
  certificateCheckIntervalMs?: number;
  userAgent?: string;
}

export interface RepositoryClient {
  /** The repository's `host:port`. */
  readonly host: string;
  /**
   * `GET /qrs/proxyservice/full` and `GET /qrs/virtualproxyconfig/full`, joined: the proxy nodes, the
   * virtual proxies each links and those no node links. Rejects with a RepositoryError.
   */
  readTopology(options?: { signal?: AbortSignal }): Promise<RepositoryTopology>;
  /** Closes every kept-alive connection. */
  close(): void;
}

type Endpoint = 'proxyservice' | 'virtualproxyconfig';

/** `host`, `host:port` or `[v6]:port` -> `host:port` with the default port filled in. */
export function repositoryHostPort(host: string): string {
  const parsed = parseHostPort(host);
  if (typeof parsed === 'string') throw new Error(`repository host: ${parsed}`);
  const name = parsed.hostname.includes(':') ? `[${parsed.hostname}]` : parsed.hostname;
  return `${name}:${parsed.port ?? DEFAULT_REPOSITORY_PORT}`;
}

/**
 * A client of the Qlik Sense repository API (QRS) on port 4242, over mutual TLS with the site's
 * exported certificates, a fresh Xrfkey per request and an `X-Qlik-User` header.
 */
export function createRepositoryClient(options: RepositoryClientOptions): RepositoryClient {
  const host = repositoryHostPort(options.host);
  const user = options.user === undefined ? { directory: 'INTERNAL', userId: 'sa_api' } : options.user;
  const certificates: CertificateStore = createCertificateStore(
    options.cert,
    options.certificateCheckIntervalMs,
  );
  const clients = createCertifiedHttpClients(certificates, {
    rejectUnauthorized: options.rejectUnauthorized,
    maxSockets: 2,
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes,
    headers: {
      ...qlikApiHeaders(options.userAgent),
      ...(user ? { 'X-Qlik-User': `UserDirectory=${user.directory}; UserId=${user.userId}` } : {}),
    },
  });

  const httpClient = async (url: string): Promise<QlikHttpClient> => {
    try {
      return await clients.get(host);
    } catch (error) {
      if (error instanceof QpsError)
        throw new RepositoryError(error.category, error.message, { url, code: error.code, cause: error });
      throw error;
    }
  };

  const requestOnce = async (endpoint: Endpoint, signal: AbortSignal | undefined): Promise<string> => {
    const xrfkey = createXrfkey();
    const url = `https://${host}/qrs/${endpoint}/full?Xrfkey=${xrfkey}`;
    const safeUrl = withoutQuery(url);
    const http = await httpClient(safeUrl);
    let answer: QlikHttpAnswer;
    try {
      answer = await http.get(url, { headers: { 'X-Qlik-Xrfkey': xrfkey }, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (error instanceof QlikHttpFailure) throw classifyRepositoryTransportFailure(error, safeUrl, options);
      throw error;
    }
    if (answer.status !== 200)
      throw classifyRepositoryStatus(answer.status, safeUrl, answer.body, answer.location);
    return answer.body;
  };

  const read = async (endpoint: Endpoint, signal: AbortSignal | undefined): Promise<string> => {
    try {
      return await requestOnce(endpoint, signal);
    } catch (error) {
      // A kept-alive connection that the repository closed just as we reused it is not its failure.
      if (error instanceof RepositoryError && error.category === 'connection_reset' && !signal?.aborted)
        return requestOnce(endpoint, signal);
      throw error;
    }
  };

  const parsed = <T>(endpoint: Endpoint, body: string, parse: (text: string) => T): T => {
    try {
      return parse(body);
    } catch (error) {
      if (error instanceof InvalidRepositoryResponseError) {
        throw new RepositoryError('invalid_response', error.message, {
          url: `https://${host}/qrs/${endpoint}/full`,
          httpStatus: 200,
          retryable: error.retryable,
          cause: error,
        });
      }
      throw error;
    }
  };

  return {
    host,
    async readTopology({ signal } = {}) {
      const [services, configs] = await Promise.all([
        read('proxyservice', signal).then((body) => parsed('proxyservice', body, parseProxyServices)),
        read('virtualproxyconfig', signal).then((body) =>
          parsed('virtualproxyconfig', body, parseVirtualProxyConfigs),
        ),
      ]);
      return buildTopology(services, configs);
    },
    close: () => clients.closeAll(),
  };
}

/** The client discovery reads with: the config's certificates and the QRS_* settings. */
export function createDiscoveryRepositoryClient(discovery: DiscoverySettings): RepositoryClient {
  const { repository } = discovery;
  return createRepositoryClient({
    cert: discovery.cert,
    rejectUnauthorized: discovery.rejectUnauthorized,
    host: repository.address,
    user: { directory: repository.userDirectory, userId: repository.userId },
    timeoutMs: repository.timeoutMs,
    maxResponseBytes: REPOSITORY_MAX_RESPONSE_BYTES,
  });
}
