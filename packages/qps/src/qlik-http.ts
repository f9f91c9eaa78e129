import { Agent } from 'node:https';
import type { SecureContext } from 'node:tls';
import axios, { AxiosError, type AxiosInstance, isAxiosError } from 'axios';
import { decodeBody, ResponseTooLargeError } from './response-body.js';

export interface QlikHttpClientOptions {
  /** Qlik's client certificate, its key and the CA that the server certificate must chain to. */
  secureContext: SecureContext;
  rejectUnauthorized: boolean;
  /** Parallel connections to this server (`QPS_MAX_SOCKETS_PER_SERVER`). */
  maxSockets: number;
  /** Whole-request deadline: connect, TLS, headers and the last byte of the body. */
  timeoutMs: number;
  /** Larger bodies fail, before and after decompression. */
  maxResponseBytes: number;
  /** Sent with every request. */
  headers: Record<string, string>;
}

export interface QlikHttpAnswer {
  status: number;
  /** The Location header of a redirect, which is never followed. */
  location: string | undefined;
  /** The body as text, its Content-Encoding undone. */
  body: string;
}

/**
 * Why a request got no answer. `error` is the failure as Node (or the body decoder) reported it,
 * unwrapped from axios's error so that its code, syscall and address are at hand;
 * `reusedSocket` tells whether the request went out on a kept-alive connection of an earlier one.
 */
export class QlikHttpFailure extends Error {
  override readonly name = 'QlikHttpFailure';
  constructor(
    readonly kind: 'deadline' | 'aborted' | 'transport',
    readonly error: Error,
    readonly reusedSocket: boolean,
  ) {
    super(error.message, { cause: error });
  }
}

/** The whole-request deadline passed. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

export interface QlikHttpClient {
  /** One GET. Resolves with every HTTP status (the caller decides); rejects with a QlikHttpFailure. */
  get(
    url: string,
    options: { headers: Record<string, string>; signal?: AbortSignal },
  ): Promise<QlikHttpAnswer>;
  /** Closes every kept-alive connection. */
  close(): void;
}

/**
 * One axios instance for one Qlik server, on a kept-alive agent that carries the client certificate.
 * The product, not axios, decides what an answer means: every status resolves, redirects are not
 * followed (a redirect from QPS means a wrong port, and must not carry the certificate elsewhere),
 * and proxies from the environment (`HTTPS_PROXY`, `NO_PROXY`) are never used: the connection that
 * carries Qlik's client certificate goes to the QPS host and nowhere else.
 * Bodies arrive raw (`decompress: false`) and are decoded here, so the size cap also holds for the
 * decompressed body. axios's `timeout` restarts with every chunk of the body; the deadline is our own
 * timer, which aborts the request through its signal.
 */
export function createQlikHttpClient(options: QlikHttpClientOptions): QlikHttpClient {
  const agent = new Agent({
    keepAlive: true,
    keepAliveMsecs: 10_000,
    maxSockets: options.maxSockets,
    maxFreeSockets: options.maxSockets,
    secureContext: options.secureContext,
    rejectUnauthorized: options.rejectUnauthorized,
  });
  const http: AxiosInstance = axios.create({
    adapter: 'http',
    httpsAgent: agent,
    proxy: false,
    maxRedirects: 0,
    decompress: false,
    maxContentLength: options.maxResponseBytes,
    responseType: 'arraybuffer',
    transformResponse: [],
    validateStatus: () => true,
    // We never ask for compression: axios would otherwise advertise every coding it knows.
    headers: { ...options.headers, 'Accept-Encoding': false },
  });

  return {
    async get(url, { headers, signal }) {
      const controller = new AbortController();
      let ended: 'deadline' | 'aborted' | undefined;
      const onAbort = () => {
        ended ??= 'aborted';
        controller.abort();
      };
      const timer = setTimeout(() => {
        ended ??= 'deadline';
        controller.abort();
      }, options.timeoutMs);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const response = await http.get<Buffer>(url, { headers, signal: controller.signal });
        const encoding = response.headers['content-encoding'];
        const location = response.headers.location;
        // The usual answer is not encoded: no detour through the decoder's promise.
        const body =
          typeof encoding === 'string'
            ? await decodeBody(response.data, encoding, options.maxResponseBytes)
            : response.data.toString('utf8');
        // The deadline and the caller's abort hold while the body is decoded, too.
        if (ended !== undefined) throw controller.signal.reason;
        return {
          status: response.status,
          location: typeof location === 'string' ? location : undefined,
          body,
        };
      } catch (error) {
        throw toFailure(error, ended, options);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    },
    close() {
      agent.destroy();
    },
  };
}

function toFailure(
  error: unknown,
  ended: 'deadline' | 'aborted' | undefined,
  options: QlikHttpClientOptions,
): QlikHttpFailure {
  const reusedSocket =
    isAxiosError(error) && (error.request as { reusedSocket?: boolean } | undefined)?.reusedSocket === true;
  if (ended === 'deadline') {
    const late = new DeadlineError(`no complete answer within ${options.timeoutMs} ms`);
    return new QlikHttpFailure('deadline', late, reusedSocket);
  }
  if (ended === 'aborted') {
    const aborted = Object.assign(new Error('aborted'), { code: 'ABORT_ERR' });
    return new QlikHttpFailure('aborted', aborted, reusedSocket);
  }
  if (!isAxiosError(error)) {
    // The body decoder's errors (too large once decompressed, undecodable) arrive as they are.
    return new QlikHttpFailure('transport', error instanceof Error ? error : new Error(String(error)), false);
  }
  if (error.code === AxiosError.ERR_BAD_RESPONSE && /maxContentLength/.test(error.message)) {
    const tooLarge = new ResponseTooLargeError(`body larger than ${options.maxResponseBytes} bytes`);
    return new QlikHttpFailure('transport', tooLarge, reusedSocket);
  }
  if (error.code === AxiosError.ERR_BAD_RESPONSE && error.response !== undefined) {
    // The connection closed in the middle of the body ("stream has been aborted").
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    return new QlikHttpFailure('transport', reset, reusedSocket);
  }
  return new QlikHttpFailure('transport', error.cause instanceof Error ? error.cause : error, reusedSocket);
}
