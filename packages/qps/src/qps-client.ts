import { performance } from 'node:perf_hooks';
import { type CertificateSettings, isTemplatePlaceholder, type ServerSettings } from '@qsm/config';
import type { QpsSession } from '@qsm/model';
import { type CertificateStore, createCertificateStore } from './certificate-store.js';
import { createCertifiedHttpClients, qlikApiHeaders } from './certified-http-clients.js';
import { classifyHttpStatus, classifyTransportFailure } from './classify-failure.js';
import { InvalidSessionListError, parseSessions } from './parse-sessions.js';
import { type QlikHttpAnswer, type QlikHttpClient, QlikHttpFailure } from './qlik-http.js';
import { QpsError } from './qps-error.js';
import { buildSessionUrl, withoutQuery } from './session-url.js';
import { createXrfkey } from './xrfkey.js';

export interface QpsClientOptions {
  cert: CertificateSettings;
  /** `Butler-SOS.serversToMonitor.rejectUnauthorized`. */
  rejectUnauthorized: boolean;
  /** Whole-request deadline (connect, TLS, headers and body); keep it below the polling interval. */
  timeoutMs: number;
  /** Bodies larger than this fail with `invalid_response` instead of filling memory. */
  maxResponseBytes: number;
  /** Parallel connections per Qlik server (one keep-alive agent per server). */
  maxSocketsPerServer?: number;
  /** How often certificate files are checked for changes on disk. */
  certificateCheckIntervalMs?: number;
  userAgent?: string;
}

export interface SessionList {
  sessions: QpsSession[];
  /** Request URL without the query string. */
  url: string;
  durationMs: number;
}

export interface QpsClient {
  /** `GET /qps[/<prefix>]/session` on the server's QPS. Rejects with a QpsError. */
  fetchSessions(
    server: Pick<ServerSettings, 'serverName' | 'userSessions'>,
    virtualProxy: string,
    options?: { signal?: AbortSignal },
  ): Promise<SessionList>;
  /** Closes every kept-alive connection. */
  close(): void;
}

export function createQpsClient(options: QpsClientOptions): QpsClient {
  const certificates: CertificateStore = createCertificateStore(
    options.cert,
    options.certificateCheckIntervalMs,
  );
  const clients = createCertifiedHttpClients(certificates, {
    rejectUnauthorized: options.rejectUnauthorized,
    maxSockets: options.maxSocketsPerServer ?? 32,
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes,
    headers: {
      ...qlikApiHeaders(options.userAgent),
    },
  });

  const requestOnce = async (
    server: Pick<ServerSettings, 'serverName' | 'userSessions'>,
    virtualProxy: string,
    signal: AbortSignal | undefined,
  ): Promise<SessionList> => {
    const started = performance.now();
    const xrfkey = createXrfkey();
    const url = buildSessionUrl(server.userSessions.host, virtualProxy, xrfkey);
    const safeUrl = withoutQuery(url);
    if (isTemplatePlaceholder(server.userSessions.host)) {
      throw new QpsError(
        'host_not_found',
        `userSessions.host "${server.userSessions.host}" is a placeholder of Butler SOS's template, not a host name: fill it in`,
        { url: safeUrl, retryable: false },
      );
    }
    let http: QlikHttpClient;
    try {
      http = await clients.get(server.serverName);
    } catch (error) {
      // Certificate files are read lazily; their errors get the URL of the poll that needed them.
      if (error instanceof QpsError) {
        throw new QpsError(error.category, error.message, { url: safeUrl, code: error.code, cause: error });
      }
      throw error;
    }
    let response: QlikHttpAnswer;
    try {
      response = await http.get(url, { headers: { 'X-Qlik-Xrfkey': xrfkey }, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (!(error instanceof QlikHttpFailure)) throw error;
      throw classifyTransportFailure(error.error, safeUrl, {
        timeoutMs: options.timeoutMs,
        timedOut: error.kind === 'deadline',
        aborted: error.kind === 'aborted',
        reusedSocket: error.reusedSocket,
      });
    }
    const body = response.body;
    if (response.status !== 200) {
      throw classifyHttpStatus(
        response.status,
        safeUrl,
        server.userSessions.host,
        virtualProxy,
        body,
        response.location,
      );
    }
    try {
      return { sessions: parseSessions(body), url: safeUrl, durationMs: performance.now() - started };
    } catch (error) {
      if (error instanceof InvalidSessionListError) {
        throw new QpsError('invalid_response', error.message, {
          url: safeUrl,
          httpStatus: 200,
          retryable: error.retryable,
          cause: error,
        });
      }
      throw error;
    }
  };

  return {
    async fetchSessions(server, virtualProxy, { signal } = {}) {
      try {
        return await requestOnce(server, virtualProxy, signal);
      } catch (error) {
        // A kept-alive connection that the server closed just as we reused it is not a failure of the server.
        if (error instanceof QpsError && error.category === 'connection_reset' && !signal?.aborted) {
          return requestOnce(server, virtualProxy, signal);
        }
        throw error;
      }
    },
    close: () => clients.closeAll(),
  };
}
